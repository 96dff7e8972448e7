"""The CLI's side of the control socket: plain blocking sockets, so asking
a supervisor needs no event loop."""

import json
import socket
from collections.abc import Sequence
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
        try:
            answer = _exchange(client, json.dumps(message).encode() + b"\n", fds)
        except TimeoutError:
            raise ControlError(
                f"the supervisor on {path} did not answer within {timeout} s"
            ) from None
        if not answer.endswith(b"\n"):
            raise ControlError(f"the supervisor on {path} closed the connection")
    reply: dict[str, Any] = json.loads(answer)
    if "error" in reply:
        raise ControlError(reply["error"])
    return reply


def _exchange(client: socket.socket, payload: bytes, fds: Sequence[int]) -> bytes:
    """Send the request, with `fds`; the answer, which ends with a newline
    unless the supervisor closed the connection first."""
    if fds:
        socket.send_fds(client, [payload], list(fds))
    else:
        client.sendall(payload)
    answer = b""
    while not answer.endswith(b"\n"):
        chunk = client.recv(65536)
        if not chunk:
            break
        answer += chunk
    return answer
