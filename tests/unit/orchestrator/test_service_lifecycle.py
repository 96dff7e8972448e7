"""One container's loop on the virtual clock: restart policy, backoff, stop, output.

Every time is exact virtual time (`times` only rounds away float noise of
the clock's additions). A process that runs 1 s and exits 1, restarted with
backoffs 0.1, 0.2, 0.4 s, starts at 0, 1.1, 2.3, 3.7.
"""

import signal

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
"""Virtual seconds any test here may take."""

CRASH = Run(duration=1.0, exit_code=1)
FOREVER = Run()


def exits(launcher: FakeLauncher) -> list[float]:
    return [p.exited_at for p in launcher.processes if p.exited_at is not None]


def delays(launcher: FakeLauncher) -> list[float]:
    """From each exit to the next start."""
    return [start - exit for start, exit in zip(launcher.starts[1:], exits(launcher), strict=False)]


def state(container: Container) -> State:
    """Read without mypy narrowing it between two awaits."""
    return container.state


# Restart policy and backoff


async def test_always_restarts_with_doubling_backoff(
    autojump_clock: MockClock, journal: Journal
) -> None:
    launcher = FakeLauncher("web", [CRASH] * 4 + [FOREVER], journal)
    web, _ = container(service(mode=RestartMode.ALWAYS), launcher)
    seen: list[tuple[float, State, int]] = []
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(web.run)
            # Mid-run and mid-backoff of each cycle: runs start at 0, 1.1, 2.3, 3.7, 5.5.
            for at in (0.5, 1.05, 1.6, 2.2, 2.8, 3.5, 4.2, 5.0, 6.0):
                await trio.sleep_until(at)
                seen.append((at, web.state, web.restart_count))
            await web.stop()
            assert trio.current_time() == 6.0
    assert seen == [
        (0.5, State.RUNNING, 0),
        (1.05, State.RESTARTING, 0),
        (1.6, State.RUNNING, 1),
        (2.2, State.RESTARTING, 1),
        (2.8, State.RUNNING, 2),
        (3.5, State.RESTARTING, 2),
        (4.2, State.RUNNING, 3),
        (5.0, State.RESTARTING, 3),
        (6.0, State.RUNNING, 4),
    ]
    assert times(launcher.starts) == [0.0, 1.1, 2.3, 3.7, 5.5]
    assert times(exits(launcher)) == [1.0, 2.1, 3.3, 4.7, 6.0]
    assert times(launcher.resets) == [1.0, 2.1, 3.3, 4.7, 6.0]
    assert [p.returncode for p in launcher.processes] == [1, 1, 1, 1, 128 + signal.SIGTERM]
    assert state(web) is State.EXITED
    assert web.exit_code == 128 + signal.SIGTERM
    assert web.restart_count == 4


async def test_backoff_is_capped_at_30_seconds(autojump_clock: MockClock, journal: Journal) -> None:
    launcher = FakeLauncher("web", [CRASH] * 12 + [FOREVER], journal)
    web, _ = container(service(mode=RestartMode.ALWAYS), launcher)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(web.run)
            await launcher.wait_starts(13)
            await web.stop()
    doubling = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6]
    assert times(delays(launcher)) == doubling + [30.0, 30.0, 30.0]
    assert web.restart_count == 12


async def test_backoff_resets_after_a_run_of_10_seconds(
    autojump_clock: MockClock, journal: Journal
) -> None:
    durations = [1.0, 1.0, 1.0, 9.9, 10.0, 1.0, 1.0, 25.0, 1.0]
    runs = [Run(duration=d, exit_code=1) for d in durations] + [FOREVER]
    launcher = FakeLauncher("web", runs, journal)
    web, _ = container(service(mode=RestartMode.ALWAYS), launcher)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(web.run)
            await launcher.wait_starts(len(runs))
            await web.stop()
    # 9.9 s is not long enough; 10 s is; so is 25 s.
    assert times(delays(launcher)) == [0.1, 0.2, 0.4, 0.8, 0.1, 0.2, 0.4, 0.1, 0.2]
    assert times(launcher.starts) == [0.0, 1.1, 2.3, 3.7, 14.4, 24.5, 25.7, 27.1, 52.2, 53.4]


