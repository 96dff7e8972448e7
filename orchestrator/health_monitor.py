"""The health loop of one container: probe on Docker's schedule, keep its status.

A `Container` starts `HealthMonitor.watch` once its process runs and cancels
it when the process exits, so each run of the container is watched afresh.
Probes go through the small `Prober` protocol: the real one execs in the
container through the engine, the tests' one is a fake on Trio's MockClock.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import trio

from orchestrator.health import (
    Health,
    HealthCheck,
    ProbeResult,
    Status,
    after_probe,
    effective_check,
    next_interval,
)
from orchestrator.logconfig import get_logger
from orchestrator.plan import ContainerPlan
from runtime.engine import Engine
from runtime.errors import ContainerRuntimeError

_log = get_logger("corral")


class Prober(Protocol):
    async def run(self, argv: Sequence[str]) -> tuple[int, str]:
        """Run argv in the container until it exits: (exit code, output tail).
        Cancelled (at the check's timeout), it kills what it started."""


class HealthMonitor:
    """The health check of one container and its current `health`."""

    def __init__(self, container: str, check: HealthCheck, prober: Prober) -> None:
        self.container = container
        self.check = check
        self._prober = prober
        self.health = Health()

    @property
    def status(self) -> Status:
        return self.health.status

    async def watch(
        self, *, task_status: trio.TaskStatus[trio.CancelScope] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Probe until the scope reported started is cancelled, from a fresh
        `Health` (the process just started). Once stopped, the container is
        unhealthy, as Docker reports a container whose monitor stopped."""
        started_at = trio.current_time()
        self._set(Health())
        try:
            with trio.CancelScope() as scope:
                task_status.started(scope)
                while True:
                    since_start = trio.current_time() - started_at
                    await trio.sleep(next_interval(self.health, self.check, since_start))
                    result = await self._probe()
                    self._set(after_probe(self.health, result, self.check, started_at))
        finally:
            self.health = replace(self.health, status=Status.UNHEALTHY)

    async def _probe(self) -> ProbeResult:
        start = trio.current_time()
        with trio.move_on_after(self.check.timeout):
            code, output = await self._prober.run(self.check.argv)
            return ProbeResult(start, code, output)
        return ProbeResult(start, None, f"Health check exceeded timeout ({self.check.timeout:g}s)")

    def _set(self, health: Health) -> None:
        if health.status is not self.health.status:
            _log.info("health status", container=self.container, status=health.status.value)
        self.health = health


@dataclass(frozen=True)
class EngineProber:
    """Probes by exec in a container the engine runs."""

    engine: Engine
    container_id: str

    async def run(self, argv: Sequence[str]) -> tuple[int, str]:
        try:
            result = await self.engine.exec_captured(self.container_id, argv)
        except (ContainerRuntimeError, OSError) as error:
            return -1, str(error)  # as Docker reports a probe that could not run
        return result.exit_code, result.output.decode(errors="replace")


def health_monitor(plan: ContainerPlan, engine: Engine) -> HealthMonitor | None:
    """The monitor of the container's effective check; None without one."""
    check = effective_check(plan.service.healthcheck, plan.image.config.healthcheck)
    if check is None:
        return None
    return HealthMonitor(plan.name, check, EngineProber(engine, plan.name))
