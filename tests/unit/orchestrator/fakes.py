"""Recording fakes of the Container's seams (`Launcher`, `Process`) on Trio's clock.

A `FakeLauncher` plays a script of `Run`s, one per start attempt (the last
one repeats). Each start gives a `FakeProcess` that exits after its run's
duration, or when it gets a signal it honours (SIGKILL always, with 137).
Every call and every signal is recorded with `trio.current_time()` in a
`Journal` that the launchers of one stack share, so that tests can assert
order and exact virtual times.
"""

import math
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO, StringIO

import trio

from orchestrator.health_monitor import HealthMonitor
from orchestrator.logs import ContainerLog
from orchestrator.service import Container, StartFailed
from orchestrator.spec.model import RestartMode, RestartPolicy, ServiceSpec
from orchestrator.spec.normalize import Dependency
from tests import log_file

SIGKILL_CODE = 128 + signal.SIGKILL


@dataclass(frozen=True)
class Run:
    """What one start attempt does."""

    duration: float | None = None
    """Seconds from start to exit; None runs until a signal ends it."""
    exit_code: int = 0
    honours: frozenset[int] = frozenset({signal.SIGTERM})
    """Signals that end the process (after `stop_delay`), with 128 + signum."""
    stop_delay: float = 0.0
    killable: bool = True
    """False: not even SIGKILL ends it (a process stuck in the kernel)."""
    start_time: float = 0.0
    """How long the launcher's start() takes before the process exists."""
    fail: tuple[str, int] | None = None
    """start() raises StartFailed(reason, exit_code) instead."""
    stdout: bytes = b""
    """Written to stdout at exit, right before the process's pipe ends close."""
    stderr: bytes = b""
    keeps_pipes: bool = False
    """Something else holds the pipes open after the exit (closed at test end)."""


@dataclass(frozen=True)
class Entry:
    time: float
    container: str
    what: str
    """prepare, start, exit, reset, teardown, or a signal's name (delivered)."""