async def test_no_restart_keeps_exit_code(autojump_clock: MockClock, journal: Journal) -> None:
    launcher = FakeLauncher("web", [Run(duration=2.0, exit_code=3)], journal)
    web, _ = container(service(mode=RestartMode.NO), launcher)
    with trio.fail_after(BOUND):
        await web.run()
    assert trio.current_time() == 2.0
    assert launcher.starts == [0.0]
    assert launcher.resets == [2.0]
    assert state(web) is State.EXITED
    assert web.exit_code == 3
    assert web.restart_count == 0
    assert web.first_start_done.is_set()
    assert web.finished.is_set()


async def test_on_failure_restarts_at_most_max_retries(
    autojump_clock: MockClock, journal: Journal
) -> None:
    launcher = FakeLauncher("web", [CRASH], journal)
    web, _ = container(service(mode=RestartMode.ON_FAILURE, max_retries=2), launcher)
    with trio.fail_after(BOUND):
        await web.run()
    assert times(launcher.starts) == [0.0, 1.1, 2.3]
    assert round(trio.current_time(), 9) == 3.3
    assert web.restart_count == 2
    assert state(web) is State.EXITED
    assert web.exit_code == 1


async def test_on_failure_does_not_restart_a_success(
    autojump_clock: MockClock, journal: Journal
) -> None:
    launcher = FakeLauncher("web", [Run(duration=1.0, exit_code=0)], journal)
    web, _ = container(service(mode=RestartMode.ON_FAILURE, max_retries=2), launcher)
    with trio.fail_after(BOUND):
        await web.run()
    assert launcher.starts == [0.0]
    assert trio.current_time() == 1.0
    assert web.restart_count == 0
    assert web.exit_code == 0


async def test_on_failure_without_limit_stops_at_first_success(
    autojump_clock: MockClock, journal: Journal
) -> None:
    runs = [CRASH, Run(duration=1.0, exit_code=2), Run(duration=1.0, exit_code=0)]
    launcher = FakeLauncher("web", runs, journal)
    web, _ = container(service(mode=RestartMode.ON_FAILURE), launcher)
    with trio.fail_after(BOUND):
        await web.run()
    assert times(launcher.starts) == [0.0, 1.1, 2.3]
    assert web.restart_count == 2
    assert web.exit_code == 0


# Start failures

NOT_FOUND = Run(fail=('exec: "nope": executable file not found in $PATH', 127))


async def test_start_failure_is_retried_with_backoff(
    autojump_clock: MockClock, journal: Journal
) -> None:
    launcher = FakeLauncher("web", [NOT_FOUND] * 3 + [FOREVER], journal)
    web, _ = container(service(mode=RestartMode.ALWAYS), launcher)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(web.run)
            await trio.sleep_until(0.05)
            assert web.first_start_done.is_set()
            assert state(web) is State.RESTARTING
            assert web.exit_code == 127
            await launcher.wait_starts(4)
            await trio.sleep(1.0)
            assert state(web) is State.RUNNING
            assert web.restart_count == 3
            await web.stop()
    assert times(launcher.starts) == [0.0, 0.1, 0.3, 0.7]
    assert times(launcher.resets) == [0.0, 0.1, 0.3, 1.7]
    assert len(launcher.processes) == 1


async def test_start_failure_without_restart_exits_127(
    autojump_clock: MockClock, journal: Journal
) -> None:
    launcher = FakeLauncher("web", [NOT_FOUND], journal)
    web, _ = container(service(mode=RestartMode.NO), launcher)
    with trio.fail_after(BOUND):
        await web.run()
    assert launcher.starts == [0.0]
    assert launcher.processes == []
    assert state(web) is State.EXITED
    assert web.exit_code == 127
    assert web.process is None
    assert web.first_start_done.is_set()
    assert web.finished.is_set()


