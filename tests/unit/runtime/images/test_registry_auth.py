"""Registry authentication, redirects, HEAD and ranges, against a fake registry on
loopback; and the transport choice."""

import base64
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from runtime.errors import AuthenticationError, ImageError, ManifestUnknown, RegistryError
from runtime.images.challenges import Challenge, parse_challenges
from runtime.images.credentials import (
    Credentials,
    find_credentials,
    remove_credentials,
    store_credentials,
)
from runtime.images.media import Descriptor
from runtime.images.registry import (
    RegistryClient,
    RetryPolicy,
    is_insecure_allowed,
    open_registry,
)
from runtime.images.transport import Transport
from tests.unit.runtime.images.fake_server import FakeServer, Reply, Request, serve

pytestmark = pytest.mark.timeout(10)
MANIFEST = b'{"schemaVersion":2}'
DIGEST = "sha256:" + "ab" * 32


def token_registry(request: Request, realm: str) -> Reply:
    """A registry that wants a Bearer token, issued anonymously by its realm."""
    if request.path.startswith("/token?"):
        assert "scope=repository%3Alibrary%2Fredis%3Apull" in request.path
        assert "service=registry.example" in request.path
        return Reply(200, body=json.dumps({"token": "t0k3n"}).encode())
    if request.headers.get("authorization") != "Bearer t0k3n":
        challenge = f'Bearer realm="{realm}",service="registry.example"'
        return Reply(401, {"WWW-Authenticate": challenge}, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
    return Reply(200, {"Content-Type": "application/json"}, MANIFEST)


def test_anonymous_bearer_token_flow() -> None:
    realm: list[str] = []
    with serve(lambda request: token_registry(request, realm[0])) as server:
        realm.append(f"{server.url}/token")
        with open_registry(server.host, None) as client:
            first = client.manifest("library/redis", "7", "redis:7")
            second = client.manifest("library/redis", "7.2", "redis:7.2")

    assert first == second == (MANIFEST, "application/json")
    paths = [request.path.split("?")[0] for request in server.requests]
    assert paths == [
        "/v2/library/redis/manifests/7",
        "/token",
        "/v2/library/redis/manifests/7",
        "/v2/library/redis/manifests/7.2",
    ]
    assert server.connections == [1]  # one connection for all four: the 401's body was read


class ExpiringTokens:
    """A registry whose tokens t1, t2, ... each let `uses` requests through; then the
    request is answered 401 with a fresh challenge, as a token's expiry is."""

    def __init__(self, uses: int) -> None:
        self.uses = uses
        self.issued = 0
        self.left = 0
        self.realm = ""

    def __call__(self, request: Request) -> Reply:
        if request.path.startswith("/token?"):
            self.issued += 1
            self.left = self.uses
            return Reply(200, body=json.dumps({"token": f"t{self.issued}"}).encode())
        if request.headers.get("authorization") == f"Bearer t{self.issued}" and self.left > 0:
            self.left -= 1
            return Reply(200, {"Content-Type": "application/json"}, MANIFEST)
        challenge = f'Bearer realm="{self.realm}",service="r",error="invalid_token"'
        return Reply(401, {"WWW-Authenticate": challenge})


def test_an_expired_token_is_fetched_afresh_once() -> None:
    registry = ExpiringTokens(uses=2)
    with serve(registry) as server:
        registry.realm = f"{server.url}/token"
        with open_registry(server.host, None) as client:
            for tag in ("1", "2", "3"):
                assert client.manifest("app", tag, f"app:{tag}") == (MANIFEST, "application/json")

    sent = [(r.path.split("?")[0], r.headers.get("authorization")) for r in server.requests]
    assert sent == [
        ("/v2/app/manifests/1", None),
        ("/token", None),
        ("/v2/app/manifests/1", "Bearer t1"),
        ("/v2/app/manifests/2", "Bearer t1"),
        ("/v2/app/manifests/3", "Bearer t1"),
        ("/token", None),
        ("/v2/app/manifests/3", "Bearer t2"),
    ]


def test_a_fresh_token_refused_again_is_an_authentication_error() -> None:
    registry = ExpiringTokens(uses=1)
    with serve(registry) as server:
        registry.realm = f"{server.url}/token"
        with open_registry(server.host, None) as client:
            client.manifest("app", "1", "app:1")
            registry.uses = 0  # from now on every token is refused at once
            message = f"registry {server.host} requires authentication: run `corral login"
            with pytest.raises(AuthenticationError, match=f"^{re.escape(message)}"):
                client.manifest("app", "2", "app:2")

    assert registry.issued == 2


def test_bearer_is_preferred_over_basic_offered_in_another_header() -> None:
    realm: list[str] = []

    def handle(request: Request) -> Reply:
        if request.path.startswith("/token?"):
            return Reply(200, body=b'{"access_token": "t0k3n"}')
        if request.headers.get("authorization") == "Bearer t0k3n":
            return Reply(200, body=MANIFEST)
        challenges = [("WWW-Authenticate", 'Basic realm="r"'),
                      ("WWW-Authenticate", f'Bearer realm="{realm[0]}",service="s"')]  # fmt: skip
        return Reply(401, challenges)

    with serve(handle) as server:
        realm.append(f"{server.url}/token")
        with open_registry(server.host, None) as client:
            assert client.manifest("app", "1", "app:1")[0] == MANIFEST


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (['Bearer realm="https://a/t",service="s",scope="repository:x:pull,push"'],
         [Challenge("bearer", {"realm": "https://a/t", "service": "s",
                               "scope": "repository:x:pull,push"})]),
        (["BEARER Realm=https://a/t, Service=reg.example"],
         [Challenge("bearer", {"realm": "https://a/t", "service": "reg.example"})]),
        (['Basic realm="say \\"hi\\", please", Bearer realm="r"'],
         [Challenge("basic", {"realm": 'say "hi", please'}), Challenge("bearer", {"realm": "r"})]),
        (["Negotiate YWJj==, Basic realm = r", "Bearer"],
         [Challenge("negotiate", {}), Challenge("basic", {"realm": "r"}),
          Challenge("bearer", {})]),
        ([""], []),
    ],
)  # fmt: skip
def test_parse_challenges(values: list[str], expected: list[Challenge]) -> None:
    assert parse_challenges(values) == expected


