"""The supervisor's side of the control socket."""

import array
import contextlib
import json
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

from orchestrator.control.address import socket_address
from runtime.private import private_directory

_MAX_REQUEST = 1 << 20
_FDS_PER_REQUEST = 3

Handler = Callable[[dict[str, Any], list[int]], Awaitable[dict[str, Any]]]


async def serve(
    path: Path, handler: Handler, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Answer requests on `path` until cancelled; the socket file is removed."""
    private_directory(path.parent)
    _remove_socket(path)
    listener = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with socket_address(path) as address:
            await listener.bind(address)
        os.chmod(path, 0o600)
        listener.listen(16)
        task_status.started()
        async with trio.open_nursery() as nursery:
            while True:
                connection, _ = await listener.accept()
                nursery.start_soon(_answer, connection, handler)
    finally:
        listener.close()
        _remove_socket(path)


def _remove_socket(path: Path) -> None:
    path.unlink(missing_ok=True)


async def _answer(connection: trio.socket.SocketType, handler: Handler) -> None:
    with connection:
        fds: list[int] = []
        data = b""
        while not data.endswith(b"\n") and len(data) < _MAX_REQUEST:
            chunk, ancillary, _, _ = await connection.recvmsg(
                65536, socket.CMSG_SPACE(_FDS_PER_REQUEST * 4), socket.MSG_CMSG_CLOEXEC
            )
            if not chunk:
                break
            data += chunk
            fds += _received_fds(ancillary)
        try:
            if not data:  # a liveness probe, or a client that gave up
                return
            reply = await _unless_hung_up(connection, _answering(handler, data, fds))
        finally:
            for fd in fds:
                os.close(fd)
        if reply is None:
            return
        try:
            await _send_all(connection, json.dumps(reply).encode() + b"\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away; nothing is owed to it


async def _answering(handler: Handler, data: bytes, fds: list[int]) -> dict[str, Any]:
    try:
        return await handler(json.loads(data), fds)
    except Exception as exc:  # noqa: BLE001 - every failure is an answer to the client
        return {"error": str(exc) or type(exc).__name__}


async def _unless_hung_up(
    connection: trio.socket.SocketType, answer: Awaitable[dict[str, Any]]
) -> dict[str, Any] | None:
    """`answer`, cancelled (None) if the client closes the connection first:
    an `exec` whose caller is gone (Ctrl-C) stops its command."""
    reply = None
    async with trio.open_nursery() as nursery:

        async def until_hung_up() -> None:
            with contextlib.suppress(OSError):
                while await connection.recv(4096):
                    pass  # a client sends nothing after its request
            nursery.cancel_scope.cancel()

        nursery.start_soon(until_hung_up)
        reply = await answer
        nursery.cancel_scope.cancel()
    return reply


async def _send_all(connection: trio.socket.SocketType, data: bytes) -> None:
    view = memoryview(data)
    while view:
        sent = await connection.send(view)
        view = view[sent:]


def _received_fds(ancillary: list[tuple[int, int, bytes]]) -> list[int]:
    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            received = array.array("i")
            received.frombytes(payload[: len(payload) - len(payload) % received.itemsize])
            fds += received.tolist()
    return fds
