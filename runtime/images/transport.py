"""A small HTTP/1.1 client for the registry API: sockets, and ssl only for https.

Why not http.client or httpx: http.client imports the email package (about
25 ms), httpx its async stack (more than 60 ms), and a warm `corral image
pull` must fit in 100 ms, of which Python's own start takes 30. The registry
API needs little: GET and HEAD with a few headers, bodies sized by
Content-Length, chunked, or ended by the server closing the connection.

Connections are kept alive and pooled per origin, shared by the worker
threads of a pull; a pooled connection that the server closed in the
meantime is retried once on a new one. TLS uses the system trust store (so
SSL_CERT_FILE applies); its context is made for the first https connection.
A failed connection, a timeout or a malformed response is a TransportError;
redirects and retries are the caller's business.

An origin may be reached through an HTTP proxy (which one, the caller's
`proxy` function says): an https origin through a CONNECT tunnel, with TLS to
the origin inside it; an http origin by requests in absolute form sent to the
proxy. A proxied connection serves its one origin, and is pooled as such.
"""

import socket
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, BinaryIO, NamedTuple, cast

if TYPE_CHECKING:
    import ssl

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
_MAX_LINE = 65_536
_MAX_HEADERS = 128
_NO_BODY = frozenset({204, 304})
_DRAINED = 65_536  # a body this small is read to keep its connection, rather than closed


class TransportError(Exception):
    """The connection failed or timed out, or did not carry a valid HTTP response."""


class ConnectError(TransportError):
    """No connection could be opened (refused, unreachable, timed out)."""


class HandshakeError(TransportError):
    """The TLS handshake failed for another reason than the certificate: the
    server may not speak TLS at all."""


class _Dropped(TransportError):
    """The server closed the connection before answering: on a connection that was
    idle in the pool, it closed it meanwhile."""


class ProxyAuthenticationError(TransportError):
    """The proxy wants credentials (HTTP 407), or refused those it was given."""


class CertificateError(TransportError):
    """The server's TLS certificate is not trusted; `reason` says why."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host}: the TLS certificate is not trusted: {reason}")
        self.reason = reason


class Origin(NamedTuple):  # half a dataclass's cost to define, on every pull's path
    scheme: str  # "http" or "https"
    host: str  # host[:port] as a URL writes it ("[::1]:5000" for IPv6)

    @property
    def address(self) -> tuple[str, int]:
        default = 443 if self.scheme == "https" else 80
        if self.host.startswith("["):
            name, _, rest = self.host[1:].partition("]")
            return name, int(rest[1:]) if rest.startswith(":") else default
        name, colon, port = self.host.rpartition(":")
        return (name, int(port)) if colon and port.isdigit() else (self.host, default)


class Proxy(NamedTuple):
    origin: Origin  # the proxy's own, http
    authorization: str | None  # a Proxy-Authorization value


def _direct(origin: Origin) -> Proxy | None:
    return None


def split_url(url: str) -> tuple[Origin, str]:
    """(origin, request target) of an absolute http(s) URL; ValueError otherwise."""
    scheme, separator, rest = url.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url!r}")
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    host, target = rest[:end], rest[end:].partition("#")[0]
    if not host or "@" in host:
        raise ValueError(f"not a usable http(s) URL: {url!r}")
    return Origin(scheme, host), target if target.startswith("/") else f"/{target}"


class _Connection:
    def __init__(self, origin: Origin, sock: socket.socket) -> None:
        self.origin = origin
        self.sock = sock
        self.file: BinaryIO = sock.makefile("rb")

    def close(self) -> None:
        self.file.close()
        self.sock.close()


class _Head(NamedTuple):
    status: int
    headers: dict[str, str]  # names in lower case; repeated ones joined by ", "
    fields: list[tuple[str, str]]  # (name in lower case, value), one per header line
    keep_alive: bool  # whether the connection stays open after the body


class Response:
    """A response whose body is read on demand; `close` it (or read it to the end)
    so that its connection goes back to the pool."""

    def __init__(
        self,
        transport: "Transport",
        connection: _Connection,
        head: _Head,
        *,
        length: int | None,
        chunked: bool,
    ) -> None:
        self.status = head.status
        self.headers = head.headers  # names in lower case; repeated ones joined by ", "
        self._fields = head.fields
        self._transport = transport
        self._connection: _Connection | None = connection
        self._chunked = chunked
        self._left = length  # left in the body or chunk (0 before the first); None: to the end
        self._after_chunk = False  # a chunk's data was read: its CRLF comes next
        self._reusable = head.keep_alive and (chunked or length is not None)
        self._ended = False
        if length == 0 and not chunked:
            self._end()

    def header(self, name: str) -> str:
        return self.headers.get(name, "")

    def header_values(self, name: str) -> list[str]:
        """Each value of header `name` (lower case) as its own line gave it: for headers
        such as WWW-Authenticate, whose values cannot be told apart once joined."""
        return [value for key, value in self._fields if key == name]

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes of the body (all of it for -1); b"" once it has ended."""
        if size < 0:
            parts = []
            while part := self.read(1 << 20):
                parts.append(part)
            return b"".join(parts)
        while not self._ended:
            if self._chunked and self._left == 0:
                self._next_chunk()
                continue
            data = self._read_raw(size if self._left is None else min(size, self._left))
            if self._left is None:
                if not data:
                    self._end()
                return data
            if not data:
                raise self._fail("the server closed the connection in the middle of a body")
            self._left -= len(data)
            if self._left == 0 and not self._chunked:
                self._end()
            return data
        return b""

    def close(self) -> None:
        """Give the connection back once the body is read to its end (a small one,
        such as an error's, is read now), else close it."""
        # A body of unknown length ends only when the server closes: never drained.
        small = self._left is not None and self._left <= _DRAINED
        if not self._ended and not self._chunked and self._reusable and small:
            try:
                while self.read(_DRAINED):
                    pass
            except TransportError:
                pass  # _fail closed the connection
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
        self._ended = True

    def _next_chunk(self) -> None:
        if self._after_chunk and self._readline() not in (b"\r\n", b"\n"):
            raise self._fail("a chunk of the body does not end with CRLF")
        line = self._readline()
        digits = line.split(b";", 1)[0].strip()
        if not digits or digits.strip(b"0123456789abcdefABCDEF"):
            raise self._fail(f"malformed chunk size {line[:40]!r}")
        self._left = int(digits, 16)
        self._after_chunk = True
        if self._left == 0:
            while self._readline() not in (b"\r\n", b"\n"):
                pass  # trailer fields
            self._end()

    def _read_raw(self, size: int) -> bytes:
        assert self._connection is not None
        try:
            return self._connection.file.read(size)
        except OSError as exc:
            raise self._fail(_describe(exc)) from exc

    def _readline(self) -> bytes:
        assert self._connection is not None
        try:
            line = self._connection.file.readline(_MAX_LINE)
        except OSError as exc:
            raise self._fail(_describe(exc)) from exc
        if not line.endswith(b"\n"):
            raise self._fail("the server closed the connection in the middle of a body")
        return line

    def _end(self) -> None:
        self._ended = True
        connection, self._connection = self._connection, None
        if connection is not None and self._reusable:
            self._transport.release(connection)
        elif connection is not None:
            connection.close()

    def _fail(self, message: str) -> TransportError:
        connection, self._connection = self._connection, None
        self._ended = True
        assert connection is not None
        connection.close()
        return TransportError(f"{connection.origin.host}: {message}")


