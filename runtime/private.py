"""Directories and files that only root can reach.

Corral runs as root, and its roots hold what containers write: a setuid
binary a container made, its environment (passwords) in config.json, its
output. A host user who can traverse to them can run or read them (Docker's
CVE-2021-41091), so every directory Corral makes on the way to them is 0700
and every file it writes there is 0600. The roots are tightened when they
already exist with looser bits, so an older installation is closed on its
next run.

The modes are set explicitly rather than through the umask: a container's
own directories (the overlay's upper directory, which becomes its `/`, and
its volumes) must keep their usual modes for the container's non-root users.
"""

import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_directory(path: Path) -> Path:
    """Make `path` and any missing parents with mode 0700; tighten `path`
    itself to 0700 if it exists with bits for its group or others."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, PRIVATE_DIR)
        except FileExistsError:
            pass  # made meanwhile by another process: tightened below if it is `path`
        os.chmod(directory, PRIVATE_DIR)  # mkdir's mode passes through the umask
    mode = os.stat(path).st_mode
    if stat.S_IMODE(mode) & 0o077:
        os.chmod(path, stat.S_IMODE(mode) & ~0o077)
    return path


def write_private_file(path: Path, data: bytes) -> None:
    """Write `path` whole, mode 0600, atomically (a crash never leaves half a file)."""
    partial = path.with_name(f"{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.chmod(partial, PRIVATE_FILE)  # an older, looser partial file
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def open_private_append(path: Path) -> int:
    """A descriptor appending to `path`, made 0600 if new (tightened if not)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    return fd
