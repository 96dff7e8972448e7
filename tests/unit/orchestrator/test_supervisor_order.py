"""A stack's start and stop order, teardown and kill, on the virtual clock.

The stack is a <- b <- c (c depends on b, b on a) plus d, which depends on
nothing and nothing on it. The containers are handed to `Stack` in the
order d, c, b, a, so that any order seen comes from depends_on.
"""

import signal
from collections.abc import Mapping
from pathlib import Path

import pytest
import trio
from trio.testing import MockClock

from orchestrator.errors import StackError
from orchestrator.paths import ProjectPaths
from orchestrator.plan import ContainerPlan, StackPlan
from orchestrator.service import Container, State
from orchestrator.spec.model import ProjectSpec, RestartMode, ServiceSpec
from orchestrator.supervisor import TEARDOWN_MARGIN, Stack
from runtime.images import Image, ImageConfig
from tests.unit.orchestrator.fakes import (
    SIGKILL_CODE,
    FakeLauncher,
    Journal,
    Run,
    container,
    service,
)

BOUND = 1000.0
CHAIN = ("a", "b", "c")
DEPENDS = {"a": (), "b": ("a",), "c": ("b",), "d": ()}
PATHS = ProjectPaths("demo", Path("/nonexistent/run/demo"), Path("/nonexistent/data/demo"))
IMAGE = Image("docker.io/library/busybox:latest", "sha256:" + "0" * 64, ImageConfig(), ())


