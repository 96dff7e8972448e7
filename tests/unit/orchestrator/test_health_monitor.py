"""The health loop on the virtual clock: when probes run, what they make the
status, and how it follows the container's runs. Every time is exact."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import trio
from structlog.testing import capture_logs
from trio.testing import MockClock

from orchestrator.health import HealthCheck, Status
from orchestrator.health_monitor import HealthMonitor
from orchestrator.spec.model import RestartMode
from tests.unit.orchestrator.fakes import FakeLauncher, Journal, Run, container, service, times

BOUND = 1000.0


@dataclass(frozen=True)
class Probe:
    """What one probe does: exits with `exit_code` after `duration` (None: never)."""

    exit_code: int = 0
    duration: float | None = 0.0


PASS = Probe(0)
FAIL = Probe(1)


class FakeProber:
    """Plays `probes`, one per run (the last one repeats); records when each
    began, and when a probe was cancelled (killed at its timeout)."""

    def __init__(self, probes: Sequence[Probe]) -> None:
        self._probes = list(probes)
        self.starts: list[float] = []
        self.killed: list[float] = []
        self.argv: list[tuple[str, ...]] = []

    async def run(self, argv: Sequence[str]) -> tuple[int, str]:
        probe = self._probes[min(len(self.starts), len(self._probes) - 1)]
        self.starts.append(trio.current_time())
        self.argv.append(tuple(argv))
        try:
            await trio.sleep(math.inf if probe.duration is None else probe.duration)
        except trio.Cancelled:
            self.killed.append(trio.current_time())
            raise
        return probe.exit_code, f"exit {probe.exit_code}"


def check(**values: Any) -> HealthCheck:
    return HealthCheck(argv=("probe",), **values)


async def watch_until(monitor: HealthMonitor, end: float) -> list[tuple[float, Status]]:
    """Watch from 0 until `end` (not the time of a probe): the status at 0,
    then each change, with the time of the first sample after it. Samples
    are at 0.1, 0.6, 1.1, ...: never at the time of a probe, so that the
    order in which tasks wake at one time does not matter."""
    seen = [(trio.current_time(), monitor.status)]
    async with trio.open_nursery() as nursery:
        scope = await nursery.start(monitor.watch)
        for sample in range(int(end * 2)):
            await trio.sleep_until(0.1 + sample / 2)
            if monitor.status is not seen[-1][1]:
                seen.append((round(trio.current_time(), 9), monitor.status))
        await trio.sleep_until(end)
        scope.cancel()
    return seen


async def test_probes_every_interval_and_a_success_makes_healthy(
    autojump_clock: MockClock,
) -> None:
    prober = FakeProber([Probe(0, duration=0.25)])
    monitor = HealthMonitor("web-1", check(interval=2.0), prober)
    with trio.fail_after(BOUND), capture_logs() as logs:
        seen = await watch_until(monitor, 7.0)
    # Each wait starts when the previous probe ended, as in Docker.
    assert times(prober.starts) == [2.0, 4.25, 6.5]
    assert prober.argv[0] == ("probe",)
    assert seen == [(0.0, Status.STARTING), (2.6, Status.HEALTHY)]
    assert [(e["event"], e["container"], e["status"]) for e in logs] == [
        ("health status", "web-1", "healthy")
    ]
    assert [r.exit_code for r in monitor.health.results] == [0, 0, 0]


async def test_retries_failures_make_unhealthy(autojump_clock: MockClock) -> None:
    prober = FakeProber([FAIL])
    monitor = HealthMonitor("web-1", check(interval=1.0, retries=2), prober)
    with trio.fail_after(BOUND), capture_logs() as logs:
        seen = await watch_until(monitor, 4.5)
    assert times(prober.starts) == [1.0, 2.0, 3.0, 4.0]
    assert seen == [(0.0, Status.STARTING), (2.1, Status.UNHEALTHY)]
    assert [e["status"] for e in logs] == ["unhealthy"]
    assert monitor.health.failing_streak == 4


async def test_start_interval_during_the_start_period_then_interval(
    autojump_clock: MockClock,
) -> None:
    prober = FakeProber([FAIL, FAIL, FAIL, PASS, FAIL])
    monitor = HealthMonitor(
        "web-1",
        check(interval=5.0, retries=1, start_period=10.0, start_interval=2.0),
        prober,
    )
    with trio.fail_after(BOUND):
        seen = await watch_until(monitor, 19.0)
    # Failures at 2, 4, 6 are inside the start period: not counted.
    assert times(prober.starts) == [2.0, 4.0, 6.0, 8.0, 13.0, 18.0]
    assert seen == [(0.0, Status.STARTING), (8.1, Status.HEALTHY), (13.1, Status.UNHEALTHY)]


async def test_the_start_period_ends_on_time_while_still_starting(
    autojump_clock: MockClock,
) -> None:
    prober = FakeProber([FAIL])
    monitor = HealthMonitor(
        "web-1",
        check(interval=5.0, retries=2, start_period=5.0, start_interval=2.0),
        prober,
    )
    with trio.fail_after(BOUND):
        seen = await watch_until(monitor, 16.5)
    # 2 and 4 are inside the period; from 6 on the interval applies and counts.
    assert times(prober.starts) == [2.0, 4.0, 6.0, 11.0, 16.0]
    assert seen == [(0.0, Status.STARTING), (11.1, Status.UNHEALTHY)]


async def test_a_probe_past_its_timeout_is_killed_and_fails(autojump_clock: MockClock) -> None:
    prober = FakeProber([Probe(0, duration=None)])
    monitor = HealthMonitor("web-1", check(interval=1.0, timeout=3.0, retries=2), prober)
    with trio.fail_after(BOUND):
        seen = await watch_until(monitor, 9.5)
    assert times(prober.starts) == [1.0, 5.0, 9.0]
    assert times(prober.killed) == [4.0, 8.0, 9.5]  # the last one when the watch ended
    assert seen == [(0.0, Status.STARTING), (8.1, Status.UNHEALTHY)]
    result = monitor.health.results[0]
    assert (result.start, result.exit_code) == (1.0, None)
    assert result.output == "Health check exceeded timeout (3s)"


# With the container


async def test_health_follows_each_run_of_the_container(
    autojump_clock: MockClock, journal: Journal
) -> None:
    runs = [Run(duration=3.5, exit_code=1), Run()]
    launcher = FakeLauncher("web", runs, journal)
    prober = FakeProber([PASS])
    monitor = HealthMonitor("web", check(interval=1.0), prober)
    web, _ = container(service(mode=RestartMode.ALWAYS), launcher, health=monitor)
    seen: list[tuple[float, Status]] = []
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(web.run)
            for at in (0.5, 1.05, 3.55, 3.65, 4.1, 4.65):
                await trio.sleep_until(at)
                seen.append((at, monitor.status))
            await web.stop()
    # Run 1 from 0 to 3.5 (probes at 1, 2, 3); backoff 0.1; run 2 from 3.6.
    assert times(launcher.starts) == [0.0, 3.6]
    assert times(prober.starts) == [1.0, 2.0, 3.0, 4.6]
    assert seen == [
        (0.5, Status.STARTING),
        (1.05, Status.HEALTHY),
        (3.55, Status.UNHEALTHY),  # a stopped monitor reports unhealthy, as Docker's does
        (3.65, Status.STARTING),
        (4.1, Status.STARTING),
        (4.65, Status.HEALTHY),
    ]
    assert monitor.status is Status.UNHEALTHY
    assert prober.killed == []
