"""Mounting a container's root filesystem: an overlay of image layers.

mount(2) and umount2(2) are called directly through ctypes rather than by
running `mount`: this is on the container cold-start path, where a
subprocess would cost far more than the system call itself.
"""

import ctypes
import errno
import os
import re
from collections.abc import Sequence
from pathlib import Path

from runtime.errors import MountError

_MNT_DETACH = 2
_UMOUNT_NOFOLLOW = 8
# mount(2) copies at most one page of options; longer ones would be cut short.
_MAX_OPTIONS = os.sysconf("SC_PAGE_SIZE") - 1
_MOUNTINFO_ESCAPE = re.compile(rb"\\([0-7]{3})")

_libc = ctypes.CDLL(None, use_errno=True)
_mount = _libc.mount
_mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
_mount.restype = ctypes.c_int
_umount2 = _libc.umount2
_umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_umount2.restype = ctypes.c_int


def mount_overlay(layers: Sequence[Path], upper: Path, work: Path, target: Path) -> None:
    """Mount an overlay of `layers` (lowest first) with writable `upper` on `target`.

    `upper`, `work` and `target` are created if missing; `work` must be an
    empty directory on the same filesystem as `upper`. Does nothing if
    `target` is already a mount point.
    """
    if not layers:
        raise MountError(f"cannot mount overlay on {target}: no layers given")
    try:
        for directory in (upper, work, target):
            directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MountError(f"cannot mount overlay on {target}: {exc}") from exc
    if os.path.ismount(target):
        return
    # overlayfs wants the top-most lower layer first.
    lower = ":".join(_option_path(layer) for layer in reversed(layers))
    options = f"lowerdir={lower},upperdir={_option_path(upper)},workdir={_option_path(work)}"
    data = os.fsencode(options)
    if len(data) > _MAX_OPTIONS:
        raise MountError(
            f"cannot mount overlay on {target}: its options take {len(data)} bytes,"
            f" more than the {_MAX_OPTIONS} mount(2) accepts"
        )
    if _mount(b"overlay", os.fsencode(target), b"overlay", 0, data) != 0:
        code = ctypes.get_errno()
        raise MountError(f"cannot mount overlay on {target}: {os.strerror(code)}")


def unmount(target: Path) -> None:
    """Unmount every mount stacked on `target`; nothing mounted or no `target` is fine.

    A busy mount is detached lazily (MNT_DETACH): it disappears from the tree
    now and is released once its last user is gone.
    """
    path = os.fsencode(target)
    while True:  # until EINVAL says nothing more is mounted there
        if _umount2(path, _UMOUNT_NOFOLLOW) != 0:
            code = ctypes.get_errno()
            if code != errno.EBUSY:
                break
            if _umount2(path, _MNT_DETACH | _UMOUNT_NOFOLLOW) != 0:
                code = ctypes.get_errno()
                break
    if code not in (errno.EINVAL, errno.ENOENT, errno.ENOTDIR):
        raise MountError(f"cannot unmount {target}: {os.strerror(code)}")


def mounts_under(prefix: Path) -> list[Path]:
    """Mount points at or below `prefix`, deepest first, so they can be unmounted in order."""
    root = prefix.resolve()
    with open("/proc/self/mountinfo", "rb") as mountinfo:
        lines = mountinfo.read().splitlines()
    found: dict[Path, None] = {}
    for line in lines:
        point = Path(os.fsdecode(_MOUNTINFO_ESCAPE.sub(_unescape, line.split(b" ")[4])))
        if point == root or root in point.parents:
            found[point] = None
    return sorted(found, key=lambda point: len(point.parts), reverse=True)


def _unescape(match: re.Match[bytes]) -> bytes:
    """Decode one `\\ooo` octal escape of /proc/self/mountinfo (space, tab, newline, `\\`)."""
    return bytes([int(match[1], 8)])


def _option_path(path: Path) -> str:
    """`path` made absolute, with the characters overlayfs treats specially escaped."""
    return os.fspath(path.absolute()).replace("\\", "\\\\").replace(":", "\\:").replace(",", "\\,")
