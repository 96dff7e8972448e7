"""Drive the OCI runtime binary (crun or runc) and see containers exit.

The runtime is CORRAL_RUNTIME (a name on PATH or a path) if set, else crun
when it is installed (it starts a container in about a third of runc's
time), else runc. On cgroup v1, crun runs with its cgroup manager disabled
and Corral places the container in its cgroups itself, as runc would: see
`runtime.cgroups`.

Containers run detached. The supervisor makes itself a child subreaper, so
when the runtime binary exits, each container's first process is re-parented
to the supervisor; its exit is then seen through a pidfd, with no polling and
no helper process per container, and reaped with waitid(P_PIDFD).

The runtime's own reason for a failure is read from its JSON log file
(`--log-format json`), since its stderr is the container's.
"""

import contextlib
import ctypes
import functools
import itertools
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import trio

from runtime import cgroups
from runtime.errors import EngineError
from runtime.spawn import Placement, spawn

_PR_SET_CHILD_SUBREAPER = 36
OUTPUT_TAIL = 4096
"""Bytes of a captured exec's output that are kept (its end)."""
RUNTIME_TERM_GRACE = 5.0
"""How long a runtime process whose wait was cancelled has after SIGTERM."""
EXEC_KILL_BOUND = 5.0
"""How long the runtime's exec may take to exit once its process was killed."""


def become_subreaper() -> None:
    """Make orphaned descendants (container init processes) our children."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}")


class ContainerProcess:
    """A process of ours watched through a pidfd: a container's first
    process, or a runtime process we started (see `Engine._start`)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._pidfd = os.pidfd_open(pid)
        self._exit_code: int | None = None
        # One task at a time waits on the pidfd (Trio forbids two waiters on
        # one fd); the others queue here and read the cached exit code.
        self._wait_lock = trio.Lock()

    @property
    def exit_code(self) -> int | None:
        """None until `wait` has reaped the process."""
        return self._exit_code

    def send_signal(self, signum: int) -> None:
        """Signal the process; a process that already exited is not an error."""
        if self._exit_code is not None:
            return
        try:
            signal.pidfd_send_signal(self._pidfd, signum)
        except ProcessLookupError:
            pass

    async def wait(self) -> int:
        """Wait for the exit and reap; the exit code as a shell reports it.
        Several tasks may wait; the exit is reaped once."""
        async with self._wait_lock:
            if self._exit_code is None:
                await self._reap()
        assert self._exit_code is not None
        return self._exit_code

    async def _reap(self) -> None:
        await trio.lowlevel.wait_readable(self._pidfd)
        while True:
            # The pidfd is readable, so the process has exited: this cannot
            # block. It may not be our child yet: see _wait_for_adoption.
            try:
                result = os.waitid(  # noqa: ASYNC222
                    os.P_PIDFD, self._pidfd, os.WEXITED | os.WNOHANG
                )
                break
            except ChildProcessError:
                await _wait_for_adoption(self.pid)
        if result is None:
            raise EngineError("wait", str(self.pid), "pidfd readable but no exit to reap")
        os.close(self._pidfd)
        killed = result.si_code in (os.CLD_KILLED, os.CLD_DUMPED)
        self._exit_code = 128 + result.si_status if killed else result.si_status


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: bytes
    """The end of its stdout and stderr, interleaved."""


@dataclass(frozen=True)
class RuntimeContainer:
    id: str
    status: str
    pid: int


def runtime_binary(environ: Mapping[str, str] = os.environ) -> str:
    """CORRAL_RUNTIME if set, else crun when it is on PATH, else runc; as an
    absolute path when it is on PATH, so that each of the many runtime calls
    execs it directly instead of trying every PATH directory before it."""
    name = environ.get("CORRAL_RUNTIME") or ("crun" if shutil.which("crun") else "runc")
    return shutil.which(name) or name


