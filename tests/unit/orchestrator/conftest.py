"""Fixtures shared by the lifecycle tests: a virtual clock that jumps ahead
whenever every task waits, and the journal the fakes record into."""

from collections.abc import Iterator

import pytest
from trio.testing import MockClock

from tests.unit.orchestrator.fakes import Journal


@pytest.fixture
def autojump_clock() -> MockClock:
    return MockClock(autojump_threshold=0)


@pytest.fixture
def journal() -> Iterator[Journal]:
    journal = Journal()
    yield journal
    journal.close()
