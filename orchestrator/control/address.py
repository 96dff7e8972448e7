"""A control socket's address, whatever the length of its path.

A Unix socket's address holds at most 107 bytes of path, and a project's
run directory (its name, or a long CORRAL_RUN_ROOT) can make the path longer.
Such a path is reached through the directory opened first:
`/proc/self/fd/<n>/control.sock` names the same socket and is short.
"""

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

MAX_PATH = 107
"""sun_path is 108 bytes, the last one a NUL."""


@contextlib.contextmanager
def socket_address(path: Path) -> Iterator[str]:
    """An address for bind or connect of `path`, valid inside the block."""
    if len(os.fsencode(path)) <= MAX_PATH:
        yield str(path)
        return
    directory = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{directory}/{path.name}"
    finally:
        os.close(directory)