class _CgroupPlacement:
    """crun on cgroup v1: the container's cgroups are made here, and the
    runtime is started inside them (`runtime.spawn`), so that the
    container's processes, created by it, start inside them too (see
    `runtime.cgroups`)."""

    def __init__(self, hierarchies: Sequence[cgroups.Hierarchy]) -> None:
        self.hierarchies = hierarchies
        hybrid = cgroups.hybrid_with_controllers()
        self.hidden = cgroups.CGROUP_ROOT / cgroups.HYBRID_V2 if hybrid else None
        self.by_container: dict[str, str | None] = {}
        """The cgroup made for each container `creating` was called for."""

    def made(self, container_id: str) -> Placement | None:
        """Where the container's runtime starts, if `creating` was called."""
        return self.joining(container_id) if container_id in self.by_container else None

    def creating(self, container_id: str, bundle: Path) -> Placement:
        """Make the container's cgroups as its bundle says, once until
        `forget`; where its runtime starts."""
        if container_id not in self.by_container:
            cgroup, devices = _bundle_cgroup(bundle)
            if cgroup:
                cgroups.prepare_cgroups(cgroup, self.hierarchies, devices)
            self.by_container[container_id] = cgroup
        return self.joining(container_id)

    def joining(self, container_id: str) -> Placement:
        """Where a runtime process for the container starts (`exec` too):
        its cgroups, once made, with the container's processes in them."""
        cgroup = self.by_container.get(container_id)
        if cgroup is None:
            return Placement(hidden=self.hidden)
        return Placement(
            v1=tuple(h.cgroup(cgroup) for h in self.hierarchies if h.controllers),
            v2=next((h.cgroup(cgroup) for h in self.hierarchies if not h.controllers), None),
            hidden=self.hidden,
        )

    def forget(self, container_id: str) -> None:
        cgroup = self.by_container.pop(container_id, None)
        if cgroup:
            cgroups.remove_cgroup(cgroup, self.hierarchies)


