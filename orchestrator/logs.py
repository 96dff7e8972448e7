"""Container output: read from pipes, kept in per-container files, shown live.

Each line is written to the container's log file with a UTC timestamp and
its stream, and, when the stack runs in the foreground, to the terminal
prefixed with the container's name. A pump reads its pipe to the end, so a
line written just before the container exits is never lost; a last line
without a newline is kept too.
"""

import datetime
import os
from pathlib import Path
from typing import IO

import trio

from orchestrator.logconfig import get_logger
from runtime.private import open_private_append, private_directory

_log = get_logger("corral")
_CHUNK = 65536


class ContainerLog:
    """Where one container's lines go.

    A line that cannot be written is dropped, as Docker drops it, and the
    container runs on: a full disk stops the log file until there is room
    again, and a terminal or pipe that went away (`corral up | grep x`
    after Ctrl-C) is not written to any more.
    """

    def __init__(self, name: str, file: IO[bytes], console: IO[str] | None, width: int) -> None:
        self.name = name
        self._file = file
        self._console = console
        self._prefix = f"{name:<{width}} | "
        self._dropping = False

    def write_line(self, stream: str, text: str) -> None:
        stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds")
        try:
            _write_all(self._file, f"{stamp} {stream} {text}\n".encode())
        except OSError as exc:
            if not self._dropping:
                self._dropping = True
                _warn("cannot write the log file; dropping lines", self.name, exc)
        else:
            self._dropping = False
        if self._console is not None:
            try:
                self._console.write(f"{self._prefix}{text}\n")
                self._console.flush()
            except OSError as exc:
                self._console = None
                _warn("cannot write to the terminal; no more output there", self.name, exc)

    def close(self) -> None:
        self._file.close()


class LogSink:
    """Opens a ContainerLog per container, all sharing one console."""

    def __init__(self, console: IO[str] | None, width: int) -> None:
        self.console = console
        self.width = width

    def open(self, name: str, path: Path) -> ContainerLog:
        """The container's log, appended to without a buffer: a line is on
        disk when it has been written, and one that could not be is gone,
        not kept to reappear later out of its order."""
        private_directory(path.parent)
        file = os.fdopen(open_private_append(path), "ab", buffering=0)
        return ContainerLog(name, file, self.console, self.width)


async def pump(fd: int, stream: str, log: ContainerLog) -> None:
    """Read `fd` (taking ownership) to EOF, writing each line to `log`."""
    pending = b""
    async with trio.lowlevel.FdStream(fd) as pipe:
        while chunk := await pipe.receive_some(_CHUNK):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                log.write_line(stream, line.decode(errors="replace"))
    if pending:
        log.write_line(stream, pending.decode(errors="replace"))


def _write_all(file: IO[bytes], data: bytes) -> None:
    """Write all of `data` to an unbuffered file, which may take only part of
    it (a disk that fills up in the middle of a line)."""
    view = memoryview(data)
    while view:
        view = view[file.write(view) or 0 :]


def _warn(event: str, container: str, error: OSError) -> None:
    _log.warning(event, container=container, error=error.strerror or str(error))


def pipe_pair() -> tuple[int, int]:
    """A close-on-exec pipe (read end, write end)."""
    return os.pipe2(os.O_CLOEXEC)