class Transport:
    """Connections to any number of origins, for any number of threads."""

    def __init__(
        self,
        *,
        user_agent: str = "corral",
        proxy: Callable[[Origin], Proxy | None] = _direct,
    ) -> None:
        self._user_agent = user_agent
        self._proxy = proxy  # the proxy to reach an origin through, if any
        self._idle: dict[Origin, list[_Connection]] = {}
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None

    def request(self, method: str, url: str, headers: Mapping[str, str]) -> Response:
        """Send one request and read the response's head; the body is left to read."""
        origin, target = split_url(url)
        proxy = self._proxy(origin)
        if proxy is not None and origin.scheme == "http":  # else it is tunnelled
            target = f"http://{origin.host}{target}"
            if proxy.authorization:
                headers = {**headers, "Proxy-Authorization": proxy.authorization}
        head = [f"{method} {target} HTTP/1.1", f"Host: {origin.host}"]
        head += [f"User-Agent: {self._user_agent}", "Accept-Encoding: identity"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        message = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        pooled = self._take(origin)
        if pooled is not None:
            try:
                return self._exchange(pooled, method, message)
            except _Dropped:
                pass  # the server closed this idle connection meanwhile: once more, afresh
        return self._exchange(self._connect(origin, proxy), method, message)

    def release(self, connection: _Connection) -> None:
        with self._lock:
            self._idle.setdefault(connection.origin, []).append(connection)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def _take(self, origin: Origin) -> _Connection | None:
        with self._lock:
            connections = self._idle.get(origin)
            return connections.pop() if connections else None

    def _connect(self, origin: Origin, proxy: Proxy | None) -> _Connection:
        peer = origin if proxy is None else proxy.origin
        try:
            # An ASCII name goes as bytes (which getaddrinfo takes, whatever the
            # stubs say): to encode a str, it would import the idna codec.
            name, port = peer.address
            host = cast(str, name.encode()) if name.isascii() else name
            sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            through = "" if proxy is None else f"proxy {peer.host} (for {origin.host})"
            raise ConnectError(
                f"cannot connect to {through or origin.host}: {_describe(exc)}"
            ) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if proxy is not None and origin.scheme == "https":
                _tunnel(sock, origin, proxy)
            if origin.scheme == "https":
                sock = self._handshake(sock, origin)  # still within CONNECT_TIMEOUT
            sock.settimeout(READ_TIMEOUT)
        except BaseException:
            sock.close()
            raise
        return _Connection(origin, sock)

    def _handshake(self, sock: socket.socket, origin: Origin) -> socket.socket:
        import ssl

        with self._lock:
            if self._tls is None:
                self._tls = ssl.create_default_context()
            context = self._tls
        try:
            return context.wrap_socket(sock, server_hostname=origin.address[0])
        except ssl.SSLCertVerificationError as exc:
            raise CertificateError(origin.host, exc.verify_message or str(exc)) from exc
        except ssl.SSLError as exc:
            raise HandshakeError(f"{origin.host}: TLS handshake failed: {exc}") from exc
        except OSError as exc:
            raise TransportError(f"{origin.host}: TLS handshake failed: {_describe(exc)}") from exc

    def _exchange(self, connection: _Connection, method: str, message: bytes) -> Response:
        host = connection.origin.host
        try:
            connection.sock.sendall(message)
            head = _read_head(connection.file, host)
            while 100 <= head.status < 200:  # an interim response: the real one follows
                head = _read_head(connection.file, host)
        except (BrokenPipeError, ConnectionResetError) as exc:
            connection.close()
            raise _Dropped(f"{host}: {_describe(exc)}") from exc
        except OSError as exc:
            connection.close()
            raise TransportError(f"{host}: {_describe(exc)}") from exc
        except TransportError:
            connection.close()
            raise
        chunked = False
        length: int | None = 0
        if method != "HEAD" and head.status not in _NO_BODY:
            chunked = "chunked" in head.headers.get("transfer-encoding", "").lower()
            length = 0 if chunked else _content_length(head.headers.get("content-length"))
            if length == -1:
                connection.close()
                raise TransportError(f"{host}: malformed Content-Length")
        return Response(self, connection, head, length=length, chunked=chunked)


def _tunnel(sock: socket.socket, origin: Origin, proxy: Proxy) -> None:
    """Have `proxy`, connected on `sock`, open a tunnel to `origin` (CONNECT)."""
    name, port = origin.address
    authority = f"[{name}]:{port}" if ":" in name else f"{name}:{port}"
    head = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    if proxy.authorization:
        head.append(f"Proxy-Authorization: {proxy.authorization}")
    try:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        # Unbuffered: not one byte past the reply's head (the TLS handshake's) may be read.
        with sock.makefile("rb", buffering=0) as file:
            reply = _read_head(cast(BinaryIO, file), proxy.origin.host)
    except OSError as exc:
        raise ConnectError(
            f"proxy {proxy.origin.host}: no tunnel to {origin.host}: {_describe(exc)}"
        ) from exc
    if reply.status == 407:
        refused = "refused the credentials" if proxy.authorization else "requires authentication"
        raise ProxyAuthenticationError(
            f"proxy {proxy.origin.host} {refused} (HTTP 407): set them in the proxy's URL,"
            " http://user:password@host:port"
        )
    if not 200 <= reply.status < 300:
        raise ConnectError(
            f"proxy {proxy.origin.host} opened no tunnel to {origin.host}: HTTP {reply.status}"
        )


def _read_head(file: BinaryIO, host: str) -> _Head:
    """The status line and header fields of a response."""
    line = file.readline(_MAX_LINE)
    if not line:
        raise _Dropped(f"{host}: the server closed the connection without a response")
    version, _, rest = line.decode("latin-1").rstrip("\r\n").partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise TransportError(f"{host}: not an HTTP response: {line[:60]!r}")
    headers: dict[str, str] = {}
    fields: list[tuple[str, str]] = []
    for _ in range(_MAX_HEADERS):
        field = file.readline(_MAX_LINE)
        if field in (b"\r\n", b"\n"):
            break
        if not field.endswith(b"\n"):
            raise TransportError(f"{host}: the response head is cut short or too long")
        name, colon, value = field.decode("latin-1").partition(":")
        if not colon:
            raise TransportError(f"{host}: malformed header line {field[:60]!r}")
        key, value = name.strip().lower(), value.strip()
        fields.append((key, value))
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    else:
        raise TransportError(f"{host}: the response has more than {_MAX_HEADERS} headers")
    tokens = {token.strip().lower() for token in headers.get("connection", "").split(",")}
    keep_alive = "keep-alive" in tokens if version == "HTTP/1.0" else "close" not in tokens
    return _Head(int(code), headers, fields, keep_alive)


def _content_length(value: str | None) -> int | None:
    """The body's length; None if not given (the body ends with the connection), -1 if
    malformed."""
    if value is None:
        return None
    lengths = {item.strip() for item in value.split(",")}
    length = lengths.pop()
    return int(length) if not lengths and length.isdigit() else -1


def _describe(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or str(exc) or type(exc).__name__
