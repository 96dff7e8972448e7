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
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from netplug.errors import NetlinkError

CLONE_NEWNET = 0x40000000
THREAD_NETNS = "/proc/thread-self/ns/net"

LIBC = ctypes.CDLL(None, use_errno=True)


_T = TypeVar("_T")


async def in_thread(function: Callable[..., _T], *args: object) -> _T:
    """Run a blocking netplug call in a Trio worker thread. Trio is imported
    here rather than by the modules, whose blocking calls a process without
    Trio runs too (see `orchestrator.network_server`)."""
    import trio

    return await trio.to_thread.run_sync(function, *args)


def iproute() -> Any:
    """A new pyroute2 `IPRoute` (use it in a `with` block). pyroute2 is
    imported on first use, so that a process that only creates namespaces
    or removes what it named, or has another process make its links (see
    `orchestrator.network_relay`), does not spend ~80 ms importing it."""
    from pyroute2 import IPRoute

    return IPRoute()


def netlink_error_code(exc: BaseException) -> int | None:
    """The errno of a pyroute2 NetlinkError, None for any other exception.
    Without importing pyroute2: an error cannot be one of its exceptions
    unless pyroute2 was imported."""
    exceptions = sys.modules.get("pyroute2.netlink.exceptions")
    if exceptions is not None and isinstance(exc, exceptions.NetlinkError):
        return int(exc.code)
    return None


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
    except OSError as exc:
        code = exc.errno if exc.errno is not None else errno.EIO
        raise NetlinkError(f"cannot {what}: {describe_errno(code)}") from exc
    except Exception as exc:
        netlink_code = netlink_error_code(exc)
        if netlink_code is None:
            raise
        raise NetlinkError(f"cannot {what}: {describe_errno(netlink_code)}") from exc


@contextmanager
def tolerating(code: int) -> Iterator[None]:
    """Swallow a pyroute2 or OS error with this errno (EEXIST on add, ENODEV on delete)."""
    try:
        yield
    except OSError as exc:
        if exc.errno != code:
            raise
    except Exception as exc:
        if netlink_error_code(exc) != code:
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
