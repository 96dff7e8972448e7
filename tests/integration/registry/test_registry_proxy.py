"""Pulls through a forward proxy, from registries on loopback named `registry.test`,
a name only the proxy resolves: a pull works only if it goes through the proxy."""

import re
from pathlib import Path

import pytest

from runtime.errors import RegistryError
from runtime.images import ImageStore
from runtime.images.credentials import Credentials, store_credentials
from runtime.images.pull import pull
from runtime.images.registry import RetryPolicy
from tests.integration.registry.conftest import (
    PASSWORD,
    PROXIED_NAME,
    USER,
    Registry,
    environ_with,
    needs_registry,
)
from tests.integration.registry.forward_proxy import forward_proxy
from tests.integration.registry.oci_builder import Layout, layer_tar

pytestmark = [needs_registry, pytest.mark.timeout(60)]
HOSTS = {PROXIED_NAME: "127.0.0.1"}


def pushed_as_proxied(registry: Registry, tmp_path: Path, content: bytes) -> str:
    """Push a one-layer image; its reference by the name only the proxy resolves."""
    layout = Layout(tmp_path / "layout")
    layout.tag(layout.image([layer_tar({"data": content})]), "v1")
    reference = f"{registry.repository('proxied')}:v1"
    registry.push(layout, "v1", reference)
    return reference.replace("127.0.0.1", PROXIED_NAME, 1)


def test_a_plain_registry_through_the_proxy_in_absolute_form(
    registry: Registry, tmp_path: Path
) -> None:
    reference = pushed_as_proxied(registry, tmp_path, b"plain")
    named = reference.split("/")[0]
    with forward_proxy(HOSTS) as proxy:
        environ = environ_with(
            HTTPS_PROXY=proxy.url(), HTTP_PROXY=proxy.url(), CORRAL_INSECURE_REGISTRIES=named
        )
        image = pull(ImageStore(tmp_path / "images"), reference, environ=environ)

    assert (image.layers[0] / "data").read_bytes() == b"plain"
    # TLS first, through a tunnel (the handshake fails: plain HTTP), then plain HTTP.
    assert proxy.requests[0] == f"CONNECT {named} HTTP/1.1"
    assert proxy.requests[1].startswith(f"HEAD http://{named}/v2/")


def test_a_tls_registry_through_a_tunnel_with_proxy_credentials(
    secure_registry: Registry, tmp_path: Path, trust_registry: Path, docker_config: Path
) -> None:
    reference = pushed_as_proxied(secure_registry, tmp_path, b"secret")
    named = reference.split("/")[0]
    store_credentials(named, Credentials(USER, PASSWORD), docker_config / "config.json")
    with forward_proxy(HOSTS, credentials="ann:p@ss") as proxy:
        environ = environ_with(HTTPS_PROXY=proxy.url("ann:p%40ss"), NO_PROXY="other.test")
        image = pull(ImageStore(tmp_path / "images"), reference, environ=environ)

    assert (image.layers[0] / "data").read_bytes() == b"secret"
    assert set(proxy.requests) == {f"CONNECT {named} HTTP/1.1"}


def test_a_proxy_refusing_the_credentials_is_not_retried(
    secure_registry: Registry, tmp_path: Path, trust_registry: Path
) -> None:
    named = f"{PROXIED_NAME}:{secure_registry.host.split(':')[1]}"
    with forward_proxy(HOSTS, credentials="ann:right") as proxy:
        environ = environ_with(HTTPS_PROXY=proxy.url("ann:wrong"))
        message = f"registry {named}: proxy {proxy.host} refused the credentials (HTTP 407)"
        with pytest.raises(RegistryError, match=f"^{re.escape(message)}"):
            pull(ImageStore(tmp_path / "images"), f"{named}/any:v1", environ=environ)

    assert len(proxy.requests) == 1


def test_no_proxy_sends_the_registry_direct(registry: Registry, tmp_path: Path) -> None:
    reference = pushed_as_proxied(registry, tmp_path, b"direct")
    named = reference.split("/")[0]
    with forward_proxy(HOSTS) as proxy:
        environ = environ_with(
            HTTPS_PROXY=proxy.url(),
            HTTP_PROXY=proxy.url(),
            NO_PROXY=f"other.test,.test:{named.split(':')[1]}",
            CORRAL_INSECURE_REGISTRIES=named,
        )
        once = RetryPolicy(attempts=1)
        with pytest.raises(RegistryError, match=f"^registry {re.escape(named)} failed 1 times"):
            pull(ImageStore(tmp_path / "images"), reference, environ=environ, retry=once)

    assert proxy.requests == []
