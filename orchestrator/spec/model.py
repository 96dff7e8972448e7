"""The frozen model of a Compose project that the rest of Corral reads."""

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class RestartMode(enum.Enum):
    NO = "no"
    ALWAYS = "always"
    ON_FAILURE = "on-failure"
    UNLESS_STOPPED = "unless-stopped"


@dataclass(frozen=True)
class RestartPolicy:
    mode: RestartMode = RestartMode.NO
    max_retries: int | None = None
    """With on-failure: how many restarts at most; None is unlimited."""


@dataclass(frozen=True)
class Location:
    file: Path
    line: int


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    image: str
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    environment: tuple[tuple[str, str], ...] = ()
    """Resolved variables in file order; one listed without a value and unset
    in the shell is left out, as Compose does."""
    working_dir: str | None = None
    user: str | None = None
    hostname: str | None = None
    restart: RestartPolicy = RestartPolicy()
    depends_on: tuple[str, ...] = ()
    networks: tuple[str, ...] = ("default",)
    stop_signal: str = "SIGTERM"
    stop_grace_period: float = 10.0
    location: Location | None = None
    image_location: Location | None = None


@dataclass(frozen=True)
class NetworkSpec:
    name: str


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    files: tuple[Path, ...]
    services: tuple[ServiceSpec, ...]
    networks: tuple[NetworkSpec, ...]

    def service(self, name: str) -> ServiceSpec:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    def with_dependencies(self, names: Sequence[str]) -> set[str]:
        """`names` and every service they depend on, directly or not; all
        services when `names` is empty."""
        if not names:
            return {s.name for s in self.services}
        selected: set[str] = set()
        pending = list(names)
        while pending:
            name = pending.pop()
            if name not in selected:
                selected.add(name)
                pending.extend(self.service(name).depends_on)
        return selected
