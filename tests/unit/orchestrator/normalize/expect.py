"""Exact matching of NormalizeError: its whole message and its path."""

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from orchestrator.spec.normalize import NormalizeError


@contextmanager
def normalize_error(message: str, path: tuple[str | int, ...] = ()) -> Iterator[None]:
    with pytest.raises(NormalizeError, match=f"^{re.escape(message)}$") as caught:
        yield
    assert caught.value.path == path
