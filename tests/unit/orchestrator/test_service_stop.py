"""A stop (or a kill) ends a container's loop at once, whatever state it is in.

Each case puts one container (restart: always) in a known state at a known
virtual time, asks for the stop there, and asserts when `run` returns and
that no start is attempted after the request. The process of every run
honours SIGTERM at once, so a stop of a running process takes no time.
"""

import signal
from dataclasses import dataclass

import pytest
import trio
from trio.testing import MockClock

from orchestrator.service import Container, State
from orchestrator.spec.model import RestartMode
from tests.unit.orchestrator.fakes import (
    SIGKILL_CODE,
    FakeLauncher,
    Journal,
    Run,
    container,
    service,
    times,
)

BOUND = 1000.0
CRASH = Run(duration=1.0, exit_code=1)
NOT_FOUND = Run(fail=('exec: "/nonexistent": no such file or directory', 127))
FOREVER = Run()


@dataclass(frozen=True)
class Case:
    runs: tuple[Run, ...]
    stop_at: float
    state: State
    """The container's state at `stop_at`."""
    returns_at: float
    """When `run` returns after a stop asked for at `stop_at`."""
    starts: tuple[float, ...]
    """Every start attempt: none after `stop_at` but one under way then."""
    prepare_time: float = 0.0


CASES = {
    # prepare 0..10: the preparation is given up.
    "preparing": Case((FOREVER,), 2.0, State.CREATED, 2.0, (), prepare_time=10.0),
    # start() 0..3: the process it makes gets the stop signal as it exists.
    "starting": Case((Run(start_time=3.0),), 1.0, State.CREATED, 3.0, (0.0,)),
    "running": Case((FOREVER,), 5.0, State.RUNNING, 5.0, (0.0,)),
    # Runs at 0 and 1.1, exits at 1.0 and 2.1, next start due at 2.3.
    "backing off after an exit": Case((CRASH,), 2.2, State.RESTARTING, 2.2, (0.0, 1.1)),
    # Failed starts at 0, 0.1, 0.3, 0.7; the next is due at 1.5.
    "backing off after a failed start": Case(
        (NOT_FOUND,), 1.0, State.RESTARTING, 1.0, (0.0, 0.1, 0.3, 0.7)
    ),
    # A process ran 0..1; the starts at 1.1, 1.3, 1.7 failed; the next is due at 2.5.
    "backing off after a failed restart": Case(
        (CRASH, NOT_FOUND), 2.0, State.RESTARTING, 2.0, (0.0, 1.1, 1.3, 1.7)
    ),
    # start() 0..1 fails: no restart after it.
    "failing to start": Case(
        (Run(start_time=1.0, fail=NOT_FOUND.fail),), 0.5, State.CREATED, 1.0, (0.0,)
    ),
}


async def _run_and_request(
    web: Container, launcher: FakeLauncher, case: Case, request: str
) -> list[float]:
    """Run `web`, ask for `request` at `case.stop_at`; the starts recorded then."""
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(web.run)
            await trio.sleep_until(case.stop_at)
            assert web.state is case.state
            starts_then = list(launcher.starts)
            if request == "stop":
                nursery.start_soon(web.stop)
            else:
                web.kill()
            await web.finished.wait()
            assert trio.current_time() == case.returns_at
        await trio.sleep(100.0)  # nothing more happens
    return starts_then


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_a_stop_ends_the_loop_at_once(
    autojump_clock: MockClock, journal: Journal, case: Case
) -> None:
    launcher = FakeLauncher("web", case.runs, journal, prepare_time=case.prepare_time)
    web, _ = container(service(mode=RestartMode.ALWAYS), launcher)
    starts_then = await _run_and_request(web, launcher, case, "stop")
    assert times(launcher.starts) == list(case.starts)
    assert launcher.starts == starts_then
    assert web.stopped.is_set()
    assert web.state is State.EXITED
    assert journal.of("SIGKILL") == []


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_a_kill_ends_the_loop_at_once(
    autojump_clock: MockClock, journal: Journal, case: Case
) -> None:
    launcher = FakeLauncher("web", case.runs, journal, prepare_time=case.prepare_time)
    web, _ = container(service(mode=RestartMode.ALWAYS), launcher)
    starts_then = await _run_and_request(web, launcher, case, "kill")
    assert times(launcher.starts) == list(case.starts)
    assert launcher.starts == starts_then
    assert journal.of("SIGTERM") == []
    assert web.state is State.EXITED


@pytest.mark.parametrize("restarting", [False, True], ids=["first-run", "after-restarts"])
async def test_a_kill_during_a_stop_ends_the_grace_period_at_once(
    autojump_clock: MockClock, journal: Journal, restarting: bool
) -> None:
    """The second Ctrl-C: the process ignores its stop signal, 30 s of grace."""
    stubborn = Run(honours=frozenset())
    runs = (CRASH, NOT_FOUND, stubborn) if restarting else (stubborn,)
    launcher = FakeLauncher("web", runs, journal)
    web, _ = container(service(mode=RestartMode.ALWAYS, stop_grace_period=30.0), launcher)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(web.run)
            await trio.sleep_until(5.0)
            nursery.start_soon(web.stop)
            await trio.sleep_until(7.0)
            web.kill()
            await web.finished.wait()
            assert trio.current_time() == 7.0
            await web.stopped.wait()
            assert trio.current_time() == 7.0
    process = launcher.processes[-1]
    assert process.signals == [(5.0, signal.SIGTERM), (7.0, signal.SIGKILL)]
    assert web.exit_code == SIGKILL_CODE
    assert len(launcher.starts) == len(runs)
