"""A real HTTP/1.1 server on 127.0.0.1, in a thread, answering with a function.

Tests of the registry client talk to it over loopback as they would to a
registry: keep-alive, chunked bodies, connections cut short. Each request is
recorded; `handle(request)` returns the Reply.
"""

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with the query
    headers: dict[str, str]  # names in lower case


@dataclass
class Reply:
    status: int = 200
    # A list of pairs may repeat a name, as several WWW-Authenticate lines do.
    headers: Mapping[str, str] | list[tuple[str, str]] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""  # an iterable is sent chunked
    cut_after: int | None = None  # close the connection after this many body bytes
    close: bool = False  # close the connection after the reply, without saying so


Handler = Callable[[Request], Reply]


@dataclass
class FakeServer:
    host: str  # 127.0.0.1:PORT
    requests: list[Request]
    connections: list[int]  # one entry per accepted connection

    @property
    def url(self) -> str:
        return f"http://{self.host}"


@contextmanager
def serve(handle: Handler) -> Iterator[FakeServer]:
    requests: list[Request] = []
    connections: list[int] = []

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            connections.append(1)

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._answer()

        def do_HEAD(self) -> None:
            self._answer()

        def _answer(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            request = Request(self.command, self.path, headers)
            requests.append(request)
            reply = handle(request)
            self.send_response(reply.status)
            fields = reply.headers
            pairs = list(fields.items()) if isinstance(fields, Mapping) else fields
            for name, value in pairs:
                self.send_header(name, value)
            if isinstance(reply.body, bytes):
                if "content-length" not in {name.lower() for name, _ in pairs}:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self._write([reply.body], reply.cut_after, chunked=False)
            else:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self._write(reply.body, reply.cut_after, chunked=True)
            if reply.close:
                self.close_connection = True

        def _write(self, parts: Iterable[bytes], cut_after: int | None, *, chunked: bool) -> None:
            sent = 0
            for part in parts:
                if cut_after is not None and sent + len(part) >= cut_after:
                    part = part[: cut_after - sent]
                    self.wfile.write(f"{len(part):x}\r\n".encode() + part if chunked else part)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                sent += len(part)
                self.wfile.write(
                    f"{len(part):x}\r\n".encode() + part + b"\r\n" if chunked else part
                )
            if chunked:
                self.wfile.write(b"0\r\n\r\n")

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeServer(f"127.0.0.1:{server.server_address[1]}", requests, connections)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
