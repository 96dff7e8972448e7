"""One container's lifecycle: start, watch, restart with backoff, stop.

The loop talks to the container through the small `Launcher` protocol, so
its timing (backoff, grace periods) is tested on Trio's MockClock with a
recording fake, while the real launcher drives runc, netplug and mounts.
"""

import enum
import functools
import os
import signal
from collections.abc import Awaitable, Callable
from typing import Protocol

import trio

from orchestrator.health_monitor import HealthMonitor
from orchestrator.logconfig import get_logger
from orchestrator.logs import ContainerLog, pipe_pair, pump
from orchestrator.restart import next_backoff, should_restart
from orchestrator.spec.model import ServiceSpec

_log = get_logger("corral")

DRAIN_BOUND = 5.0
"""How long output may still arrive after a container's first process exits
(the kernel kills the rest of its pid namespace, so this is generous)."""


class State(enum.Enum):
    CREATED = "created"
    RUNNING = "running"
    RESTARTING = "restarting"
    EXITED = "exited"


class Process(Protocol):
    pid: int

    def send_signal(self, signum: int) -> None: ...

    async def wait(self) -> int: ...


class StartFailed(Exception):
    """The container could not start; `exit_code` as Docker reports it."""

    def __init__(self, reason: str, exit_code: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exit_code = exit_code


class Launcher(Protocol):
    async def prepare(self) -> None:
        """Make what the container runs in: netns, endpoints, rootfs, bundle."""

    async def start(self, stdout: int, stderr: int) -> Process:
        """Start the container with its stdio on these fds; raise StartFailed."""

    async def reset(self) -> None:
        """Forget an exited container so that it can be started again."""


class Container:
    """One replica of a service, restarted per its policy."""

    def __init__(
        self,
        name: str,
        service: ServiceSpec,
        launcher: Launcher,
        log: ContainerLog,
        stop_signal: signal.Signals,
        health: HealthMonitor | None = None,
    ):
        self.name = name
        self.service = service
        self.stop_signal = stop_signal
        self._launcher = launcher
        self._log = log
        self.health = health
        """Probes the container while its process runs; None without a check."""
        self.state = State.CREATED
        self.exit_code: int | None = None
        self.restart_count = 0
        self.process: Process | None = None
        self._stop_requested = False
        self._killed = False
        self._wait_scope: trio.CancelScope | None = None
        """Around the waits a stop ends at once: the preparation, a backoff."""
        self._run_entered = False
        self._start_attempt: trio.Event | None = None
        self.first_start_done = trio.Event()
        self.stopped = trio.Event()
        """Set once a stop was asked for and the process, if any, has exited."""
        self.finished = trio.Event()
        """Set once `run` has returned, however it ended."""

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Prepare, then start and restart until the policy or a stop says no.
        Reports started once prepared (or once a stop ended the preparation);
        `first_start_done` follows the first start attempt."""
        self._run_entered = True
        backoff: float | None = None
        try:
            await self._unless_stopped(self._launcher.prepare)
            task_status.started()
            while not self._stop_requested:
                began = trio.current_time()
                code = await self._run_once()
                self.exit_code = code
                ran_for = trio.current_time() - began
                await self._launcher.reset()
                if not should_restart(
                    self.service.restart, code, self.restart_count, self._stop_requested
                ):
                    break
                backoff = next_backoff(backoff, ran_for)
                self.state = State.RESTARTING
                _log.info("restarting", container=self.name, exit_code=code, delay=backoff)
                await self._unless_stopped(functools.partial(trio.sleep, backoff))
                if not self._stop_requested:
                    self.restart_count += 1
        finally:
            self.state = State.EXITED
            self.first_start_done.set()
            self.finished.set()

    async def _unless_stopped(self, wait: Callable[[], Awaitable[None]]) -> None:
        """Run `wait` unless a stop or a kill comes first, or cancel it when
        one comes during it: a stop then ends the loop at once."""
        with trio.CancelScope() as self._wait_scope:
            if self._stop_requested:
                self._wait_scope.cancel()
            await wait()
        self._wait_scope = None

    async def _run_once(self) -> int:
        out_read, out_write = pipe_pair()
        err_read, err_write = pipe_pair()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(pump, out_read, "stdout", self._log)
            nursery.start_soon(pump, err_read, "stderr", self._log)
            attempt = self._start_attempt = trio.Event()
            try:
                process = self.process = await self._launcher.start(out_write, err_write)
            except StartFailed as failure:
                _log.error("container failed to start", container=self.name, reason=failure.reason)
                return failure.exit_code
            finally:
                _close(out_write, err_write)
                attempt.set()
                self.first_start_done.set()
            if self._killed:  # killed while it was starting
                process.send_signal(signal.SIGKILL)
            self.state = State.RUNNING
            health = await nursery.start(self.health.watch) if self.health else None
            code = await process.wait()
            if health is not None:
                health.cancel()
            nursery.cancel_scope.deadline = trio.current_time() + DRAIN_BOUND
        return code

    async def stop(self, grace: float | None = None) -> None:
        """Stop signal, then SIGKILL after the grace period; no restart after.
        Safe to call from a shielded scope after `run` was cancelled, and
        while a start is under way (it waits for that start first)."""
        self._stop_requested = True
        if not self._run_entered:
            self.finished.set()
        self._end_wait()
        try:
            if self._start_attempt is not None:
                await self._start_attempt.wait()
            if self.process is not None:
                await self._terminate(self.process, grace)
        finally:
            self.stopped.set()

    async def _terminate(self, process: Process, grace: float | None) -> None:
        """Once killed, the process got its SIGKILL from `kill` or, if the
        kill came during its start, from `_run_once`: it is only waited for."""
        if not self._killed:
            process.send_signal(self.stop_signal)
            with trio.move_on_after(self.service.stop_grace_period if grace is None else grace):
                await process.wait()
                return
            _log.warning("grace period over, killing", container=self.name)
            process.send_signal(signal.SIGKILL)
        await process.wait()

    def kill(self) -> None:
        """SIGKILL now, or as soon as a start under way has made the process."""
        self._stop_requested = self._killed = True
        self._end_wait()
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)

    def _end_wait(self) -> None:
        if self._wait_scope is not None:
            self._wait_scope.cancel()


def _close(*fds: int) -> None:
    for fd in fds:
        os.close(fd)