async def test_prepare_failure_sets_finished(autojump_clock: MockClock, journal: Journal) -> None:
    """Whoever waits for the container (the stack's ordered stop) must not hang."""
    launcher = FakeLauncher("web", [FOREVER], journal, prepare_error=OSError("no space left"))
    web, _ = container(service(), launcher)
    with trio.fail_after(BOUND), pytest.raises(OSError, match=r"^no space left$"):
        await web.run()
    assert launcher.starts == []
    assert web.finished.is_set()
    assert web.first_start_done.is_set()


# Stop


@pytest.mark.parametrize(
    ("stop_signal", "honours"),
    [("SIGTERM", signal.SIGTERM), ("SIGUSR1", signal.SIGUSR1), ("SIGINT", signal.SIGINT)],
)
async def test_stop_sends_the_stop_signal_and_no_kill_when_honoured(
    autojump_clock: MockClock, journal: Journal, stop_signal: str, honours: int
) -> None:
    launcher = FakeLauncher("web", [Run(honours=frozenset({honours}), stop_delay=2.5)], journal)
    spec = service(mode=RestartMode.ALWAYS, stop_signal=stop_signal, stop_grace_period=3.0)
    web, _ = container(spec, launcher)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(web.run)
            await trio.sleep_until(5.0)
            await web.stop()
            assert trio.current_time() == 7.5
            await web.finished.wait()
            assert trio.current_time() == 7.5
        await trio.sleep(100.0)
    (process,) = launcher.processes
    assert process.signals == [(5.0, honours)]
    assert process.exited_at == 7.5
    assert launcher.starts == [0.0]
    assert state(web) is State.EXITED
    assert web.exit_code == 128 + honours
    assert web.restart_count == 0


async def test_stop_kills_after_the_grace_period(
    autojump_clock: MockClock, journal: Journal
) -> None:
    launcher = FakeLauncher("web", [Run(honours=frozenset())], journal)
    web, _ = container(service(mode=RestartMode.ALWAYS, stop_grace_period=3.0), launcher)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(web.run)
            await trio.sleep_until(5.0)
            await web.stop()
            assert trio.current_time() == 8.0
        await trio.sleep(100.0)
    (process,) = launcher.processes
    assert process.signals == [(5.0, signal.SIGTERM), (8.0, signal.SIGKILL)]
    assert launcher.starts == [0.0]
    assert web.exit_code == SIGKILL_CODE
    assert state(web) is State.EXITED


async def test_stop_grace_argument_overrides_the_service(
    autojump_clock: MockClock, journal: Journal
) -> None:
    launcher = FakeLauncher("web", [Run(honours=frozenset())], journal)
    web, _ = container(service(stop_grace_period=10.0), launcher)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(web.run)
            await trio.sleep_until(5.0)
            await web.stop(grace=1.5)
    assert launcher.processes[0].signals == [(5.0, signal.SIGTERM), (6.5, signal.SIGKILL)]


async def test_stop_during_backoff_cancels_the_restart(
    autojump_clock: MockClock, journal: Journal
) -> None:
    launcher = FakeLauncher("web", [CRASH], journal)
    web, _ = container(service(mode=RestartMode.ALWAYS), launcher)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(web.run)
            await trio.sleep_until(2.2)  # second backoff: 2.1 to 2.3
            assert state(web) is State.RESTARTING
            await web.stop()
            await web.finished.wait()
            assert trio.current_time() == 2.2
        assert trio.current_time() == 2.2
        await trio.sleep(100.0)
    assert times(launcher.starts) == [0.0, 1.1]
    assert all(p.signals == [] for p in launcher.processes)
    assert web.restart_count == 1
    assert state(web) is State.EXITED
    assert web.exit_code == 1


