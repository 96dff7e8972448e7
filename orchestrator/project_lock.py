"""One corral process at a time makes or removes a project's objects.

A supervisor holds its project's lock for its whole life, from the first
object it makes to the last it removes; `up` holds it while it checks for
a running supervisor and removes what a dead one left; `down` while it
removes leftovers. So a `down` or a second `up` run while a stack is still
starting (its control socket not yet answering) cannot mistake the live
objects for a dead supervisor's. The lock is flock(2) on a file that is
never removed: the kernel releases it when its holder exits, however it
exits, so `kill -9` leaves no stale lock.
"""

import contextlib
import fcntl
import os
from collections.abc import Iterator

from orchestrator.errors import ProjectBusy
from orchestrator.paths import ProjectPaths
from runtime.private import private_directory


def try_lock(paths: ProjectPaths) -> int | None:
    """The locked file's descriptor (close it to unlock), or None if another
    process holds the lock."""
    private_directory(paths.lock_file.parent)
    fd = os.open(paths.lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def acquire(paths: ProjectPaths) -> int:
    """The lock's descriptor; ProjectBusy if another process holds it."""
    fd = try_lock(paths)
    if fd is None:
        raise ProjectBusy(
            f"project {paths.project} is being started or stopped by another corral command"
        )
    return fd


@contextlib.contextmanager
def held(paths: ProjectPaths) -> Iterator[None]:
    """The lock for the block; ProjectBusy if another process holds it."""
    fd = acquire(paths)
    try:
        yield
    finally:
        os.close(fd)
