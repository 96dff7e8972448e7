"""The command's side of the network relay (see `orchestrator.network_relay`):
`corral up -d` answers its detached supervisor's network requests with
netplug's blocking calls. Imports neither Trio nor, until it serves,
pyroute2, so the command pays for pyroute2 alone, after it has handed the
project over.

Messages are pickled and framed by their length as 4 bytes: a request is
(operation, arguments), a reply (True, result) or (False, message).
"""

import os
import pickle
import select
import socket
import struct
from collections.abc import Callable, Mapping
from typing import Any

from netplug.errors import NetworkError
from orchestrator.uncollected import uncollected

LENGTH = struct.Struct("!I")
"""The frame header: the length of the pickled message that follows."""


def frame(message: object) -> bytes:
    data = pickle.dumps(message)
    return LENGTH.pack(len(data)) + data


def relay_pair() -> tuple[socket.socket, socket.socket]:
    """The command's end and the supervisor's end, neither inherited by an exec."""
    command_end, supervisor_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    for end in (command_end, supervisor_end):
        os.set_inheritable(end.fileno(), False)
    return command_end, supervisor_end


def netplug_operations() -> Mapping[str, Callable[..., Any]]:
    """The requests `serve_network` answers, by name: netplug's blocking calls.
    Importing them imports pyroute2, which is the point of doing it here."""
    with uncollected():
        from netplug._netlink import iproute
        from netplug.bridge import ensure_bridge_blocking
        from netplug.endpoint import attach_blocking
        from netplug.ipam import networks_in_use_blocking

        iproute().close()  # import all of pyroute2 now, while the supervisor starts
    return {
        "networks_in_use": networks_in_use_blocking,
        "ensure_bridge": ensure_bridge_blocking,
        "attach": attach_blocking,
    }


def serve_network(
    sock: socket.socket,
    report_fd: int,
    operations: Callable[[], Mapping[str, Callable[..., Any]]] = netplug_operations,
) -> None:
    """Answer the supervisor's requests on `sock`, one at a time, until it
    closes its end or its report can be read from `report_fd` (the report is
    left there to read). A failed operation is answered with its message."""
    try:
        answers = operations()
    except Exception as exc:  # noqa: BLE001 - every request is answered with it
        unavailable = f"cannot make the network: {exc!r}"
        answers = {}
    else:
        unavailable = ""
    while True:
        readable, _, _ = select.select([sock.fileno(), report_fd], [], [])
        if report_fd in readable:
            return
        try:
            request = _receive_frame(sock)
        except OSError:
            request = None
        if request is None:
            return  # the supervisor closed the relay, gave it up or exited
        operation, args = pickle.loads(request)
        try:
            if unavailable:
                raise NetworkError(unavailable)
            reply: tuple[bool, object] = (True, answers[operation](*args))
        except NetworkError as exc:
            reply = (False, str(exc))
        except Exception as exc:  # noqa: BLE001 - the supervisor reports it, as a network error
            reply = (False, f"cannot set up the network ({operation}): {exc!r}")
        try:
            sock.sendall(frame(reply))
        except OSError:
            return


def _receive_frame(sock: socket.socket) -> bytes | None:
    header = _receive_exactly(sock, LENGTH.size)
    if header is None:
        return None
    (length,) = LENGTH.unpack(header)
    return _receive_exactly(sock, length)


def _receive_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