def test_the_token_request_is_retried_as_other_requests_are() -> None:
    answers = [Reply(503), Reply(429), Reply(200, body=b"x" * 100, cut_after=10)]
    realm: list[str] = []

    def handle(request: Request) -> Reply:
        if request.path.startswith("/token?"):
            return answers.pop(0) if answers else Reply(200, body=b'{"token": "t"}')
        if request.headers.get("authorization") == "Bearer t":
            return Reply(200, body=MANIFEST)
        return Reply(401, {"WWW-Authenticate": f'Bearer realm="{realm[0]}"'})

    with serve(handle) as server:
        realm.append(f"{server.url}/token")
        no_wait = RetryPolicy(first_delay=0)
        with open_registry(server.host, None, retry=no_wait) as client:
            assert client.manifest("app", "1", "app:1")[0] == MANIFEST

    assert [r.path.split("?")[0] for r in server.requests].count("/token") == 4


@contextmanager
def token_service_answering(status: int) -> Iterator[FakeServer]:
    """A registry that wants a Bearer token from its /token, which answers `status`."""
    realm: list[str] = []

    def handle(request: Request) -> Reply:
        if request.path.startswith("/token"):
            return Reply(status)
        return Reply(401, {"WWW-Authenticate": f'Bearer realm="{realm[0]}",service="r"'})

    with serve(handle) as server:
        realm.append(f"{server.url}/token")
        yield server


