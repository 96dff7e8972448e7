"""The CLI's side of the control socket: plain blocking sockets, so asking
a supervisor needs no event loop."""

import contextlib
import json
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from orchestrator.control.address import socket_address
from orchestrator.errors import ControlError, NotRunning

ANSWER_TIMEOUT = 30.0
"""Seconds a supervisor may take to answer; it answers at once unless it is
stuck (its terminal stopped with Ctrl-S, say)."""


def request(
    path: Path,
    message: dict[str, Any],
    fds: Sequence[int] = (),
    timeout: float | None = ANSWER_TIMEOUT,
) -> dict[str, Any]:
    """Send one request and wait for its answer (None: as long as it takes);
    NotRunning if nobody listens."""
    with sent(path, message, fds, timeout) as client:
        try:
            answer = _receive(client)
        except TimeoutError:
            raise ControlError(
                f"the supervisor on {path} did not answer within {timeout} s"
            ) from None
    return reply(path, answer)


@contextlib.contextmanager
def sent(
    path: Path,
    message: dict[str, Any],
    fds: Sequence[int] = (),
    timeout: float | None = None,
) -> Iterator[socket.socket]:
    """The connection on which `message` (with `fds`) was sent, for a caller
    that reads the answer itself and gives it to `reply`; closing it before
    the answer cancels the request. NotRunning if nobody listens."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(timeout)
    with client:
        try:
            with socket_address(path) as address:
                client.connect(address)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise NotRunning(f"no supervisor answers on {path}") from exc
        except OSError as exc:
            raise ControlError(f"cannot reach the supervisor on {path}: {exc}") from exc
        payload = json.dumps(message).encode() + b"\n"
        try:
            if fds:
                socket.send_fds(client, [payload], list(fds))
            else:
                client.sendall(payload)
        except OSError as exc:  # the supervisor went away meanwhile
            raise ControlError(f"cannot reach the supervisor on {path}: {exc}") from exc
        yield client


def reply(path: Path, answer: bytes) -> dict[str, Any]:
    """The answer read from the supervisor on `path`, which ends with a
    newline unless it closed the connection first."""
    if not answer.endswith(b"\n"):
        raise ControlError(f"the supervisor on {path} closed the connection")
    message: dict[str, Any] = json.loads(answer)
    if "error" in message:
        raise ControlError(message["error"])
    return message


def _receive(client: socket.socket) -> bytes:
    answer = b""
    while not answer.endswith(b"\n"):
        chunk = client.recv(65536)
        if not chunk:
            break
        answer += chunk
    return answer
