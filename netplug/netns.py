"""Named network namespaces, bind-mounted under /run/netns as `ip netns` does.

A namespace is created by the worker thread itself (unshare, bind-mount its
/proc/thread-self/ns/net, step back) instead of pyroute2's forked helper: see
`netplug._netlink`. This is on every container's cold-start path.
"""

import errno
import os
import threading
from pathlib import Path

from netplug._ifconfig import set_link_up
from netplug._netlink import (
    LIBC,
    THREAD_NETNS,
    check,
    in_thread,
    thread_netns_restored,
    translated,
    unshare_netns,
)
from netplug.names import NETNS_DIR, list_netns

__all__ = ["NETNS_DIR", "create_netns", "list_netns", "remove_netns"]

_MS_BIND = 4096
_MS_REC = 16384
_MS_SHARED = 1 << 20
_MNT_DETACH = 2


def _path_of(name: str) -> Path:
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"invalid netns name {name!r}")
    return NETNS_DIR / name


_sharing = threading.Lock()


def _share_netns_dir() -> None:
    """Make NETNS_DIR a shared mount, as iproute2 does, so that namespace mounts
    made or removed later propagate to mount namespaces created in between
    (containers), instead of keeping a deleted namespace pinned there. One
    thread at a time: two could each bind-mount the directory onto itself."""
    target = bytes(NETNS_DIR)
    NETNS_DIR.mkdir(parents=True, exist_ok=True)
    with _sharing:
        if LIBC.mount(b"none", target, b"none", _MS_SHARED | _MS_REC, None) == 0:
            return
        check(LIBC.mount(target, target, b"none", _MS_BIND | _MS_REC, None), "bind-mount netns dir")
        check(LIBC.mount(b"none", target, b"none", _MS_SHARED | _MS_REC, None), "share netns dir")


def _is_mounted_netns(path: Path) -> bool:
    """Whether `path` is a namespace's bind mount: nsfs files all share one device."""
    return path.stat().st_dev == os.stat(THREAD_NETNS).st_dev


def _create_netns(path: Path) -> None:
    with translated(f"create netns {path}"):
        _share_netns_dir()
        try:
            os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0))
        except FileExistsError:
            if _is_mounted_netns(path):
                return
            # A crash left the mount point without its mount: finish the job.
        with thread_netns_restored():
            unshare_netns()
            check(LIBC.mount(THREAD_NETNS.encode(), bytes(path), b"none", _MS_BIND, None), "mount")
            set_link_up("lo")


async def create_netns(name: str) -> Path:
    """Create the named netns with `lo` up and return its path; reuse it if it exists."""
    path = _path_of(name)
    await in_thread(_create_netns, path)
    return path


def _remove_netns(path: Path) -> None:
    with translated(f"remove netns {path}"):
        try:
            check(LIBC.umount2(bytes(path), _MNT_DETACH), "umount")
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOENT):  # not mounted, or no file
                raise
        path.unlink(missing_ok=True)


async def remove_netns(name: str) -> None:
    """Unmount and delete the named netns; a missing one is not an error."""
    await in_thread(_remove_netns, _path_of(name))
