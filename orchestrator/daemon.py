"""The supervisor process: one stack, its control socket, its signals.

`run_stack` (and `supervise` under it) runs in the foreground of `corral
up`, or in the detached process `corral up -d` forks (see `starter`). It
returns once the stack is down, whether that was asked over the control
socket, by SIGINT/SIGTERM, or forced by an error during start (then nothing
is left half-started).
"""

import functools
import os
import signal
import socket
import stat
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import IO, Any

import trio

from netplug.errors import NetworkError
from orchestrator import stop_signals
from orchestrator.cleanup import remove_project_objects
from orchestrator.control import server as control
from orchestrator.errors import CorralError, StackError
from orchestrator.health_monitor import health_monitor
from orchestrator.launch import RuncLauncher, prepare_root
from orchestrator.logconfig import get_logger
from orchestrator.logs import LogSink
from orchestrator.network_relay import LocalNetwork, NetworkOps, RelayedNetwork
from orchestrator.paths import ProjectPaths
from orchestrator.plan import NetworkPlan, StackPlan, container_layouts, make_plan
from orchestrator.service import Container, State
from orchestrator.spec import ProjectSpec
from orchestrator.subnets import make_networks
from orchestrator.supervisor import TEARDOWN_MARGIN, Stack
from runtime.engine import Engine, become_subreaper
from runtime.errors import ContainerRuntimeError
from runtime.images import Image
from runtime.private import private_directory, write_private_file

_log = get_logger("corral")


def ps_rows(stack: Stack) -> list[dict[str, Any]]:
    """One row per container, with Docker Compose's `ps --format json` keys."""
    rows = []
    for plan in stack.plan.containers:
        container = stack.containers[plan.service.name]
        rows.append(
            {
                "Name": container.name,
                "Service": plan.service.name,
                "Image": plan.service.image,
                "State": container.state.value,
                "ExitCode": container.exit_code or 0,
                "Health": container.health.status.value if container.health else "",
                "RestartCount": container.restart_count,
                "IPAddress": plan.address,
            }
        )
    return rows


class ControlHandler:
    def __init__(self, stack: Stack, engine: Engine, interrupts: "Interrupts") -> None:
        self.stack = stack
        self.engine = engine
        self.interrupts = interrupts

    def phase(self) -> str:
        """`starting` until every container started (also while a start that
        failed is undone), `up`, then `stopping` once a stop was asked."""
        if self.stack.stopping or self.interrupts.interrupted:
            return "stopping"
        return "up" if self.interrupts.up else "starting"

    async def __call__(self, request: dict[str, Any], fds: list[int]) -> dict[str, Any]:
        match request.get("op"):
            case "status":
                return {
                    "state": self.phase(),
                    "pid": os.getpid(),
                    "within": self.stack.shutdown_bound,
                }
            case "ps":
                return {"containers": ps_rows(self.stack)}
            case "down":
                self.stack.request_stop()
                return {"pid": os.getpid(), "within": self.stack.shutdown_bound}
            case "exec":
                return {"exit_code": await self._exec(request, fds)}
            case other:
                raise CorralError(f"unknown request {other!r}")

    async def _exec(self, request: dict[str, Any], fds: list[int]) -> int:
        service = str(request.get("service"))
        argv = [str(arg) for arg in request.get("argv", [])]
        container = self.stack.containers.get(service)
        if container is None:
            raise CorralError(f"no such service: {service}")
        if container.state is not State.RUNNING:
            raise CorralError(f"service {service} is not running ({container.state.value})")
        if len(fds) != 3 or not argv:
            raise CorralError("exec needs a command and the three standard streams")
        if not all(stat.S_ISFIFO(os.fstat(fd).st_mode) for fd in fds):
            # The runtime gives its stdio to the container's user (crun
            # fchowns it): a caller's own file or terminal must not be that.
            raise CorralError("exec takes pipes for its streams, not files")
        stdin, stdout, stderr = fds
        return await self.engine.exec(
            container.name, argv, stdin=stdin, stdout=stdout, stderr=stderr
        )


class Interrupts:
    """The stop signals, for the supervisor's whole life. Until every
    container has started, the first one cancels the start: what it made is
    removed, and the command exits as interrupted; a later one kills the
    containers that had started (their removal is not interrupted). Once
    the stack is up, the first stops it in order and any later one kills
    its containers."""

    def __init__(self) -> None:
        self.start = trio.CancelScope()
        self.stack: Stack | None = None
        """The stack, once it exists (its containers may still be starting)."""
        self.up = False
        """Every container started: a signal now stops the stack in order."""
        self.interrupted = False
        """A signal cancelled the start."""

    async def watch(self, signals: AsyncIterator[int]) -> None:
        async for signum in signals:
            name = signal.Signals(signum).name
            if self.stack is None or not self.up:
                if not self.interrupted:
                    _log.info("stopping the start", signal=name)
                    self.interrupted = True
                    self.start.cancel()
                elif self.stack is not None:
                    _log.warning("stopping now: killing containers")
                    self.stack.kill_all()
            elif not self.stack.stopping:
                _log.info("stopping", signal=name)
                self.stack.request_stop()
            else:
                _log.warning("stopping now: killing containers")
                self.stack.kill_all()


async def _stop_once_all_exited(stack: Stack) -> None:
    """`up` in the foreground returns, as Compose's does, once no container
    runs or will be restarted."""
    for container in stack.containers.values():
        await container.finished.wait()
    if not stack.stopping:
        _log.info("every container has exited", project=stack.plan.project.name)
        stack.request_stop()


async def _reap_orphans(engine: Engine) -> None:
    with trio.open_signal_receiver(signal.SIGCHLD) as signals:
        async for _ in signals:
            engine.reap_orphans()


