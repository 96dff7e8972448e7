"""One stack: containers in dependency order, orderly shutdown, removal.

Its bridges exist before it runs (see `subnets`); it removes them with the
rest of the project.

`Stack.run` brings the stack up and reports started once every container's
first start was attempted (or a stop ended the start); it returns after
`request_stop`, having stopped the containers in reverse dependency order,
within `stop_bound`, and removed every object. If it is cancelled instead,
the same stop and teardown still run, shielded and bounded, so nothing is
left behind.
"""

from collections.abc import Awaitable, Callable, Mapping

import trio

from orchestrator.errors import StackError
from orchestrator.logconfig import get_logger
from orchestrator.paths import ProjectPaths
from orchestrator.plan import StackPlan
from orchestrator.service import Container

_log = get_logger("corral")

TEARDOWN_MARGIN = 15.0
"""Time on top of a container's grace period for it to exit and be reaped;
also the time that removing the stack's objects may take."""


class Stack:
    def __init__(
        self,
        plan: StackPlan,
        containers: Mapping[str, Container],
        teardown: Callable[[ProjectPaths], Awaitable[None]],
    ) -> None:
        self.plan = plan
        self.containers = dict(containers)  # by service name
        self._teardown = teardown
        self._stop_requested = trio.Event()
        self._starting = trio.CancelScope()
        """Around the start in dependency order, which a stop ends."""

    def request_stop(self) -> None:
        """Stop the stack; a start still under way goes no further: the
        containers waiting for a dependency or being prepared are not started,
        those whose start is under way are stopped once it ends."""
        self._stop_requested.set()
        self._starting.cancel()

    @property
    def stopping(self) -> bool:
        return self._stop_requested.is_set()

    def kill_all(self) -> None:
        """SIGKILL every container now (a second Ctrl-C): the orderly stop
        that is under way then finishes at once."""
        for container in self.containers.values():
            container.kill()

    @property
    def stop_bound(self) -> float:
        """How long stopping may take: along a depends_on chain each container
        waits for the next to stop, so up to every grace period in turn."""
        return sum(
            c.service.stop_grace_period + TEARDOWN_MARGIN for c in self.containers.values()
        )

    @property
    def shutdown_bound(self) -> float:
        """How long stopping and removing everything may take."""
        return self.stop_bound + TEARDOWN_MARGIN

    async def run(
        self, *, task_status: trio.TaskStatus["Stack"] = trio.TASK_STATUS_IGNORED
    ) -> None:
        try:
            async with trio.open_nursery() as nursery:
                with self._starting:
                    await self._start_all(nursery)
                task_status.started(self)
                await self._stop_requested.wait()
                await self._stop_within_bound()
                nursery.cancel_scope.cancel()  # a container that outlived the bound
        except BaseException:
            await self._shut_down(failing=True)
            raise
        with trio.CancelScope(shield=True):
            await self._remove(failing=False)

    async def _shut_down(self, *, failing: bool) -> None:
        """Stop what still runs and remove every object, shielded, after an
        error or a cancellation."""
        with trio.CancelScope(shield=True):
            await self._stop_within_bound()
            await self._remove(failing=failing)

    async def _stop_within_bound(self) -> None:
        """Stop in order; what has not stopped within the bound is killed."""
        with trio.move_on_after(self.stop_bound) as stopping:
            await self._stop_all()
        if stopping.cancelled_caught:
            _log.error("stopping did not finish in time; killing", project=self.plan.project.name)
            self.kill_all()

    async def _remove(self, *, failing: bool) -> None:
        """Remove every object of the project. A removal that fails is
        raised, unless another error is on its way out (`failing`): that
        one is what the user must read."""
        project = self.plan.project.name
        try:
            with trio.move_on_after(TEARDOWN_MARGIN) as removing:
                await self._teardown(self.plan.paths)
            if removing.cancelled_caught:
                raise StackError(
                    f"removing project {project} did not finish within {TEARDOWN_MARGIN:.0f} s"
                )
        except Exception as exc:
            if not failing:
                raise
            _log.error("cleanup failed", error=str(exc))

    async def _start_all(self, nursery: trio.Nursery) -> None:
        """Each container starts once the containers it depends on have made
        their first start attempt (Compose's service_started)."""

        async def start_one(name: str) -> None:
            container = self.containers[name]
            for dependency in container.service.dependency_names:
                if dependency in self.containers:
                    await self.containers[dependency].first_start_done.wait()
            await nursery.start(container.run)
            await container.first_start_done.wait()

        async with trio.open_nursery() as starters:
            for name in self.containers:
                starters.start_soon(start_one, name)

    async def _stop_all(self) -> None:
        """Stop each container after every container depending on it stopped."""

        async def stop_one(name: str) -> None:
            for other in self.containers.values():
                if name in other.service.dependency_names:
                    await other.stopped.wait()
            container = self.containers[name]
            await container.stop()
            with trio.move_on_after(container.service.stop_grace_period + TEARDOWN_MARGIN):
                await container.finished.wait()

        async with trio.open_nursery() as stoppers:
            for name in self.containers:
                stoppers.start_soon(stop_one, name)
