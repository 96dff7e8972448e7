"""Plumbing shared by the netlink modules: errors and netns switching.

pyroute2 can open a socket in another network namespace (`IPRoute(netns=...)`)
and create one (`pyroute2.netns.create`), but both fork a helper process, which
costs ~10 ms and is unsafe in a threaded Trio process. A network namespace is
a per-thread attribute instead: `setns(2)` and `unshare(2)` with CLONE_NEWNET
move only the calling thread. The worker thread of a `trio.to_thread.run_sync`
call can therefore step into a namespace, make its calls there (a netlink
socket opened there, or ioctls), and step back. Trio reuses its worker
threads, so stepping back is not optional: `thread_netns_restored`
guarantees it.
"""

import ctypes
import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager

from pyroute2.netlink.exceptions import NetlinkError as PyrouteNetlinkError

from netplug.errors import NetlinkError

CLONE_NEWNET = 0x40000000
THREAD_NETNS = "/proc/thread-self/ns/net"

LIBC = ctypes.CDLL(None, use_errno=True)


def describe_errno(code: int) -> str:
    """`ENODEV (No such device)`: the symbolic name first, as in the kernel's headers."""
    return f"{errno.errorcode.get(code, str(code))} ({os.strerror(code)})"


def check(result: int, what: str) -> None:
    """Raise OSError with errno when a libc call returned non-zero."""
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Re-raise pyroute2 and OS errors as NetlinkError naming `what` and the errno."""
    try:
        yield
    except PyrouteNetlinkError as exc:
        raise NetlinkError(f"cannot {what}: {describe_errno(exc.code)}") from exc
    except OSError as exc:
        code = exc.errno if exc.errno is not None else errno.EIO
        raise NetlinkError(f"cannot {what}: {describe_errno(code)}") from exc


@contextmanager
def tolerating(code: int) -> Iterator[None]:
    """Swallow a pyroute2 or OS error with this errno (EEXIST on add, ENODEV on delete)."""
    try:
        yield
    except PyrouteNetlinkError as exc:
        if exc.code != code:
            raise
    except OSError as exc:
        if exc.errno != code:
            raise


@contextmanager
def thread_netns_restored() -> Iterator[None]:
    """Put the calling thread back into its current netns when the block exits."""
    home = os.open(THREAD_NETNS, os.O_RDONLY | os.O_CLOEXEC)
    try:
        yield
    finally:
        try:
            check(LIBC.setns(home, CLONE_NEWNET), "setns back to the thread's netns")
        finally:
            os.close(home)


def enter_netns(fd: int) -> None:
    """Move the calling thread into the netns `fd` refers to (see thread_netns_restored)."""
    check(LIBC.setns(fd, CLONE_NEWNET), "setns")


def unshare_netns() -> None:
    """Move the calling thread into a new, empty netns (see thread_netns_restored)."""
    check(LIBC.unshare(CLONE_NEWNET), "unshare")