async def _run_stack(
    stack: Stack, done: trio.CancelScope, *, task_status: trio.TaskStatus[Stack]
) -> None:
    try:
        await stack.run(task_status=task_status)
    finally:
        done.cancel()


async def supervise(
    plan: StackPlan,
    engine: Engine,
    console: IO[str] | None,
    on_ready: Callable[[Stack], None],
    network: NetworkOps,
    interrupts: Interrupts,
) -> None:
    """Run the stack until it is stopped; `on_ready` once every container
    started, when `network` is closed too. In the foreground (with a
    `console`) it stops too once every container has exited for good."""
    become_subreaper()
    paths = plan.paths
    private_directory(paths.run)
    write_private_file(paths.pid_file, f"{os.getpid()}\n".encode())
    sink = LogSink(console, max(len(c.name) for c in plan.containers))
    logs = {c.name: sink.open(c.name, paths.log_file(c.name)) for c in plan.containers}
    containers = {
        c.service.name: Container(
            c.name,
            c.service,
            RuncLauncher(c, paths, engine, network),
            logs[c.name],
            c.stop_signal,
            health_monitor(c, engine),
        )
        for c in plan.containers
    }
    teardown = functools.partial(remove_project_objects, engine=engine)
    stack = interrupts.stack = Stack(plan, containers, teardown)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_reap_orphans, engine)
            handler = ControlHandler(stack, engine, interrupts)
            await nursery.start(control.serve, paths.control_socket, handler)
            await nursery.start(_run_stack, stack, nursery.cancel_scope)
            await network.close()
            interrupts.up = True
            on_ready(stack)
            if console is not None:
                nursery.start_soon(_stop_once_all_exited, stack)
    finally:
        for log in logs.values():
            log.close()


def _first_error(error: BaseException) -> BaseException:
    """The error a user should read, out of Trio's exception groups, with
    runtime and netplug errors translated at this boundary."""
    while isinstance(error, BaseExceptionGroup):
        error = next(
            (e for e in error.exceptions if not isinstance(e, trio.Cancelled)), error.exceptions[0]
        )
    if isinstance(error, ContainerRuntimeError | NetworkError):
        return StackError(str(error))
    return error


async def _plan_and_prepare(
    project: ProjectSpec,
    images: Mapping[str, Image],
    services: Sequence[str],
    paths: ProjectPaths,
    engine: Engine,
    network: NetworkOps,
) -> StackPlan:
    """The plan, once the stack's bridges are made on subnets of their own;
    meanwhile every container's root is made, which needs none of the
    addresses."""
    networks: list[NetworkPlan] = []

    async def claim_networks() -> None:
        networks.extend(await make_networks(project, paths, network))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(claim_networks)
        for layout in container_layouts(project, images, paths, services):
            nursery.start_soon(prepare_root, layout, paths, engine)
    return make_plan(project, images, networks, paths, services)


def run_stack(
    project: ProjectSpec,
    images: Mapping[str, Image],
    services: Sequence[str],
    paths: ProjectPaths,
    console: IO[str] | None,
    on_ready: Callable[[Stack], None],
    relay: socket.socket | None = None,
) -> None:
    """Plan the stack and run it in this process until it is down; its
    network is made through `relay` while it starts, if given."""

    async def main() -> None:
        engine = Engine(paths.runtime_state)
        local = LocalNetwork()
        network = RelayedNetwork(relay, local) if relay is not None else local
        interrupts = Interrupts()
        with trio.open_signal_receiver(*stop_signals.STOP_SIGNALS) as signals:
            async with trio.open_nursery() as watcher:
                watcher.start_soon(interrupts.watch, signals)
                with interrupts.start:
                    try:
                        plan = await _plan_and_prepare(
                            project, images, services, paths, engine, network
                        )
                        await supervise(plan, engine, console, on_ready, network, interrupts)
                    except BaseException:
                        # The stack removes what it made when it stops; this
                        # is for what was made before it ran, or if that
                        # removal failed.
                        with trio.CancelScope(shield=True):
                            await _remove_reporting_failure(paths, engine)
                        raise
                watcher.cancel_scope.cancel()
        if interrupts.interrupted:
            raise KeyboardInterrupt

    try:
        _run_trio(main)
    except BaseException as error:  # noqa: BLE001 - re-raised, unwrapped
        first = _first_error(error)
        if first is error:
            raise
        raise first from error


async def _remove_reporting_failure(paths: ProjectPaths, engine: Engine) -> None:
    """Remove the project's objects while another error is on its way out;
    a failure here is logged so that it does not hide that error."""
    try:
        with trio.move_on_after(TEARDOWN_MARGIN) as removing:
            await remove_project_objects(paths, engine)
        if removing.cancelled_caught:
            _log.error("removing the stack did not finish in time", project=paths.project)
    except Exception as exc:  # noqa: BLE001 - logged, so that it does not hide the other
        _log.error("cleanup failed", error=str(exc))


def announce_ready(stack: Stack) -> None:
    _log.info("stack is up; Ctrl-C stops it", project=stack.plan.project.name)


def remove_project(paths: ProjectPaths) -> None:
    """Remove what a dead supervisor left of the project."""
    _run_trio(remove_project_objects, paths, Engine(paths.runtime_state))


def _run_trio(main: Callable[..., Awaitable[None]], *args: Any) -> None:
    """`trio.run`, a stop signal until `run_stack`'s receiver takes them
    being a KeyboardInterrupt at a checkpoint (not inside Trio's own code,
    nor inside a finalizer, which would only print it)."""
    with stop_signals.handed_to_trio():
        trio.run(main, *args, restrict_keyboard_interrupt_to_checkpoints=True)