class Engine:
    """One OCI runtime binary and one state root (`runc --root`)."""

    def __init__(self, state_root: Path, binary: str | None = None) -> None:
        self.state_root = state_root
        self.binary = binary or runtime_binary()
        self.name = Path(self.binary).name
        self._hierarchies = cgroups.current_hierarchies()
        self._placement = (
            _CgroupPlacement(self._hierarchies)
            if self.name == "crun" and not cgroups.is_unified()
            else None
        )
        self._bundles: dict[str, Path] = {}
        self._exec_ids = itertools.count()

    def cgroups_path(self, name: str) -> str:
        """The config.json cgroupsPath that puts a container in cgroup `name`:
        under this process's own when relative, else from the root of the
        hierarchy. runc reads a path so; crun takes any path from the root."""
        if self.name != "crun" or self._placement is not None or name.startswith("/"):
            return name
        own = next((h.own for h in self._hierarchies if not h.controllers), "")
        return f"/{own}/{name}" if own else f"/{name}"

    def prime_cgroup_moves(self) -> None:
        """Start making the cgroup moves of the containers about to start
        fast (see `cgroups.prime_cgroup_moves`), in a thread of its own that
        nobody waits for: it blocks in the kernel while a container is being
        prepared, and the container's start must not wait for it to return."""
        trio.lowlevel.start_thread_soon(
            functools.partial(cgroups.prime_cgroup_moves, self._hierarchies), _ignore_outcome
        )

    def prepare_cgroups(self, container_id: str, bundle: Path) -> None:
        """Make the cgroups of the container `run` will create from `bundle`
        now, ahead of it, where Corral makes them (crun on v1). Blocking."""
        if self._placement is not None:
            self._creating(container_id, bundle)

    def _creating(self, container_id: str, bundle: Path) -> Placement:
        assert self._placement is not None
        return self._placement.creating(container_id, bundle)

    def _joining(self, container_id: str) -> Placement:
        if self._placement is None:
            return Placement()
        return self._placement.joining(container_id)

    async def _start(
        self, operation: str, container_id: str, argv: Sequence[str], placement: Placement, *,
        stdin: int | None, stdout: int, stderr: int,
    ) -> ContainerProcess:  # fmt: skip
        """A runtime process, started in `placement` and a session of its own;
        EngineError if it cannot be (a cgroup gone, say), as a runtime failure."""
        start = functools.partial(spawn, argv, placement, stdin=stdin, stdout=stdout, stderr=stderr)
        try:
            return ContainerProcess(await trio.to_thread.run_sync(start))
        except OSError as exc:
            raise EngineError(operation, container_id, str(exc)) from exc

    def _command(self, log: Path | None, *args: str) -> list[str]:
        command = [self.binary, "--root", str(self.state_root)]
        if self._placement is not None:
            command.append("--cgroup-manager=disabled")
        if log is not None:
            command += ["--log", str(log), "--log-format", "json"]
        return [*command, *args]

    async def _call(self, operation: str, container_id: str, *args: str) -> str:
        result = await trio.run_process(
            self._command(None, *args),
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # which keeps the orphan reaper off it
        )
        if result.returncode != 0:
            reason = result.stderr.decode(errors="replace").strip() or f"exit {result.returncode}"
            raise EngineError(operation, container_id, reason)
        return result.stdout.decode(errors="replace")

    async def run(
        self, container_id: str, bundle: Path, *, stdout: int, stderr: int
    ) -> ContainerProcess:
        """Create and start the container detached, its stdio on the given fds."""
        log = bundle / "runtime.log"
        pid_file = bundle / "pid"
        log.unlink(missing_ok=True)
        pid_file.unlink(missing_ok=True)
        self._bundles[container_id] = bundle
        placement = self._placement.made(container_id) if self._placement else Placement()
        if placement is None:  # mkdir and device rules: ~4 ms of system calls
            placement = await trio.to_thread.run_sync(self._creating, container_id, bundle)
        command = self._command(
            log, "run", "--detach", "--pid-file", str(pid_file), "--bundle", str(bundle),
            container_id,
        )  # fmt: skip
        # In a session of its own: Ctrl-C on the terminal is for us, not the containers.
        process = await self._start(
            "start", container_id, command, placement, stdin=None, stdout=stdout, stderr=stderr
        )
        returncode = await _exit_code(process)
        if returncode != 0:
            raise EngineError("start", container_id, _last_error(log, returncode))
        return ContainerProcess(int(pid_file.read_text()))

    async def delete(self, container_id: str) -> None:
        """Kill if running and remove the container's state and cgroup.
        Idempotent: a container the runtime does not know is not an error."""
        try:
            await self._call("delete", container_id, "delete", "--force", container_id)
        except EngineError as exc:
            if "does not exist" not in exc.reason:
                raise
        self.reap_orphans()
        if self._placement is not None:
            self._placement.forget(container_id)

    def reap_orphans(self) -> None:
        """Reap the runtime's processes that exited orphaned: as subreaper we
        inherit them (crun's detach leaves one per start, exiting about when
        the start returns). For a SIGCHLD handler."""
        _reap_detached_helpers(self.name)

    async def list(self) -> list[RuntimeContainer]:
        """Containers under this state root, running or not."""
        if not self.state_root.exists():
            return []
        text = await self._call("list", "*", "list", "--format", "json")
        return [
            RuntimeContainer(item["id"], item["status"], int(item.get("pid") or 0))
            for item in json.loads(text or "null") or []
        ]

    async def exec(
        self,
        container_id: str,
        argv: Sequence[str],
        *,
        stdin: int,
        stdout: int,
        stderr: int,
    ) -> int:
        """Run argv in the running container with the given stdio; its exit
        code (the runtime's, if it could not start argv), once argv has
        exited, whatever it left holding its stdio.

        runc runs detached (argv becomes our child, as a container's first
        process does): in the foreground it copies the stdio through pipes
        of its own and exits only when they end, which a process argv left
        in the background holds off."""
        pid_file = None
        options: tuple[str, ...] = ()
        bundle = self._bundles.get(container_id)
        if self.name == "runc" and bundle is not None:
            pid_file = bundle / f"exec-{os.getpid()}-{next(self._exec_ids)}.pid"
            options = ("--detach", "--pid-file", str(pid_file))
        try:
            with self._exec_command(container_id, argv, *options) as command:
                process = await self._start(
                    "exec", container_id, command, self._joining(container_id), stdin=stdin,
                    stdout=stdout, stderr=stderr,
                )  # fmt: skip
                code = await _exit_code(process)
            if pid_file is None or code != 0:
                return code
            return await _exit_code(ContainerProcess(int(pid_file.read_text())))
        finally:
            if pid_file is not None:
                pid_file.unlink(missing_ok=True)

    async def exec_captured(self, container_id: str, argv: Sequence[str]) -> ExecResult:
        """Run argv in the running container, its stdout and stderr captured
        (the last OUTPUT_TAIL bytes). If cancelled (a timeout), the process is
        killed in the container: the runtime's own exec process only forwards
        the signals it can catch."""
        bundle = self._bundles.get(container_id)
        if bundle is None:
            raise EngineError("exec", container_id, "not a container this engine started")
        pid_file = bundle / f"exec-{os.getpid()}-{next(self._exec_ids)}.pid"
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
        output = trio.lowlevel.FdStream(read_end)
        tail = b""
        try:
            with self._exec_command(container_id, argv, "--pid-file", str(pid_file)) as command:
                try:
                    process = await self._start(
                        "exec", container_id, command, self._joining(container_id),
                        stdin=None, stdout=write_end, stderr=write_end,
                    )  # fmt: skip
                finally:
                    os.close(write_end)
                try:
                    async for chunk in output:
                        tail = (tail + chunk)[-OUTPUT_TAIL:]
                    return ExecResult(await process.wait(), tail)
                finally:
                    if process.exit_code is None:
                        with trio.CancelScope(shield=True):
                            await _kill_exec(process, _read_pid(pid_file))
        finally:
            pid_file.unlink(missing_ok=True)
            with trio.CancelScope(shield=True):
                await output.aclose()

    @contextlib.contextmanager
    def _exec_command(
        self, container_id: str, argv: Sequence[str], *options: str
    ) -> Iterator[Sequence[str]]:
        """The runtime's exec command line for argv, with `options` before the
        container id."""
        bundle = self._bundles.get(container_id)
        process_file = None
        if self.name == "crun" and bundle is not None:
            # crun exec starts from defaults, runc exec from the container's
            # process (user, env, cwd, capabilities, no_new_privileges): give
            # crun that process, with argv.
            config = json.loads((bundle / "config.json").read_text(encoding="utf-8"))
            process = {**config["process"], "args": list(argv), "terminal": False}
            process_file = bundle / f"exec-{os.getpid()}-{next(self._exec_ids)}.json"
            process_file.write_text(json.dumps(process), encoding="utf-8")
        if process_file is not None:
            command = self._command(
                None, "exec", *options, "--process", str(process_file), container_id
            )
        else:
            command = self._command(None, "exec", *options, container_id, *argv)
        try:
            yield command
        finally:
            if process_file is not None:
                process_file.unlink(missing_ok=True)