class Journal:
    """Every launcher call, delivered signal and exit, in order."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.processes: list[FakeProcess] = []

    def record(self, container: str, what: str) -> None:
        self.entries.append(Entry(trio.current_time(), container, what))

    def of(self, what: str) -> list[tuple[float, str]]:
        """(time, container) of every entry of this kind, in order."""
        return [(e.time, e.container) for e in self.entries if e.what == what]

    def close(self) -> None:
        """Close the pipe ends of processes that never exited (test teardown)."""
        for process in self.processes:
            process.close_pipes()


class FakeProcess:
    def __init__(self, name: str, pid: int, run: Run, journal: Journal, out: int, err: int):
        self.name = name
        self.pid = pid
        self.script = run
        self._journal = journal
        self.started_at = trio.current_time()
        self.signals: list[tuple[float, int]] = []
        """Signals delivered while the process ran."""
        self.late_signals: list[tuple[float, int]] = []
        """Signals sent after it exited (ignored, as with a pidfd)."""
        self.returncode: int | None = None
        self.exited_at: float | None = None
        self._exit_at = math.inf if run.duration is None else self.started_at + run.duration
        self._code = run.exit_code
        self._changed = trio.Event()
        # The container's copies of the pipes' write ends: the Container closes
        # the fds it passed to start(), the process keeps its own until it exits.
        self._fds = [os.dup(out), os.dup(err)]

    @property
    def alive(self) -> bool:
        return self.returncode is None

    def send_signal(self, signum: int) -> None:
        now = trio.current_time()
        if not self.alive:
            self.late_signals.append((now, signum))
            return
        self.signals.append((now, signum))
        self._journal.record(self.name, signal.Signals(signum).name)
        if signum == signal.SIGKILL:
            if self.script.killable:
                self._exit_later(now, SIGKILL_CODE)
        elif signum in self.script.honours:
            self._exit_later(now + self.script.stop_delay, 128 + signum)

    def _exit_later(self, at: float, code: int) -> None:
        if at < self._exit_at:
            self._exit_at = at
            self._code = code
            self._changed.set()
            self._changed = trio.Event()

    async def wait(self) -> int:
        await trio.lowlevel.checkpoint()
        while self.returncode is None:
            if trio.current_time() >= self._exit_at:
                return self._exit()
            changed = self._changed
            with trio.move_on_at(self._exit_at):
                await changed.wait()
        return self.returncode

    def _exit(self) -> int:
        self.returncode = self._code
        self.exited_at = trio.current_time()
        self._journal.record(self.name, "exit")
        for fd, data in zip(self._fds, (self.script.stdout, self.script.stderr), strict=True):
            if data:
                os.write(fd, data)
        if not self.script.keeps_pipes:
            self.close_pipes()
        return self._code

    def close_pipes(self) -> None:
        while self._fds:
            os.close(self._fds.pop())


class FakeLauncher:
    """Plays `runs`, one per start() (the last one repeats); records every call."""

    def __init__(
        self,
        name: str,
        runs: Sequence[Run],
        journal: Journal,
        prepare_time: float = 0.0,
        prepare_error: Exception | None = None,
    ) -> None:
        assert runs
        self.name = name
        self._runs = list(runs)
        self._journal = journal
        self._prepare_time = prepare_time
        self._prepare_error = prepare_error
        self.starts: list[float] = []
        """When each start() was called."""
        self.resets: list[float] = []
        self.processes: list[FakeProcess] = []
        self._started = trio.Event()

    async def prepare(self) -> None:
        self._journal.record(self.name, "prepare")
        await trio.sleep(self._prepare_time)
        if self._prepare_error is not None:
            raise self._prepare_error

    async def start(self, stdout: int, stderr: int) -> FakeProcess:
        run = self._runs[min(len(self.starts), len(self._runs) - 1)]
        self.starts.append(trio.current_time())
        self._journal.record(self.name, "start")
        self._started.set()
        self._started = trio.Event()
        await trio.sleep(run.start_time)
        if run.fail is not None:
            raise StartFailed(*run.fail)
        process = FakeProcess(
            self.name, 1000 + len(self.starts), run, self._journal, stdout, stderr
        )
        self.processes.append(process)
        self._journal.processes.append(process)
        return process

    async def reset(self) -> None:
        self.resets.append(trio.current_time())
        self._journal.record(self.name, "reset")
        await trio.lowlevel.checkpoint()

    async def wait_starts(self, count: int) -> None:
        """Until start() was called `count` times."""
        while len(self.starts) < count:
            await self._started.wait()


def service(
    name: str = "web",
    mode: RestartMode = RestartMode.NO,
    max_retries: int | None = None,
    depends_on: tuple[str, ...] = (),
    stop_signal: str = "SIGTERM",
    stop_grace_period: float = 10.0,
) -> ServiceSpec:
    return ServiceSpec(
        name=name,
        image="busybox:latest",
        restart=RestartPolicy(mode, max_retries),
        depends_on=tuple(Dependency(name) for name in depends_on),
        stop_signal=stop_signal,
        stop_grace_period=stop_grace_period,
    )


@dataclass
class Logged:
    file: BytesIO
    console: StringIO

    def console_lines(self) -> list[str]:
        return self.console.getvalue().splitlines()

    def file_lines(self) -> list[tuple[str, str]]:
        """(stream, text) of every line of the log file, its pieces joined."""
        return log_file.lines(self.file.getvalue().decode())


def container(
    spec: ServiceSpec, launcher: FakeLauncher, width: int = 0, health: HealthMonitor | None = None
) -> tuple[Container, Logged]:
    logged = Logged(BytesIO(), StringIO())
    log = ContainerLog(launcher.name, logged.file, logged.console, width)
    stop_signal = signal.Signals[spec.stop_signal or "SIGTERM"]
    return Container(launcher.name, spec, launcher, log, stop_signal, health), logged


def times(values: Sequence[float]) -> list[float]:
    """Virtual times to compare with decimal literals: the clock adds floats
    (1.1 + 1.0 + 0.2 is 2.3000000000000003), rounding drops only that noise."""
    return [round(value, 9) for value in values]
