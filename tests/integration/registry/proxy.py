"""A recording, fault-injecting proxy on loopback in front of a real registry.

A test pulls `proxy.host/repo:tag`; the proxy forwards each request to the
registry and may spoil the reply (`fault`) before the client sees it.
"""

import http.client
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tests.unit.runtime.images.fake_server import FakeServer, Reply, Request, serve

Fault = Callable[[Request, Reply], Reply]
_FORWARDED = ("accept", "authorization", "range")
_RETURNED = (
    "content-type",
    "content-length",
    "content-range",
    "docker-content-digest",
    "docker-distribution-api-version",
    "www-authenticate",
    "location",
)


def _untouched(request: Request, reply: Reply) -> Reply:
    return reply


@contextmanager
def proxied(upstream: str, fault: Fault = _untouched) -> Iterator[FakeServer]:
    """A proxy to the registry at `upstream` ("127.0.0.1:PORT"), plain HTTP."""

    def handle(request: Request) -> Reply:
        connection = http.client.HTTPConnection(upstream, timeout=30)
        try:
            headers = {k: v for k, v in request.headers.items() if k in _FORWARDED}
            connection.request(request.method, request.path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            kept = {k: v for k, v in response.getheaders() if k.lower() in _RETURNED}
        finally:
            connection.close()
        return fault(request, Reply(response.status, kept, body))

    with serve(handle) as server:
        yield server


def through(proxy: FakeServer, reference: str) -> str:
    """`reference` ("registry/repo:tag") as pulled through `proxy`."""
    return f"{proxy.host}/{reference.split('/', 1)[1]}"