async def _wait_for_adoption(pid: int) -> None:
    """Wait until the exited process `pid` is our child. A container that
    exits at once can do so while the runtime's detached helper that started
    it still runs; it is re-parented to us, the subreaper, when that parent
    exits, and only then can we reap it."""
    stat = _proc_stat(pid)
    if stat is None:
        raise EngineError("wait", str(pid), "the process was reaped by another")
    parent = int(stat.fields[1])
    if parent == os.getpid():
        return
    try:
        parent_fd = os.pidfd_open(parent)
    except ProcessLookupError:
        return  # it has just exited: we are the parent now
    try:
        await trio.lowlevel.wait_readable(parent_fd)
    finally:
        os.close(parent_fd)


class _ProcStat(NamedTuple):
    comm: str
    fields: list[str]
    """The fields after comm: state, ppid, pgrp, session, ..."""


def _proc_stat(pid: int) -> _ProcStat | None:
    """/proc/PID/stat (a read that does not block), or None when there is no
    such process. comm is cut at the last ")", since it may contain one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    end = stat.rindex(")")
    return _ProcStat(stat[stat.index("(") + 1 : end], stat[end + 2 :].split())


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text())
    except (OSError, ValueError):
        return None  # not written yet


async def _exit_code(process: ContainerProcess) -> int:
    """The runtime process's exit code. If the wait is cancelled, the process
    is ended as Trio ends one: SIGTERM (the runtime's exec passes it on to
    the process it runs), SIGKILL after RUNTIME_TERM_GRACE."""
    try:
        return await process.wait()
    except BaseException:
        with trio.CancelScope(shield=True):
            process.send_signal(signal.SIGTERM)
            with trio.move_on_after(RUNTIME_TERM_GRACE):
                await process.wait()
            process.send_signal(signal.SIGKILL)
            await process.wait()
        raise


async def _kill_exec(process: ContainerProcess, pid: int | None) -> None:
    """SIGKILL the process an exec started in the container (`pid`), then
    wait for the runtime's exec to exit; the runtime itself is killed if it
    has not started the process yet, or does not exit after it."""
    if pid is not None:
        # The runtime has not exited, so it has not reaped the process: the
        # pid is still the process's.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with trio.move_on_after(EXEC_KILL_BOUND):
            await process.wait()
            return
    process.send_signal(signal.SIGKILL)
    await process.wait()


def _reap_detached_helpers(runtime: str) -> None:
    """Reap the runtime's own processes that exited orphaned, and so became
    our zombies (we are the subreaper): crun's detach leaves one per start.
    Only zombies named like the runtime that are not session leaders: the
    runtime processes we start lead their own session and are reaped by the
    task that waits for them, and a container's first process leads its own."""
    for child in _children():
        stat = _proc_stat(child)
        if stat is None:
            continue
        state, _, _, session = stat.fields[:4]
        if state == "Z" and _is_runtime_process(stat.comm, runtime) and int(session) != child:
            try:
                os.waitpid(child, os.WNOHANG)
            except ChildProcessError:
                pass


