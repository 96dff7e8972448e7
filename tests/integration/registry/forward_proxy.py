"""A forward HTTP proxy on loopback, as a site's proxy is: CONNECT tunnels for
https origins, requests in absolute form for http ones, and Basic proxy
authentication when it is given credentials.

It resolves the names of `hosts` itself: a registry on loopback named, say,
`registry.test` is reached only through it, since nothing else resolves that
name (and a loopback address would never be proxied). It records the first
request line of each client connection; the rest of a connection is relayed
byte for byte, later requests included (the registry, a Go server, takes
requests in absolute form too).
"""

import base64
import select
import socket
import socketserver
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class ForwardProxy:
    host: str  # 127.0.0.1:PORT
    requests: list[str]  # the first request line of each connection

    def url(self, userinfo: str = "") -> str:
        return f"http://{userinfo}{'@' if userinfo else ''}{self.host}"


@contextmanager
def forward_proxy(
    hosts: Mapping[str, str], credentials: str | None = None
) -> Iterator[ForwardProxy]:
    """A proxy resolving `hosts` (name -> address); with `credentials`
    ("user:password"), it answers 407 to requests without them."""
    requests: list[str] = []
    expected = (
        None if credentials is None else f"Basic {base64.b64encode(credentials.encode()).decode()}"
    )

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            line = self.rfile.readline(65536).decode("latin-1")
            requests.append(line.rstrip("\r\n"))
            head = [line]
            while (field := self.rfile.readline(65536)) not in (b"\r\n", b"\n", b""):
                head.append(field.decode("latin-1"))
            authorization = next(
                (
                    f.split(":", 1)[1].strip()
                    for f in head
                    if f.lower().startswith("proxy-authorization:")
                ),
                None,
            )
            if expected is not None and authorization != expected:
                self.wfile.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                                 b"Proxy-Authenticate: Basic realm=\"proxy\"\r\n"
                                 b"Content-Length: 0\r\nConnection: close\r\n\r\n")  # fmt: skip
                return
            method, target, _ = line.split(" ", 2)
            if method == "CONNECT":
                self._tunnel(target)
            else:
                self._forward(target, head)

        def _upstream(self, authority: str) -> socket.socket | None:
            name, _, port = authority.rpartition(":")
            try:
                return socket.create_connection((hosts.get(name, name), int(port)), timeout=10)
            except OSError:
                self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return None

        def _tunnel(self, authority: str) -> None:
            upstream = self._upstream(authority)
            if upstream is not None:
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                _relay(self.connection, upstream)

        def _forward(self, url: str, head: list[str]) -> None:
            authority = url.removeprefix("http://").split("/", 1)[0]
            upstream = self._upstream(authority if ":" in authority else f"{authority}:80")
            if upstream is not None:
                upstream.sendall("".join(head).encode("latin-1") + b"\r\n")
                _relay(self.connection, upstream)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ForwardProxy(f"127.0.0.1:{server.server_address[1]}", requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes or 30 s pass in silence."""
    with upstream:
        while True:
            readable, _, _ = select.select([client, upstream], [], [], 30)
            if not readable:
                return
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                (upstream if source is client else client).sendall(data)
