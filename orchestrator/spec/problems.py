"""Collecting every problem of a project before reporting them together."""

from pathlib import Path
from typing import Protocol

from orchestrator.errors import Problem, SpecError


class Where(Protocol):
    """A place in a file: a located_yaml Mark or a model Location."""

    @property
    def file(self) -> Path: ...
    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...


class Problems:
    """The problems found so far, each with its file, line, column and key."""

    def __init__(self) -> None:
        self.found: list[Problem] = []
        self._seen: set[Problem] = set()

    def add(self, where: Where, key: str, message: str) -> None:
        self.extend([Problem(where.file, where.line, key, message, where.column)])

    def extend(self, problems: list[Problem]) -> None:
        """Add `problems`, but those found already (a file read twice)."""
        for problem in problems:
            if problem not in self._seen:
                self._seen.add(problem)
                self.found.append(problem)

    def raise_if_any(self) -> None:
        if self.found:
            raise SpecError(list(self.found))
