"""The CLI's side of the control socket: plain blocking sockets, so asking
a supervisor needs no event loop."""

import json
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from orchestrator.control.address import socket_address
from orchestrator.errors import ControlError, NotRunning


def request(path: Path, message: dict[str, Any], fds: Sequence[int] = ()) -> dict[str, Any]:
    """Send one request and wait for its answer; NotRunning if nobody listens."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with client:
        try:
            with socket_address(path) as address:
                client.connect(address)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise NotRunning(f"no supervisor answers on {path}") from exc
        except OSError as exc:
            raise ControlError(f"cannot reach the supervisor on {path}: {exc.strerror}") from exc
        payload = json.dumps(message).encode() + b"\n"
        if fds:
            socket.send_fds(client, [payload], list(fds))
        else:
            client.sendall(payload)
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = client.recv(65536)
            if not chunk:
                raise ControlError(f"the supervisor on {path} closed the connection")
            answer += chunk
    reply: dict[str, Any] = json.loads(answer)
    if "error" in reply:
        raise ControlError(reply["error"])
    return reply


def is_alive(path: Path) -> bool:
    """Whether a supervisor accepts connections on `path`."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with probe:
        try:
            with socket_address(path) as address:
                probe.connect(address)
        except OSError:
            return False
    return True