async def test_stop_before_run_needs_no_process(
    autojump_clock: MockClock, journal: Journal
) -> None:
    launcher = FakeLauncher("web", [FOREVER], journal)
    web, _ = container(service(mode=RestartMode.ALWAYS), launcher)
    with trio.fail_after(BOUND):
        await web.stop()
    assert web.finished.is_set()
    assert trio.current_time() == 0.0


async def test_kill_sends_sigkill_and_prevents_restart(
    autojump_clock: MockClock, journal: Journal
) -> None:
    launcher = FakeLauncher("web", [Run(honours=frozenset())], journal)
    web, _ = container(service(mode=RestartMode.ALWAYS), launcher)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(web.run)
            await trio.sleep_until(4.0)
            web.kill()
        assert trio.current_time() == 4.0
    assert launcher.processes[0].signals == [(4.0, signal.SIGKILL)]
    assert launcher.starts == [0.0]
    assert web.exit_code == SIGKILL_CODE


@pytest.mark.parametrize("restarting", [False, True], ids=["first-start", "restart"])
async def test_stop_during_start_still_kills_after_grace(
    autojump_clock: MockClock, journal: Journal, restarting: bool
) -> None:
    slow = Run(start_time=1.0, honours=frozenset())
    runs = [CRASH, slow] if restarting else [slow]
    launcher = FakeLauncher("web", runs, journal)
    web, _ = container(service(mode=RestartMode.ALWAYS, stop_grace_period=2.0), launcher)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(web.run)
            await launcher.wait_starts(len(runs))
            began = launcher.starts[-1]
            await trio.sleep(0.5)  # runc create is still running
            await web.stop()
            await web.finished.wait()
    process = launcher.processes[-1]
    assert process.signals[0] == (began + 1.0, signal.SIGTERM)
    assert process.signals[-1][1] == signal.SIGKILL
    assert process.signals[-1][0] <= began + 1.0 + 2.0


# Output


async def test_output_written_right_before_exit_is_logged(
    autojump_clock: MockClock, journal: Journal
) -> None:
    run = Run(duration=1.0, exit_code=1, stdout=b"ready\nbye: done", stderr=b"fatal: oops\n")
    launcher = FakeLauncher("web", [run], journal)
    web, logged = container(service(), launcher, width=5)
    with trio.fail_after(BOUND):
        await web.run()
    assert trio.current_time() == 1.0  # the pipes reached EOF at the exit: no drain wait
    file_lines = logged.file_lines()
    assert [text for stream, text in file_lines if stream == "stdout"] == ["ready", "bye: done"]
    assert [text for stream, text in file_lines if stream == "stderr"] == ["fatal: oops"]
    console = logged.console_lines()
    assert [line for line in console if not line.startswith("web   | fatal")] == [
        "web   | ready",
        "web   | bye: done",
    ]
    assert "web   | fatal: oops" in console


async def test_output_of_every_run_is_logged(autojump_clock: MockClock, journal: Journal) -> None:
    runs = [Run(duration=1.0, exit_code=1, stdout=f"run {n}".encode()) for n in range(3)]
    launcher = FakeLauncher("web", runs, journal)
    web, logged = container(service(mode=RestartMode.ON_FAILURE, max_retries=2), launcher)
    with trio.fail_after(BOUND):
        await web.run()
    assert logged.file_lines() == [("stdout", "run 0"), ("stdout", "run 1"), ("stdout", "run 2")]


async def test_pipes_held_open_after_exit_drain_for_a_bounded_time(
    autojump_clock: MockClock, journal: Journal
) -> None:
    """A straggler holding the pipes delays the exit handling by DRAIN_BOUND, no more."""
    run = Run(duration=1.0, exit_code=4, stdout=b"last\n", keeps_pipes=True)
    launcher = FakeLauncher("web", [run], journal)
    web, logged = container(service(), launcher)
    with trio.fail_after(BOUND):
        await web.run()
    assert launcher.resets == [6.0]
    assert trio.current_time() == 6.0
    assert web.exit_code == 4
    assert logged.file_lines() == [("stdout", "last")]
