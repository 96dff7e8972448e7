"""Priming cgroup moves on the real hierarchies leaves the process where it was."""

from pathlib import Path

import pytest

from runtime.cgroups import current_hierarchies, prime_cgroup_moves

pytestmark = [pytest.mark.root, pytest.mark.timeout(30)]


def test_priming_keeps_this_process_in_its_cgroups() -> None:
    before = Path("/proc/self/cgroup").read_text()
    prime_cgroup_moves(current_hierarchies())
    assert Path("/proc/self/cgroup").read_text() == before