def test_a_token_service_failing_every_time_names_it() -> None:
    with token_service_answering(502) as server:
        message = f"registry {server.host} failed 2 times: the token service {server.host}" \
            " answered HTTP 502"  # fmt: skip
        no_wait = RetryPolicy(attempts=2, first_delay=0)
        with (
            open_registry(server.host, None, retry=no_wait) as client,
            pytest.raises(RegistryError, match=f"^{re.escape(message)}$"),
        ):
            client.manifest("app", "1", "app:1")


@pytest.mark.parametrize(
    ("realm_host", "sent"),
    [("localhost", False), ("127.0.0.1", True)],  # another host, then the registry's own
)
def test_credentials_go_to_a_plain_http_token_service_only_on_the_registrys_host(
    realm_host: str, sent: bool
) -> None:
    with serve(lambda request: Reply(200, body=b'{"token": "t"}')) as tokens:
        realm = f"http://{realm_host}:{tokens.host.split(':')[1]}/token"

        def handle(request: Request) -> Reply:
            if request.headers.get("authorization") == "Bearer t":
                return Reply(200, body=MANIFEST)
            return Reply(401, {"WWW-Authenticate": f'Bearer realm="{realm}",service="s"'})

        with (
            serve(handle) as server,
            open_registry(server.host, Credentials("ann", "pw")) as client,
        ):
            assert client.manifest("app", "1", "app:1")[0] == MANIFEST

    [request] = tokens.requests
    assert ("authorization" in request.headers) is sent
    assert ("account=ann" in request.path) is sent


def test_a_token_refused_to_withheld_credentials_says_why() -> None:
    with serve(lambda request: Reply(401)) as tokens:
        realm = f"http://localhost:{tokens.host.split(':')[1]}/token"
        challenge = {"WWW-Authenticate": f'Bearer realm="{realm}"'}
        with (
            serve(lambda request: Reply(401, challenge)) as server,
            open_registry(server.host, Credentials("ann", "pw")) as client,
        ):
            message = (
                f"the token service of registry {server.host} refused an anonymous token;"
                f" Corral sends credentials only over https or to the registry's host,"
                f" not to {realm}"
            )
            with pytest.raises(AuthenticationError, match=f"^{re.escape(message)}$"):
                client.manifest("app", "1", "app:1")


def test_token_refused_for_wrong_credentials_names_the_registry() -> None:
    with token_service_answering(401) as server:
        message = f"registry {server.host} refused the credentials of user 'ann' for org/app"
        with (
            open_registry(server.host, Credentials("ann", "wrong")) as client,
            pytest.raises(AuthenticationError, match=f"^{re.escape(message)}$"),
        ):
            client.manifest("org/app", "1", f"{server.host}/org/app:1")


def test_head_gives_the_digest_and_a_missing_tag_is_unknown() -> None:
    def handle(request: Request) -> Reply:
        assert request.method == "HEAD"
        assert "application/vnd.oci.image.index.v1+json" in request.headers["accept"]
        if request.path.endswith("/nope"):
            return Reply(404)
        if request.path.endswith("/old"):
            return Reply(405)
        return Reply(200, {"Docker-Content-Digest": DIGEST, "Content-Length": "123"})

    with serve(handle) as server, open_registry(server.host, None) as client:
        assert client.manifest_digest("app", "1", "app:1") == DIGEST
        assert client.manifest_digest("app", "old", "app:old") is None
        with pytest.raises(ManifestUnknown, match=r"^image 'app:nope' was not found"):
            client.manifest_digest("app", "nope", "app:nope")
    assert server.connections == [1]


def test_credentials_do_not_follow_a_redirect_to_another_host() -> None:
    blob = b"layer bytes" * 1000
    with serve(lambda request: Reply(200, body=blob)) as storage:

        def handle(request: Request) -> Reply:
            if request.headers.get("authorization") is None:
                return Reply(401, {"WWW-Authenticate": 'Basic realm="r"'})
            return Reply(307, {"Location": f"{storage.url}/data/{DIGEST}?sig=1"})

        with (
            serve(handle) as server,
            open_registry(server.host, Credentials("ann", "pw")) as client,
        ):
            stream = client.blob("app", DIGEST)
            data = b"".join(iter(lambda: stream.read(4096), b""))

    assert data == blob
    assert (
        server.requests[-1].headers["authorization"]
        == "Basic " + base64.b64encode(b"ann:pw").decode()
    )
    assert [(r.path, r.headers.get("authorization")) for r in storage.requests] == [
        (f"/data/{DIGEST}?sig=1", None)
    ]


