"""The HTTP/1.1 client, against a real server on loopback."""

import re

import pytest

from runtime.images.transport import ConnectError, Transport, TransportError, split_url
from tests.unit.runtime.images.fake_server import Reply, Request, serve

pytestmark = pytest.mark.timeout(10)


def test_connections_are_kept_alive_and_reused() -> None:
    with serve(lambda request: Reply(200, body=request.path.encode())) as server:
        transport = Transport()
        bodies = []
        for path in ("/a", "/b", "/c"):
            response = transport.request("GET", f"{server.url}{path}", {})
            bodies.append(response.read())
        transport.close()

    assert bodies == [b"/a", b"/b", b"/c"]
    assert server.connections == [1]


def test_chunked_body_and_headers_are_read() -> None:
    def handle(request: Request) -> Reply:
        return Reply(200, {"X-Seen": request.headers["x-asked"]}, (b"ab", b"cde" * 1000))

    with serve(handle) as server:
        transport = Transport()
        response = transport.request("GET", f"{server.url}/x", {"X-Asked": "yes"})
        assert response.header("x-seen") == "yes"
        assert response.read(1) == b"a"
        assert response.read() == b"b" + b"cde" * 1000
        assert response.read() == b""
        again = transport.request("GET", f"{server.url}/y", {"X-Asked": "2"})
        assert again.read() == b"ab" + b"cde" * 1000
        transport.close()

    assert server.connections == [1]


def test_repeated_headers_are_kept_apart() -> None:
    fields = [("WWW-Authenticate", 'Basic realm="a, b"'), ("WWW-Authenticate", "Bearer x=1")]
    with serve(lambda request: Reply(401, fields)) as server:
        response = Transport().request("GET", f"{server.url}/", {})
        response.close()

    assert response.header_values("www-authenticate") == ['Basic realm="a, b"', "Bearer x=1"]
    assert response.header("www-authenticate") == 'Basic realm="a, b", Bearer x=1'
    assert response.header_values("x-absent") == []


def test_a_connection_the_server_dropped_while_idle_is_replaced() -> None:
    with serve(lambda request: Reply(200, body=b"ok", close=True)) as server:
        transport = Transport()
        first = transport.request("GET", f"{server.url}/1", {}).read()
        second = transport.request("GET", f"{server.url}/2", {}).read()
        transport.close()

    assert first == second == b"ok"
    assert server.connections == [1, 1]


def test_a_body_cut_short_is_a_transport_error() -> None:
    with serve(lambda request: Reply(200, body=b"x" * 10_000, cut_after=100)) as server:
        response = Transport().request("GET", f"{server.url}/cut", {})
        message = f"{server.host}: the server closed the connection in the middle of a body"
        with pytest.raises(TransportError, match=f"^{re.escape(message)}$"):
            response.read()


def test_an_unreachable_server_is_a_connect_error() -> None:
    with serve(lambda request: Reply()) as server:
        host = server.host
    with pytest.raises(ConnectError, match=rf"^cannot connect to {re.escape(host)}: "):
        Transport().request("GET", f"http://{host}/", {})


@pytest.mark.parametrize(
    ("url", "origin", "target"),
    [
        ("https://r.example/v2/", ("https", "r.example"), "/v2/"),
        ("http://127.0.0.1:5000/a?b=c#frag", ("http", "127.0.0.1:5000"), "/a?b=c"),
        ("https://[::1]:443?x=1", ("https", "[::1]:443"), "/?x=1"),
    ],
)
def test_split_url(url: str, origin: tuple[str, str], target: str) -> None:
    assert split_url(url) == (origin, target)


def test_origin_address() -> None:
    assert split_url("https://r.example/")[0].address == ("r.example", 443)
    assert split_url("http://[::1]:5000/")[0].address == ("::1", 5000)
    assert split_url("http://localhost/")[0].address == ("localhost", 80)
