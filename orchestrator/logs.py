"""Container output: read from pipes, kept in per-container files, shown live.

Each line is written to the container's log file with a UTC timestamp, its
stream and a tag, as the Kubernetes CRI log format writes it:

    2024-05-01T10:00:00.000000+00:00 stdout F hello

A line longer than 16 KiB is cut, as Docker's log copier cuts it, into
pieces: every piece but the last is tagged `P` (partial), the last `F`
(full), and a reader joins a stream's P pieces to its next F piece. So the
supervisor holds at most 16 KiB and one read chunk of a stream, whatever a
container prints, and scans each byte once. A cut never splits a UTF-8
character: it moves back to the character's first byte.

When the stack runs in the foreground, each piece is also shown on the
terminal, on a line of its own prefixed with the container's name. A pump
reads its pipe to the end, so a line written just before the container
exits is never lost; a last line without a newline is kept too.
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
PIECE = 16 * 1024
"""The longest piece of a line written whole: Docker's (its log copier's buffer)."""


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

    def write_line(self, stream: str, text: str, *, partial: bool = False) -> None:
        """Write a line, or a piece of one (`partial`) that later pieces continue."""
        stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds")
        tag = "P" if partial else "F"
        try:
            _write_all(self._file, f"{stamp} {stream} {tag} {text}\n".encode())
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


Piece = tuple[bytes, bool]
"""A line or a piece of one, and whether more pieces of it follow (partial).
A plain tuple: most lines are short, and one is made for each."""


class LineSplitter:
    """One stream's bytes in, lines and pieces of lines out (sans-I/O).

    Each chunk fed is scanned once; what is held between chunks is the start
    of a line that has not ended yet, at most PIECE bytes of it.
    """

    def __init__(self) -> None:
        self._held = b""

    def feed(self, chunk: bytes) -> list[Piece]:
        *ended, rest = chunk.split(b"\n")
        if ended:
            ended[0] = self._held + ended[0]
        else:
            rest = self._held + rest
        pieces: list[Piece] = []
        for line in ended:
            if len(line) > PIECE:
                line = _cut(line, pieces)
            pieces.append((line, False))
        self._held = _cut(rest, pieces)
        return pieces

    def end(self) -> Piece | None:
        """The last line, when the stream ended without a newline."""
        held, self._held = self._held, b""
        return (held, False) if held else None


def _cut(data: bytes, pieces: list[Piece]) -> bytes:
    """Append partial pieces cut off the start of `data` while more than
    PIECE bytes are left; return what is left."""
    begin = 0
    while len(data) - begin > PIECE:
        cut = _character_start(data, begin + PIECE)
        pieces.append((data[begin:cut], True))
        begin = cut
    return data[begin:] if begin else data


def _character_start(data: bytes, cut: int) -> int:
    """`cut`, or the first byte of the UTF-8 character a cut there would
    split. Bytes that are not UTF-8 are cut at `cut`."""
    for back in range(1, 4):
        byte = data[cut - back]
        if byte < 0x80:
            return cut
        if byte >= 0xC0:  # the first byte of a character of 2, 3 or 4 bytes
            length = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return cut - back if length > back else cut
    return cut


async def pump(fd: int, stream: str, log: ContainerLog) -> None:
    """Read `fd` (taking ownership) to EOF, writing each line to `log`."""
    splitter = LineSplitter()
    async with trio.lowlevel.FdStream(fd) as pipe:
        while chunk := await pipe.receive_some(_CHUNK):
            for data, partial in splitter.feed(chunk):
                log.write_line(stream, data.decode(errors="replace"), partial=partial)
    if (last := splitter.end()) is not None:
        log.write_line(stream, last[0].decode(errors="replace"))


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
