"""`corral exec`'s stdio, copied through pipes of its own.

The OCI runtime takes the stdio it is given for the container's own: crun
fchowns it to the container's user. Were the caller's descriptors passed to
the supervisor, `corral exec svc cmd < in > out` would give the files `in`
and `out` to that user. So `corral exec` makes three pipes, sends the
supervisor only their far ends, and copies between its stdio and the pipes
here, in one poll loop (the CLI does not import Trio).

The caller's descriptors stay blocking: O_NONBLOCK belongs to the file
description, which the caller's shell shares. Each is read or written only
once poll says it is ready, and a write to it is at most PIPE_BUF bytes,
which a pipe that polls writable takes without blocking.

The command's exit ends the copying: the answer of the supervisor comes
after it, when everything the command wrote is in the pipes, so what they
hold then is copied and the rest (a background process's) is not waited for.
"""

import array
import fcntl
import os
import select
import socket
import termios
from types import TracebackType

_CHUNK = 65536
_READY = select.POLLIN | select.POLLOUT | select.POLLHUP | select.POLLERR


class _Copy:
    """Bytes from `source` to `sink`: into the command (the caller's stdin to
    a pipe of ours) or out of it (a pipe of ours to the caller's stdout or
    stderr). Our end is non-blocking and closed here; None is a side done."""

    def __init__(self, source: int, sink: int, *, into_command: bool) -> None:
        self.source: int | None = source
        self.sink: int | None = sink
        self.into_command = into_command
        self.sink_chunk = _CHUNK if into_command else select.PIPE_BUF
        self.pending = b""
        self.budget: int | None = None
        """Bytes left to read once the command has exited (None: until EOF)."""

    @property
    def done(self) -> bool:
        return self.sink is None or (self.source is None and not self.pending)

    def register(self, poll: select.poll) -> None:
        if self.sink is not None and self.pending:
            poll.register(self.sink, select.POLLOUT)
        elif self.sink is not None and self.source is not None:
            poll.register(self.source, select.POLLIN)

    def step(self, ready: dict[int, int]) -> None:
        """Read or write once, if poll found that side ready (`ready`: its
        events by descriptor)."""
        if self.sink is not None and self.pending:
            if ready.get(self.sink, 0) & _READY:
                self._write()
        elif self.source is not None and ready.get(self.source, 0) & _READY:
            self._read()

    def stop_at_exit(self) -> None:
        """The command has exited: nobody reads its stdin any more, and of
        its output only what its pipe holds now is still to be copied."""
        if self.into_command:
            self.pending = b""
            self._end_source()
            self._end_sink()
        elif self.source is not None:
            count = array.array("i", [0])
            fcntl.ioctl(self.source, termios.FIONREAD, count, True)
            self.budget = count[0]
            if not self.budget:
                self._end_source()

    def _read(self) -> None:
        assert self.source is not None
        size = _CHUNK if self.budget is None else min(_CHUNK, self.budget)
        try:
            data = os.read(self.source, size)
        except BlockingIOError:
            return
        except OSError:  # a terminal hung up, say: the end of the input
            data = b""
        self.pending = data
        if self.budget is not None:
            self.budget -= len(data)
        if not data or self.budget == 0:
            self._end_source()
            if not self.pending and self.into_command:
                self._end_sink()  # the command sees the end of its stdin

    def _write(self) -> None:
        assert self.sink is not None
        try:
            written = os.write(self.sink, self.pending[: self.sink_chunk])
        except BlockingIOError:
            return
        except OSError:  # the reader is gone (EPIPE), and what we had for it
            self.pending = b""
            self._end_sink()
            if not self.into_command:
                self._end_source()  # the command's next write fails too
            return
        self.pending = self.pending[written:]
        if not self.pending and self.source is None and self.into_command:
            self._end_sink()

    def _end_source(self) -> None:
        if self.source is not None and not self.into_command:
            os.close(self.source)
        self.source = None

    def _end_sink(self) -> None:
        if self.sink is not None and self.into_command:
            os.close(self.sink)
        self.sink = None

    def close(self) -> None:
        self._end_source()
        self._end_sink()


class ExecStreams:
    """The pipes of one exec. `remote` are the command's ends (its stdin's
    read end, its stdout's and stderr's write ends), for the supervisor."""

    def __init__(self) -> None:
        for fd in (0, 1, 2):
            _keep_open(fd)
        stdin_read, stdin_write = os.pipe2(os.O_CLOEXEC)
        stdout_read, stdout_write = os.pipe2(os.O_CLOEXEC)
        stderr_read, stderr_write = os.pipe2(os.O_CLOEXEC)
        self.remote: tuple[int, ...] = (stdin_read, stdout_write, stderr_write)
        for ours in (stdin_write, stdout_read, stderr_read):
            os.set_blocking(ours, False)
        self._copies = [
            _Copy(0, stdin_write, into_command=True),
            _Copy(stdout_read, 1, into_command=False),
            _Copy(stderr_read, 2, into_command=False),
        ]

    def close_remote(self) -> None:
        """Close our copies of the command's ends, once they are sent: its
        stdout then ends when the command (and what it left behind) is done."""
        for fd in self.remote:
            os.close(fd)
        self.remote = ()

    def copy(self, connection: socket.socket) -> bytes:
        """Copy until the supervisor's answer on `connection` (which comes
        when the command has exited) is in, and what the command wrote
        before is copied; the answer."""
        answer = b""
        answered = False
        while True:
            if answered and all(copy.done for copy in self._copies):
                return answer
            poll = select.poll()
            if not answered:
                poll.register(connection.fileno(), select.POLLIN)
            for copy in self._copies:
                copy.register(poll)
            ready = dict(poll.poll())
            if not answered and ready.get(connection.fileno(), 0):
                try:
                    chunk = connection.recv(_CHUNK)
                except OSError:  # the supervisor is gone
                    chunk = b""
                answer += chunk
                if not chunk or answer.endswith(b"\n"):
                    answered = True
                    for copy in self._copies:
                        copy.stop_at_exit()
            for copy in self._copies:
                copy.step(ready)

    def __enter__(self) -> "ExecStreams":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close_remote()
        for copy in self._copies:
            copy.close()


def _keep_open(fd: int) -> None:
    """A closed standard descriptor becomes /dev/null, so that no pipe of
    ours takes its number and is mistaken for the caller's."""
    try:
        os.fstat(fd)
    except OSError:
        opened = os.open(os.devnull, os.O_RDWR)
        if opened != fd:
            os.dup2(opened, fd)
            os.close(opened)
