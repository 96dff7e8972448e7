"""The network a stack starts with, made by the `corral up -d` command for
its detached supervisor.

Why another process: the supervisor is the one that starts containers, and
its CPU time is what `up -d` waits for. pyroute2 costs ~80 ms to import and
each veth pair a few more milliseconds of Python, all holding the
supervisor's GIL, while the command that forked it sits idle once it has
handed the project over. So the command imports netplug's netlink side and
answers the supervisor's network requests (`serve_network`) until the
supervisor reports its stack up; the supervisor asks through
`RelayedNetwork`, whose calls go to its own `LocalNetwork` once the
relay is closed. Namespaces, files and teardown stay in the supervisor, and
removal finds every object by name whoever made it.

The command's side is `orchestrator.network_server`, which imports no Trio.
"""

import collections
import functools
import pickle
import socket
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Interface, IPv4Network
from typing import Any, Protocol

import trio

from netplug.bridge import ensure_bridge
from netplug.endpoint import EndpointRequest, attach
from netplug.errors import NetworkError
from netplug.ipam import networks_in_use
from orchestrator.network_server import LENGTH, frame


class NetworkOps(Protocol):
    """What starting a stack asks of the network."""

    async def networks_in_use(self) -> list[IPv4Network]: ...

    async def ensure_bridge(self, name: str, gateway: IPv4Interface, *, label: str) -> None: ...

    async def attach(self, request: EndpointRequest) -> None: ...

    async def close(self) -> None:
        """The stack has started: no more requests come."""


class LocalNetwork:
    """netplug in this process."""

    async def networks_in_use(self) -> list[IPv4Network]:
        return await networks_in_use()

    async def ensure_bridge(self, name: str, gateway: IPv4Interface, *, label: str) -> None:
        await ensure_bridge(name, gateway, label=label)

    async def attach(self, request: EndpointRequest) -> None:
        await attach(request)

    async def close(self) -> None:
        pass


class _Pending:
    """A request sent, waiting for its reply; replies come in request order."""

    def __init__(self) -> None:
        self.answered = False
        self.reply: bytes | None = None  # None: the command closed the relay
        self.lost = False  # the relay was given up before its reply came


class RelayedNetwork:
    """The supervisor's side: each call is answered by `serve_network` in the
    command until `close` (or a cancelled exchange gives the relay up);
    after it, by `fallback`.

    Requests are pipelined: a call sends its request at once, whatever is
    still unanswered, and the command answers them one after another, in
    order, without waiting for the supervisor between two (the ten veth
    pairs of a stack are asked for together). Whoever waits reads the next
    reply and hands it to the oldest pending request, which may be another's.
    """

    def __init__(self, sock: socket.socket, fallback: NetworkOps) -> None:
        self._stream: trio.SocketStream | None = trio.SocketStream(
            trio.socket.from_stdlib_socket(sock)
        )
        self._fallback = fallback
        self._send_lock = trio.Lock()
        self._receive_lock = trio.Lock()
        self._pending: collections.deque[_Pending] = collections.deque()

    async def networks_in_use(self) -> list[IPv4Network]:
        result: list[IPv4Network] = await self._call(
            "networks_in_use", (), self._fallback.networks_in_use
        )
        return result

    async def ensure_bridge(self, name: str, gateway: IPv4Interface, *, label: str) -> None:
        fallback = functools.partial(self._fallback.ensure_bridge, name, gateway, label=label)
        await self._call("ensure_bridge", (name, gateway, label), fallback)

    async def attach(self, request: EndpointRequest) -> None:
        await self._call("attach", (request,), functools.partial(self._fallback.attach, request))

    async def close(self) -> None:
        """Tell the command that no more requests come (it then waits for the report)."""
        async with self._send_lock, self._receive_lock:
            if self._stream is not None:
                stream, self._stream = self._stream, None
                await stream.aclose()

    async def _call(
        self, operation: str, args: tuple[object, ...], fallback: Callable[[], Awaitable[Any]]
    ) -> Any:
        pending = await self._send(frame((operation, args)))
        if pending is not None:
            await self._await_reply(pending)
        if pending is None:
            return await fallback()  # the relay was closed or given up before
        if pending.lost:
            # The command may still make it: making it here too could race.
            raise NetworkError(
                f"cannot set up the network ({operation}): the relay to the corral command"
                " was given up while the request was in flight"
            )
        if pending.reply is None:
            raise NetworkError(
                f"cannot set up the network ({operation}): the corral command making it exited"
            )
        ok, value = pickle.loads(pending.reply)
        if not ok:
            raise NetworkError(str(value))
        return value

    async def _send(self, request: bytes) -> _Pending | None:
        """Send a request; None when there is no relay to send it on."""
        async with self._send_lock:
            if self._stream is None:
                return None
            pending = _Pending()
            self._pending.append(pending)
            try:
                await self._stream.send_all(request)
            except trio.BrokenResourceError:
                pass  # its reply, None, is read like any other's
            except trio.ClosedResourceError:
                pass  # given up by another task meanwhile: `pending` is lost
            except BaseException:
                self._give_up()  # cancelled with part of a frame sent
                raise
            return pending

    async def _await_reply(self, pending: _Pending) -> None:
        while not pending.answered:
            async with self._receive_lock:
                if pending.answered or self._stream is None:
                    return
                try:
                    reply = await _receive_frame(self._stream)
                except trio.BrokenResourceError:
                    reply = None
                except trio.ClosedResourceError:
                    return  # given up by another task meanwhile: `pending` is lost
                except BaseException:
                    # Cancelled, perhaps with part of a frame read: the
                    # stream cannot be trusted to be at a frame's start.
                    self._give_up()
                    raise
                if reply is None:
                    while self._pending:
                        self._pending.popleft().answered = True
                else:
                    oldest = self._pending.popleft()
                    oldest.answered, oldest.reply = True, reply

    def _give_up(self) -> None:
        """Stop using the relay: later requests go to the fallback; those
        still pending fail, since the command may yet make them."""
        if self._stream is not None:
            self._stream.socket.close()
            self._stream = None
        while self._pending:
            lost = self._pending.popleft()
            lost.answered = lost.lost = True


async def _receive_frame(stream: trio.SocketStream) -> bytes | None:
    """One framed message, or None at the end of the stream."""
    header = await _receive_exactly(stream, LENGTH.size)
    if header is None:
        return None
    (length,) = LENGTH.unpack(header)
    return await _receive_exactly(stream, length)


async def _receive_exactly(stream: trio.SocketStream, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = await stream.receive_some(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
