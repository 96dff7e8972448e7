"""Start the runtime binary inside a container's cgroups, on cgroup v1 and
the hybrid layout, without moving the supervisor.

Python runs code between fork and exec only through a `preexec_fn`, which
makes it fork the whole supervisor (~5 ms of its time per start); a shell
that joins the cgroups, unshares a mount namespace and unmounts the v2
hierarchy costs ~4 ms of CPU in the three programs it runs. Instead a
short-lived thread of our own takes the place the process must start in,
and spawns it with posix_spawn, whose child starts where that thread is:

- cgroup v1 moves single threads (`tasks`), so the thread joins the
  container's v1 cgroups and no other thread moves;
- unshare(CLONE_NEWNS) gives the calling thread alone a mount namespace
  (it unshares the thread's filesystem attributes with it), in which the
  hierarchy crun must not see is unmounted, after making every mount a
  slave so that the unmount does not reach the host;
- cgroup v2 moves whole processes only, so a process joins its v2 cgroup
  itself: a shell writes to the `cgroup.procs` the thread opened before the
  unmount, then execs the runtime.

The thread then ends, its namespace with it once the process has exec'd.
"""

import ctypes
import os
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_CLONE_NEWNS = 0x00020000
_MS_REC = 16384
_MS_SLAVE = 1 << 19
_MNT_DETACH = 2
_V2_FD = 3
_JOIN_V2 = (
    f"echo 0 >&{_V2_FD} || {{ echo 'corral: cannot join the v2 cgroup' >&2; exit 125; }}\n"
    f'exec "$@" {_V2_FD}>&-\n'
)

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Placement:
    """Where a runtime process starts; the default is where we are."""

    v1: tuple[Path, ...] = ()
    """Cgroup directories in v1 hierarchies."""
    v2: Path | None = None
    """The cgroup directory in the v2 hierarchy of the hybrid layout."""
    hidden: Path | None = None
    """A mount the process does not see (the hybrid layout's v2 hierarchy)."""


def spawn(
    argv: Sequence[str], placement: Placement, *, stdin: int | None, stdout: int, stderr: int
) -> int:
    """Start argv in `placement`, in a session of its own, with the given
    stdio (stdin None: /dev/null) and no other descriptor of ours; its pid.
    Blocks for about a millisecond."""
    result: list[int] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            result.append(_spawn_here(argv, placement, stdin, stdout, stderr))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=start, name="corral-spawn")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


def _spawn_here(
    argv: Sequence[str], placement: Placement, stdin: int | None, stdout: int, stderr: int
) -> int:
    """What `spawn`'s thread does; it is not fit for any other use afterwards."""
    opened: list[int] = []
    try:
        if stdin is None:
            stdin = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            opened.append(stdin)
        stdio = ((stdin, 0), (stdout, 1), (stderr, 2))
        actions: list[tuple[int, ...]] = [(os.POSIX_SPAWN_DUP2, fd, to) for fd, to in stdio]
        command = list(argv)
        if placement.v2 is not None:
            v2_procs = _open_cgroup_file(placement.v2 / "cgroup.procs")
            opened.append(v2_procs)
            actions.append((os.POSIX_SPAWN_DUP2, v2_procs, _V2_FD))
            command = ["/bin/sh", "-c", _JOIN_V2, "corral-enter", *command]
        if placement.hidden is not None:
            _hide(placement.hidden)
        for cgroup in placement.v1:
            fd = _open_cgroup_file(cgroup / "tasks")
            try:
                # "0" is the writing thread. Moving only itself, the kernel
                # skips the global lock a move by id takes, whose first taking
                # waits for an RCU grace period (5 to 15 ms here, more at times).
                os.write(fd, b"0")
            finally:
                os.close(fd)
        kept = {0, 1, 2} | ({_V2_FD} if placement.v2 is not None else set())
        actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inheritable_fds() if fd not in kept]
        return os.posix_spawnp(
            command[0], command, os.environ, file_actions=actions, setsid=True,
            setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),
        )  # fmt: skip
    finally:
        for fd in opened:
            os.close(fd)


def _inheritable_fds() -> list[int]:
    """Our descriptors a child would inherit: the standard three, and any a
    parent of ours left without close-on-exec, which the runtime must not
    get (subprocess closes them too)."""
    fds = []
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.get_inheritable(int(name)):
                fds.append(int(name))
        except OSError:
            pass  # the directory's own descriptor, closed by now
    return fds


def _open_cgroup_file(path: Path) -> int:
    try:
        return os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot join the cgroup of {path}: {exc.strerror}") from None


def _hide(mount: Path) -> None:
    _check(_libc.unshare(_CLONE_NEWNS), mount, "unshare the mount namespace")
    _check(_libc.mount(None, b"/", None, _MS_REC | _MS_SLAVE, None), mount, "make mounts slaves")
    _check(_libc.umount2(bytes(mount), _MNT_DETACH), mount, "unmount it")


def _check(result: int, mount: Path, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"cannot hide {mount} from the runtime: {what}: {os.strerror(err)}")
