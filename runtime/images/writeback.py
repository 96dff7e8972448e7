"""Getting what a pull writes onto the disk: early, then for sure.

A layer is made durable before it can be found (see `ImageStore.unpack_from`)
with one syncfs(2) of the store's filesystem, which waits for every dirty
page there. Left alone, the kernel would start writing a pull's pages back
only after seconds, so that wait would be the whole write-back of the image
(about 100 ms for 100 MB here). Each file a pull writes therefore has its
write-back started as soon as it is written (sync_file_range(2) with
SYNC_FILE_RANGE_WRITE, which does not wait), and the disk works while the
pull goes on; the final syncfs waits only for the tail.

Neither call has an `os` function; both go through ctypes, loaded with the
first layer.
"""

import ctypes
import os
from pathlib import Path

_SYNC_FILE_RANGE_WRITE = 2
_libc = ctypes.CDLL(None, use_errno=True)
_sync_file_range = _libc.sync_file_range
_sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
_sync_file_range.restype = ctypes.c_int
_syncfs = _libc.syncfs
_syncfs.argtypes = [ctypes.c_int]
_syncfs.restype = ctypes.c_int


def start_writeback(fd: int, offset: int = 0, length: int = 0) -> None:
    """Start writing back the dirty pages of `length` bytes of `fd` from `offset`
    (0: to its end), without waiting. A hint: failures are ignored."""
    _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def sync_filesystem(path: Path) -> None:
    """Wait until everything written to the filesystem holding `path` is on disk."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _syncfs(fd) != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"syncfs of {path} failed: {os.strerror(code)}")
    finally:
        os.close(fd)
