"""Registry authentication and transport choice, against an in-memory registry."""

import base64
import json
import re
from pathlib import Path

import httpx
import pytest

from runtime.errors import AuthenticationError
from runtime.images.credentials import (
    Credentials,
    find_credentials,
    remove_credentials,
    store_credentials,
)
from runtime.images.registry import is_insecure_allowed, open_registry

pytestmark = pytest.mark.timeout(10)
MANIFEST = b'{"schemaVersion":2}'


def token_registry(seen: list[httpx.Request]) -> httpx.MockTransport:
    """A registry that wants a Bearer token, issued anonymously by its realm."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "auth.example":
            assert request.url.params["scope"] == "repository:library/redis:pull"
            assert request.url.params["service"] == "registry.example"
            return httpx.Response(200, json={"token": "t0k3n"})
        if request.headers.get("authorization") != "Bearer t0k3n":
            challenge = 'Bearer realm="https://auth.example/token",service="registry.example"'
            return httpx.Response(401, headers={"www-authenticate": challenge})
        return httpx.Response(200, content=MANIFEST, headers={"content-type": "application/json"})

    return httpx.MockTransport(handle)


async def test_anonymous_bearer_token_flow() -> None:
    seen: list[httpx.Request] = []
    async with open_registry("registry.example", None, transport=token_registry(seen)) as client:
        first = await client.manifest("library/redis", "7", "redis:7")
        second = await client.manifest("library/redis", "7.2", "redis:7.2")

    assert first == second == (MANIFEST, "application/json")
    hosts = [request.url.host for request in seen]
    assert hosts == ["registry.example", "auth.example", "registry.example", "registry.example"]
    assert all(request.url.scheme == "https" for request in seen)


async def test_token_refused_for_wrong_credentials_names_the_registry() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example":
            return httpx.Response(401)
        challenge = 'Bearer realm="https://auth.example/token",service="r"'
        return httpx.Response(401, headers={"www-authenticate": challenge})

    credentials = Credentials("ann", "wrong")
    message = "registry registry.example refused the credentials of user 'ann' for org/app"
    async with open_registry(
        "registry.example", credentials, transport=httpx.MockTransport(handle)
    ) as client:
        with pytest.raises(AuthenticationError, match=f"^{re.escape(message)}$"):
            await client.manifest("org/app", "1", "registry.example/org/app:1")


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:5000", True),
        ("127.1.2.3", True),
        ("localhost:5000", True),
        ("[::1]:5000", True),
        ("registry.example:5000", False),
        ("10.0.0.1:5000", False),
        ("mirror.lan:5000", True),
    ],
)
def test_plain_http_only_for_loopback_or_listed(host: str, allowed: bool) -> None:
    environ = {"CORRAL_INSECURE_REGISTRIES": "mirror.lan:5000, other.lan"}
    assert is_insecure_allowed(host, environ) is allowed


def test_credentials_round_trip_keeps_other_settings(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {}, "credsStore": "desktop"}))

    store_credentials("docker.io", Credentials("ann", "pa:ss"), path)
    store_credentials("127.0.0.1:5000", Credentials("bob", "x"), path)

    config = json.loads(path.read_text())
    assert config["credsStore"] == "desktop"
    assert base64.b64decode(config["auths"]["https://index.docker.io/v1/"]["auth"]) == b"ann:pa:ss"
    assert find_credentials("docker.io", path) == Credentials("ann", "pa:ss")
    assert find_credentials("127.0.0.1:5000", path) == Credentials("bob", "x")
    assert path.stat().st_mode & 0o777 == 0o600
    assert remove_credentials("docker.io", path) is True
    assert remove_credentials("docker.io", path) is False
    assert find_credentials("docker.io", path) is None
