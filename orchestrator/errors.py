"""Errors the CLI turns into messages and exit codes.

    CorralError               base; the CLI prints its message and exits 1
     ├── SpecError            a Compose file that cannot be used; lists every
     │                        problem with file, line and key
     ├── ImageMissing         a service names an image the store does not hold
     ├── StackError           a stack could not be brought up or torn down
     │                        (network, mount or runtime failure), with the
     │                        lower layer's reason
     ├── ProjectBusy          another corral command or supervisor is making
     │                        or removing the project's objects
     ├── NotRunning           a command that needs a running supervisor found
     │                        none (`down` treats this as success)
     └── ControlError         the supervisor's control socket misbehaved

Errors of `runtime` and `netplug` are translated into these at the boundary,
with `raise StackError(...) from exc`, so the CLI catches one base.
"""

from dataclasses import dataclass
from pathlib import Path


class CorralError(Exception):
    """Base of every error the CLI reports to the user."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a Compose file: where (line and column, 0 when
    unknown), which key path, and what is wrong or what was expected."""

    file: Path
    line: int
    key: str
    message: str
    column: int = 0

    def __str__(self) -> str:
        where = str(self.file)
        if self.line:
            where += f":{self.line}" + (f":{self.column}" if self.column else "")
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class SpecError(CorralError):
    """A Compose file cannot be used; every problem found is listed."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class ImageMissing(CorralError):
    """A service's image is not in the store."""


class StackError(CorralError):
    """Bringing a stack up or down failed below the spec level."""


class ProjectBusy(CorralError):
    """Another corral process holds the project's lock (see `project_lock`)."""


class NotRunning(CorralError):
    """No supervisor answers for this project."""


class ControlError(CorralError):
    """The control socket answered with an error or broke off."""