def _ignore_outcome(_: object) -> None:
    pass


def _is_runtime_process(comm: str, runtime: str) -> bool:
    """Whether a process name is the runtime's: crun's helpers keep its name;
    runc's stages rename themselves `runc:[0:PARENT]`, `runc:[1:CHILD]`, and
    one of them is orphaned when a runtime call is killed mid-way."""
    return comm == runtime[:15] or comm.startswith(f"{runtime}:[")


def _children() -> list[int]:
    """Our children that were re-parented to us: orphans go to the subreaper's
    main thread (those a worker thread spawned are listed under that thread)."""
    try:
        text = Path(f"/proc/self/task/{os.getpid()}/children").read_text()
    except OSError:
        return []
    return [int(pid) for pid in text.split()]


def _bundle_cgroup(bundle: Path) -> tuple[str | None, list[str]]:
    """The bundle's cgroupsPath, and the devices it allows as the v1 devices
    controller's lines (the runtime's defaults aside)."""
    linux = json.loads((bundle / "config.json").read_text(encoding="utf-8")).get("linux", {})
    path = linux.get("cgroupsPath")
    allowed = [
        f"{rule.get('type', 'a')} {rule.get('major', '*')}:{rule.get('minor', '*')} "
        f"{rule.get('access', 'rwm')}"
        for rule in linux.get("resources", {}).get("devices", [])
        if rule.get("allow")
    ]
    return (str(path) if path else None), allowed


def _last_error(log: Path, returncode: int) -> str:
    """The last error-level message of a runtime JSON log."""
    reason = f"the runtime exited with {returncode}"
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return reason
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("level") in ("error", "fatal") and entry.get("msg"):
            reason = str(entry["msg"])
    return reason