class Teardown:
    """The stack's teardown: records each call and what was still running."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self.calls: list[tuple[float, ProjectPaths]] = []
        self.alive_at_call: list[str] = []

    async def __call__(self, paths: ProjectPaths) -> None:
        self.calls.append((trio.current_time(), paths))
        self._journal.record("-", "teardown")
        self.alive_at_call = [p.name for p in self._journal.processes if p.alive]
        await trio.sleep(0.5)


def make_stack(
    journal: Journal,
    run: Run,
    *,
    grace: float = 10.0,
    prepare_time: float = 0.0,
    prepare_errors: Mapping[str, Exception] | None = None,
    runs_of: Mapping[str, Run] | None = None,
) -> tuple[Stack, dict[str, FakeLauncher], Teardown]:
    """The stack; every container plays `run`, but those named in `runs_of`."""
    specs: list[ServiceSpec] = [
        service(name, RestartMode.ALWAYS, depends_on=DEPENDS[name], stop_grace_period=grace)
        for name in ("d", "c", "b", "a")
    ]
    project = ProjectSpec("demo", (), tuple(specs), ())
    plans = tuple(
        ContainerPlan(
            name=f"demo-{spec.name}-1",
            service=spec,
            image=IMAGE,
            netns_name=f"corral-demo.{spec.name}-1",
            cgroup_path=f"corral-demo.{spec.name}-1",
            endpoints=(),
            hosts="",
        )
        for spec in specs
    )
    plan = StackPlan(project, PATHS, (), plans)
    launchers = {}
    containers: dict[str, Container] = {}
    for spec in specs:
        error = (prepare_errors or {}).get(spec.name)
        runs = [(runs_of or {}).get(spec.name, run)]
        launchers[spec.name] = FakeLauncher(spec.name, runs, journal, prepare_time, error)
        containers[spec.name], _ = container(spec, launchers[spec.name])
    teardown = Teardown(journal)
    return Stack(plan, containers, teardown), launchers, teardown


def chain_entries(journal: Journal, what: str) -> list[tuple[float, str]]:
    return [(round(t, 9), name) for t, name in journal.of(what) if name in CHAIN]


async def test_start_order_follows_depends_on(autojump_clock: MockClock, journal: Journal) -> None:
    stack, launchers, teardown = make_stack(journal, Run(start_time=0.5), prepare_time=0.25)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            assert await nursery.start(stack.run) is stack
            # Reported started once every first start was attempted.
            assert trio.current_time() == 2.25
            assert all(c.first_start_done.is_set() for c in stack.containers.values())
            assert all(c.state is State.RUNNING for c in stack.containers.values())
            stack.request_stop()
    # Each container is prepared once its dependencies' start() returned.
    assert chain_entries(journal, "prepare") == [(0.0, "a"), (0.75, "b"), (1.5, "c")]
    assert chain_entries(journal, "start") == [(0.25, "a"), (1.0, "b"), (1.75, "c")]
    # d waits for nothing.
    assert (0.0, "d") in journal.of("prepare")
    assert launchers["d"].starts == [0.25]
    assert len(teardown.calls) == 1


async def test_request_stop_stops_in_reverse_order_then_tears_down(
    autojump_clock: MockClock, journal: Journal
) -> None:
    stack, launchers, teardown = make_stack(journal, Run(stop_delay=1.0))
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(stack.run)
            await trio.sleep_until(10.0)
            stack.request_stop()
            assert stack.stopping
        assert trio.current_time() == 13.5  # c, b, a take 1 s each; teardown 0.5 s
    assert chain_entries(journal, "SIGTERM") == [(10.0, "c"), (11.0, "b"), (12.0, "a")]
    assert chain_entries(journal, "exit") == [(11.0, "c"), (12.0, "b"), (13.0, "a")]
    assert launchers["d"].processes[0].signals == [(10.0, signal.SIGTERM)]
    assert journal.of("SIGKILL") == []
    assert teardown.calls == [(13.0, PATHS)]
    assert teardown.alive_at_call == []
    # Restart "always" does not bring anything back.
    assert all(len(launcher.starts) == 1 for launcher in launchers.values())
    assert all(c.state is State.EXITED for c in stack.containers.values())


async def test_stop_order_with_grace_periods_and_kills(
    autojump_clock: MockClock, journal: Journal
) -> None:
    stack, _, teardown = make_stack(journal, Run(honours=frozenset()), grace=2.0)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(stack.run)
            await trio.sleep_until(10.0)
            stack.request_stop()
    assert chain_entries(journal, "SIGTERM") == [(10.0, "c"), (12.0, "b"), (14.0, "a")]
    assert chain_entries(journal, "SIGKILL") == [(12.0, "c"), (14.0, "b"), (16.0, "a")]
    assert teardown.calls == [(16.0, PATHS)]
    assert all(c.exit_code == SIGKILL_CODE for c in stack.containers.values())


async def test_kill_all_ends_an_orderly_stop_at_once(
    autojump_clock: MockClock, journal: Journal
) -> None:
    stack, _, teardown = make_stack(journal, Run(honours=frozenset()), grace=30.0)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(stack.run)
            await trio.sleep_until(10.0)
            stack.request_stop()  # first Ctrl-C: c gets SIGTERM, ignores it
            await trio.sleep_until(12.0)
            stack.kill_all()  # second Ctrl-C
    kills = sorted(name for t, name in journal.of("SIGKILL") if t == 12.0)
    assert kills == ["a", "b", "c", "d"]
    assert chain_entries(journal, "SIGTERM") == [(10.0, "c")]
    assert teardown.calls == [(12.0, PATHS)]
    assert all(c.exit_code == SIGKILL_CODE for c in stack.containers.values())


async def test_kill_all_during_a_start_kills_that_container_once_it_exists(
    autojump_clock: MockClock, journal: Journal
) -> None:
    stack, launchers, teardown = make_stack(
        journal, Run(honours=frozenset(), start_time=2.0), grace=30.0
    )
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stack.run)
            await trio.sleep_until(1.0)  # a and d are starting, b and c wait for them
            stack.request_stop()
            stack.kill_all()
    # a and d are killed as their starts end, b and c never start: no grace
    # period is waited out.
    assert sorted(journal.of("SIGKILL")) == [(2.0, "a"), (2.0, "d")]
    assert journal.of("SIGTERM") == []
    assert launchers["c"].starts == []
    assert teardown.calls == [(2.0, PATHS)]


async def test_a_stop_while_starts_wait_for_their_dependencies_starts_nothing_more(
    autojump_clock: MockClock, journal: Journal
) -> None:
    stack, launchers, teardown = make_stack(journal, Run(start_time=5.0))
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stack.run)
            await trio.sleep_until(1.0)  # a and d are starting, b and c wait for them
            stack.request_stop()
    # The starts under way end at 5 s; their containers are stopped as they exist.
    assert sorted(journal.of("SIGTERM")) == [(5.0, "a"), (5.0, "d")]
    assert chain_entries(journal, "prepare") == [(0.0, "a")]
    assert launchers["b"].starts == launchers["c"].starts == []
    assert teardown.calls == [(5.0, PATHS)]
    assert trio.current_time() == 5.5


async def test_a_stop_during_preparation_ends_it_and_starts_nothing(
    autojump_clock: MockClock, journal: Journal
) -> None:
    stack, launchers, teardown = make_stack(journal, Run(), prepare_time=60.0)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stack.run)
            await trio.sleep_until(10.0)
            stack.request_stop()
    assert all(launcher.starts == [] for launcher in launchers.values())
    assert teardown.calls == [(10.0, PATHS)]
    assert trio.current_time() == 10.5


NOT_FOUND = Run(fail=('exec: "/nonexistent": no such file or directory', 127))


async def test_a_stop_ends_the_restarts_of_a_dependency_that_fails_to_start(
    autojump_clock: MockClock, journal: Journal
) -> None:
    """a fails to start at 0, 0.1, 0.3, 0.7, 1.5, 3.1, 6.3, 12.7, ...; the
    others run; the stop comes while a backs off."""
    stack, launchers, teardown = make_stack(journal, Run(), runs_of={"a": NOT_FOUND})
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(stack.run)
            await trio.sleep_until(10.0)
            assert stack.containers["a"].state is State.RESTARTING
            stack.request_stop()
    assert [round(t, 9) for t in launchers["a"].starts] == [0.0, 0.1, 0.3, 0.7, 1.5, 3.1, 6.3]
    assert chain_entries(journal, "SIGTERM") == [(10.0, "c"), (10.0, "b")]
    assert teardown.calls == [(10.0, PATHS)]
    assert trio.current_time() == 10.5


async def test_a_kill_during_a_stop_ends_everything_at_once_with_a_failing_dependency(
    autojump_clock: MockClock, journal: Journal
) -> None:
    stack, launchers, teardown = make_stack(
        journal, Run(honours=frozenset()), grace=30.0, runs_of={"a": NOT_FOUND}
    )
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(stack.run)
            await trio.sleep_until(10.0)
            stack.request_stop()  # c and d ignore SIGTERM; b and a wait for c
            await trio.sleep_until(12.0)
            stack.kill_all()
    assert sorted(name for t, name in journal.of("SIGKILL") if t == 12.0) == ["b", "c", "d"]
    assert len(launchers["a"].starts) == 7  # the last at 6.3 s, none after the stop
    assert teardown.calls == [(12.0, PATHS)]
    assert trio.current_time() == 12.5


async def test_cancelled_run_still_stops_everything_and_tears_down(
    autojump_clock: MockClock, journal: Journal
) -> None:
    stack, launchers, teardown = make_stack(journal, Run())
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(stack.run)
            await trio.sleep_until(10.0)
            nursery.cancel_scope.cancel()
    assert all(
        launcher.processes[0].signals == [(10.0, signal.SIGTERM)] for launcher in launchers.values()
    )
    assert teardown.calls == [(10.0, PATHS)]
    assert teardown.alive_at_call == []
    assert trio.current_time() == 10.5


async def test_cancelled_run_kills_after_grace_shielded(
    autojump_clock: MockClock, journal: Journal
) -> None:
    stack, launchers, teardown = make_stack(journal, Run(honours=frozenset()), grace=3.0)
    with trio.fail_after(BOUND):
        with trio.move_on_after(10.0):
            await stack.run()
    for launcher in launchers.values():
        (t_term, term), (t_kill, kill) = launcher.processes[0].signals
        assert (term, kill) == (signal.SIGTERM, signal.SIGKILL)
        assert t_kill - t_term == 3.0
    assert len(teardown.calls) == 1
    assert teardown.alive_at_call == []


async def test_cancelled_run_stops_in_reverse_order(
    autojump_clock: MockClock, journal: Journal
) -> None:
    stack, _, teardown = make_stack(journal, Run(stop_delay=1.0))
    with trio.fail_after(BOUND):
        with trio.move_on_after(10.0):
            await stack.run()
    assert chain_entries(journal, "SIGTERM") == [(10.0, "c"), (11.0, "b"), (12.0, "a")]
    assert teardown.calls == [(13.0, PATHS)]


async def test_cancelled_during_prepare_still_tears_down(
    autojump_clock: MockClock, journal: Journal
) -> None:
    stack, _, teardown = make_stack(journal, Run(), prepare_time=60.0)
    with trio.fail_after(BOUND):
        with trio.move_on_after(10.0):
            await stack.run()
    assert len(teardown.calls) == 1
    assert trio.current_time() < 10.0 + TEARDOWN_MARGIN


async def test_failed_prepare_still_tears_down(autojump_clock: MockClock, journal: Journal) -> None:
    failure = StackError("container demo-b-1: network setup failed")
    stack, launchers, teardown = make_stack(journal, Run(), prepare_errors={"b": failure})
    with trio.fail_after(BOUND), pytest.RaisesGroup(StackError, flatten_subgroups=True):
        await stack.run()
    assert launchers["a"].processes[0].signals == [(0.0, signal.SIGTERM)]
    assert launchers["c"].starts == []
    assert len(teardown.calls) == 1


async def test_a_cancelled_chain_that_ignores_its_stop_signal_is_stopped_and_torn_down(
    autojump_clock: MockClock, journal: Journal
) -> None:
    # Each of a <- b <- c waits for the next to be killed after its 10 s of
    # grace: 30 s in all, longer than any one grace period.
    stack, _, teardown = make_stack(journal, Run(honours=frozenset()), grace=10.0)
    with trio.fail_after(BOUND):
        with trio.move_on_after(5.0):
            await stack.run()
    assert chain_entries(journal, "SIGKILL") == [(15.0, "c"), (25.0, "b"), (35.0, "a")]
    assert teardown.calls == [(35.0, PATHS)]
    assert teardown.alive_at_call == []


async def test_a_stop_that_overruns_its_bound_is_ended_by_kills_and_torn_down(
    autojump_clock: MockClock, journal: Journal
) -> None:
    stack, _, teardown = make_stack(journal, Run(honours=frozenset(), killable=False))
    with trio.fail_after(BOUND):
        with trio.move_on_after(5.0):
            await stack.run()
    assert len(teardown.calls) == 1
    assert teardown.calls[0][0] == pytest.approx(5.0 + stack.stop_bound)


async def test_a_requested_stop_that_overruns_its_bound_is_ended_and_torn_down(
    autojump_clock: MockClock, journal: Journal
) -> None:
    stack, _, teardown = make_stack(journal, Run(honours=frozenset(), killable=False))
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(stack.run)
            await trio.sleep_until(5.0)
            stack.request_stop()
    assert teardown.calls == [(5.0 + stack.stop_bound, PATHS)]
    assert trio.current_time() == 5.5 + stack.stop_bound


class FailingTeardown(Teardown):
    async def __call__(self, paths: ProjectPaths) -> None:
        await super().__call__(paths)
        raise StackError("could not remove everything of project demo: busy cgroup")


async def test_a_failed_removal_does_not_hide_the_error_that_stopped_the_stack(
    autojump_clock: MockClock, journal: Journal
) -> None:
    failure = StackError("container demo-b-1: network setup failed")
    stack, _, _ = make_stack(journal, Run(), prepare_errors={"b": failure})
    stack._teardown = teardown = FailingTeardown(journal)
    with (
        trio.fail_after(BOUND),
        pytest.RaisesGroup(
            pytest.RaisesExc(StackError, match="network setup failed"), flatten_subgroups=True
        ),
    ):
        await stack.run()
    assert len(teardown.calls) == 1


async def test_a_failed_removal_after_an_orderly_stop_is_raised(
    autojump_clock: MockClock, journal: Journal
) -> None:
    stack, _, _ = make_stack(journal, Run())
    stack._teardown = FailingTeardown(journal)
    with (
        trio.fail_after(BOUND),
        pytest.RaisesGroup(
            pytest.RaisesExc(StackError, match="busy cgroup"), flatten_subgroups=True
        ),
    ):
        async with trio.open_nursery() as nursery:
            await nursery.start(stack.run)
            stack.request_stop()