def test_a_broken_blob_resumes_and_a_server_ignoring_the_range_is_skipped() -> None:
    blob = bytes(range(256)) * 4096

    def handle(request: Request) -> Reply:
        if request.headers.get("range") is None:
            return Reply(200, body=blob, cut_after=300_000)
        return Reply(200, body=blob)  # the range ignored: the whole blob again

    with serve(handle) as server:
        client = RegistryClient(Transport(), server.host, None, retry=RetryPolicy(first_delay=0))
        stream = client.blob("app", DIGEST)
        data = b"".join(iter(lambda: stream.read(65536), b""))

    assert data == blob
    assert [r.headers.get("range") for r in server.requests] == [None, "bytes=300000-"]


def test_small_blob_longer_than_its_descriptor_is_refused() -> None:
    with serve(lambda request: Reply(200, body=b"x" * 100)) as server:
        with open_registry(server.host, None) as client:
            message = f"blob {DIGEST} from registry {server.host} is corrupt"
            with pytest.raises(Exception, match=f"^{re.escape(message)}"):
                client.small_blob("app", Descriptor("", DIGEST, 10))


@pytest.mark.parametrize("chunked", [False, True])  # sized by Content-Length, or not
def test_a_manifest_larger_than_4_mib_is_refused(chunked: bool) -> None:
    def handle(request: Request) -> Reply:
        size = (4 << 20) + (1 if request.path.endswith("/big") else 0)
        return Reply(200, body=[b"x" * size] if chunked else b"x" * size)

    with serve(handle) as server, open_registry(server.host, None) as client:
        assert len(client.manifest("app", "fits", "app:fits")[0]) == 4 << 20
        message = (
            f"the manifest of 'app:big' from registry {server.host} is larger than 4 MiB,"
            " the most Corral accepts"
        )
        with pytest.raises(ImageError, match=f"^{re.escape(message)}$"):
            client.manifest("app", "big", "app:big")


def test_a_config_blob_larger_than_8_mib_is_not_fetched() -> None:
    with serve(lambda request: Reply(200)) as server, open_registry(server.host, None) as client:
        message = f"blob {DIGEST} of app is {(8 << 20) + 1} bytes; Corral takes a config of" \
            " at most 8 MiB"  # fmt: skip
        with pytest.raises(ImageError, match=f"^{re.escape(message)}$"):
            client.small_blob("app", Descriptor("", DIGEST, (8 << 20) + 1))
    assert server.requests == []


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


def test_a_proxy_that_cannot_be_reached_is_named() -> None:
    environ = {"HTTPS_PROXY": "http://127.0.0.1:1"}
    no_wait = RetryPolicy(attempts=2, first_delay=0)
    with open_registry("registry.test", None, environ=environ, retry=no_wait) as client:
        message = "registry registry.test failed 2 times: cannot connect to proxy 127.0.0.1:1" \
            " (for registry.test): Connection refused"  # fmt: skip
        with pytest.raises(RegistryError, match=f"^{re.escape(message)}$"):
            client.manifest("app", "v1", "registry.test/app:v1")


def test_a_proxy_corral_cannot_use_is_refused_at_once() -> None:
    environ = {"HTTPS_PROXY": "socks5://127.0.0.1:1080"}
    message = "cannot reach registry registry.test: HTTPS_PROXY='socks5://127.0.0.1:1080':" \
        " Corral goes through http:// proxies only"  # fmt: skip
    with (
        pytest.raises(RegistryError, match=f"^{re.escape(message)}$"),
        open_registry("registry.test", None, environ=environ),
    ):
        pass
