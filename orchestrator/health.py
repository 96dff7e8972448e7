"""Health checks as Docker runs them: the effective check and its status rules.

Pure functions, no Trio, no clock: `effective_check` merges a service's
`healthcheck` over its image's Healthcheck, `after_probe` is the status
transition after one probe, `next_interval` the wait before the next one.
The loop that uses them is `orchestrator.health_monitor`.
"""

import enum
from dataclasses import dataclass, replace

from orchestrator.spec.normalize.healthcheck import Healthcheck as SpecHealthcheck
from runtime.images import Healthcheck as ImageHealthcheck

DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
DEFAULT_START_PERIOD = 0.0
DEFAULT_START_INTERVAL = 5.0
SHELL = ("/bin/sh", "-c")
"""What runs a CMD-SHELL test (Docker's default shell)."""
KEPT_RESULTS = 5
"""Probe results kept for inspection, as Docker keeps them."""


@dataclass(frozen=True)
class HealthCheck:
    """The check a container runs: every value resolved, durations in seconds."""

    argv: tuple[str, ...]
    interval: float = DEFAULT_INTERVAL
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    start_period: float = DEFAULT_START_PERIOD
    start_interval: float = DEFAULT_START_INTERVAL


def effective_check(
    spec: SpecHealthcheck | None, image: ImageHealthcheck | None
) -> HealthCheck | None:
    """The service's healthcheck over the image's, field by field, as Docker
    merges them: a value the spec sets wins, else the image's, else Docker's
    default (a zero counts as unset, as in Docker). `disable: true` or a test
    of NONE, in the spec or (with no spec test) in the image, turns the check
    off; so does having no test at all."""
    if spec is not None and spec.disable:
        return None
    spec = spec or SpecHealthcheck()
    test = spec.test or (image.test if image is not None else None)
    if not test or test[0] == "NONE":
        return None

    def pick(key: str, default: float) -> float:
        value = getattr(spec, key) or (getattr(image, key) if image is not None else None)
        return value or default

    return HealthCheck(
        argv=probe_argv(test),
        interval=pick("interval", DEFAULT_INTERVAL),
        timeout=pick("timeout", DEFAULT_TIMEOUT),
        retries=int(pick("retries", DEFAULT_RETRIES)),
        start_period=pick("start_period", DEFAULT_START_PERIOD),
        start_interval=pick("start_interval", DEFAULT_START_INTERVAL),
    )


def probe_argv(test: tuple[str, ...]) -> tuple[str, ...]:
    """The command of a ("CMD", argv...) or ("CMD-SHELL", command) test."""
    kind, *rest = test
    if kind == "CMD-SHELL":
        return (*SHELL, *rest)
    if kind == "CMD":
        return tuple(rest)
    raise ValueError(f"a health check test starts with CMD or CMD-SHELL, not {kind!r}")


class Status(enum.Enum):
    STARTING = "starting"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"


@dataclass(frozen=True)
class ProbeResult:
    start: float
    """When the probe began, on the clock `started_at` is read on."""
    exit_code: int | None
    """None when the probe was killed at its timeout."""
    output: str
    """The tail of what it printed (or why it could not run)."""

    @property
    def passed(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True)
class Health:
    """A container's health; a new run of the container starts from `Health()`."""

    status: Status = Status.STARTING
    failing_streak: int = 0
    results: tuple[ProbeResult, ...] = ()
    """The last KEPT_RESULTS probes, oldest first."""


def after_probe(
    health: Health, result: ProbeResult, check: HealthCheck, started_at: float
) -> Health:
    """Docker's rules: a success makes the container healthy and clears the
    streak; a failure counts toward `retries` (then unhealthy), except while
    the container is still starting and the probe began inside its start
    period. A timeout is a failure."""
    results = (*health.results, result)[-KEPT_RESULTS:]
    if result.passed:
        return Health(Status.HEALTHY, 0, results)
    if health.status is Status.STARTING and result.start - started_at < check.start_period:
        return replace(health, results=results)
    streak = health.failing_streak + 1
    status = Status.UNHEALTHY if streak >= check.retries else health.status
    return Health(status, streak, results)


def next_interval(health: Health, check: HealthCheck, since_start: float) -> float:
    """The wait before the next probe: `start_interval` while the container
    is still starting inside its start period, else `interval`."""
    if since_start < check.start_period and health.status is Status.STARTING:
        return check.start_interval
    return check.interval
