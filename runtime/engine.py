"""Drive the OCI runtime binary (runc by default) and see containers exit.

Containers run detached. The supervisor makes itself a child subreaper, so
when the runtime binary exits, each container's first process is re-parented
to the supervisor; its exit is then seen through a pidfd, with no polling and
no helper process per container, and reaped with waitid(P_PIDFD).

The runtime's own reason for a failure is read from its JSON log file
(`--log-format json`), since its stderr is the container's.
"""

import ctypes
import json
import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import trio

from runtime.errors import EngineError

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Make orphaned descendants (container init processes) our children."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}")


class ContainerProcess:
    """A running container's first process, watched through a pidfd."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._pidfd = os.pidfd_open(pid)
        self._exit_code: int | None = None
        # One task at a time waits on the pidfd (Trio forbids two waiters on
        # one fd); the others queue here and read the cached exit code.
        self._wait_lock = trio.Lock()

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
        # The pidfd is readable, so the child has exited: this cannot block.
        result = os.waitid(os.P_PIDFD, self._pidfd, os.WEXITED | os.WNOHANG)  # noqa: ASYNC222
        if result is None:
            raise EngineError("wait", str(self.pid), "pidfd readable but no exit to reap")
        os.close(self._pidfd)
        killed = result.si_code in (os.CLD_KILLED, os.CLD_DUMPED)
        self._exit_code = 128 + result.si_status if killed else result.si_status


@dataclass(frozen=True)
class RuntimeContainer:
    id: str
    status: str
    pid: int


class Engine:
    """One OCI runtime binary and one state root (`runc --root`)."""

    def __init__(self, state_root: Path, binary: str = "runc") -> None:
        self.state_root = state_root
        self.binary = binary

    def _command(self, log: Path | None, *args: str) -> list[str]:
        command = [self.binary, "--root", str(self.state_root)]
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
        command = self._command(
            log, "run", "--detach", "--pid-file", str(pid_file), "--bundle", str(bundle),
            container_id,
        )  # fmt: skip
        result = await trio.run_process(
            command,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            check=False,
            start_new_session=True,  # Ctrl-C on the terminal is for us, not the containers
        )
        if result.returncode != 0:
            raise EngineError("start", container_id, _last_error(log, result.returncode))
        return ContainerProcess(int(pid_file.read_text()))

    async def delete(self, container_id: str) -> None:
        """Kill if running and remove the container's state and cgroup.
        Idempotent: a container the runtime does not know is not an error."""
        try:
            await self._call("delete", container_id, "delete", "--force", container_id)
        except EngineError as exc:
            if "does not exist" not in exc.reason:
                raise

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
        """Run argv in the running container with the given stdio; its exit code."""
        result = await trio.run_process(
            self._command(None, "exec", container_id, *argv),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            check=False,
        )
        return result.returncode


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
