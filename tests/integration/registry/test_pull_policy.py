"""What a pull asks of the registry when the image is present, and pull policies,
counted by a recording proxy in front of a real registry."""

import re
import time
from pathlib import Path

import pytest

from runtime.errors import ImageNotFound
from runtime.images import ImageStore
from runtime.images.gc import collect
from runtime.images.media import host_platform
from runtime.images.pull import ensure_image, pull
from tests.integration.registry.conftest import Registry, needs_registry
from tests.integration.registry.oci_builder import Layout, layer_tar
from tests.integration.registry.proxy import proxied, through
from tests.unit.runtime.images.fake_server import FakeServer

pytestmark = [needs_registry, pytest.mark.timeout(60)]
HOUR = 3600.0


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images")


def push(registry: Registry, tmp_path: Path, content: bytes, reference: str | None = None) -> str:
    layout = Layout(tmp_path / f"layout-{content.hex()}")
    layout.tag(layout.image([layer_tar({"content": content})]), "v1")
    reference = reference or f"{registry.repository('policy')}:v1"
    registry.push(layout, "v1", reference)
    return reference


def asked(proxy: FakeServer) -> list[str]:
    """The requests the proxy saw, as "METHOD /v2/<repository>/kind/<reference>" sans host."""
    return [f"{r.method} {r.path.split('/', 3)[3]}" for r in proxy.requests]


def test_a_warm_pull_asks_one_head_and_records_the_check(
    registry: Registry, store: ImageStore, tmp_path: Path
) -> None:
    pushed = push(registry, tmp_path, b"warm")
    with proxied(registry.host) as proxy:
        reference = through(proxy, pushed)
        first = pull(store, reference)
        store.tag(reference, store.descriptor(first.digest), checked=0.0)
        proxy.requests.clear()
        began = time.time()

        again = pull(store, reference)

    assert again == first
    assert asked(proxy) == ["HEAD manifests/v1"]
    checked = store.checked(reference)
    assert checked is not None
    assert checked >= int(began)


def test_a_present_image_pulled_by_digest_needs_no_registry(
    registry: Registry, store: ImageStore, tmp_path: Path
) -> None:
    pushed = push(registry, tmp_path, b"by digest")
    with proxied(registry.host) as proxy:
        image = pull(store, through(proxy, pushed))
        by_digest = f"{through(proxy, pushed).rsplit(':', 1)[0]}@{image.digest}"
        proxy.requests.clear()

        again = pull(store, by_digest)

    assert proxy.requests == []
    assert again.digest == image.digest
    assert store.resolve(by_digest) == again


def test_a_warm_pull_of_an_index_asks_once(
    registry: Registry, store: ImageStore, tmp_path: Path
) -> None:
    layout = Layout(tmp_path / "layout")
    architecture = host_platform()[0]
    mine = layout.image([layer_tar({"arch": b"mine"})], architecture=architecture)
    other = layout.image([layer_tar({"arch": b"other"})], architecture="s390x")
    layout.tag(
        layout.platform_index([(mine, "linux", architecture), (other, "linux", "s390x")]), "i"
    )
    pushed = f"{registry.repository('index')}:i"
    registry.push(layout, "i", pushed, all_platforms=True)
    with proxied(registry.host) as proxy:
        reference = through(proxy, pushed)
        image = pull(store, reference)
        collect(store)  # keeps the index the reference went through
        proxy.requests.clear()

        again = pull(store, reference)

    assert again == image
    assert image.digest == mine["digest"]
    assert asked(proxy) == ["HEAD manifests/i"]


def test_a_moved_tag_is_pulled_again(registry: Registry, store: ImageStore, tmp_path: Path) -> None:
    pushed = push(registry, tmp_path, b"one")
    with proxied(registry.host) as proxy:
        reference = through(proxy, pushed)
        first = pull(store, reference)
        push(registry, tmp_path, b"two", pushed)

        second = pull(store, reference)

    assert second.digest != first.digest
    assert (second.layers[0] / "content").read_bytes() == b"two"
    assert store.resolve(reference) == second


def test_missing_and_never_leave_a_present_image_alone(
    registry: Registry, store: ImageStore, tmp_path: Path
) -> None:
    pushed = push(registry, tmp_path, b"old")
    with proxied(registry.host) as proxy:
        reference = through(proxy, pushed)
        message = f"image {reference!r} is not in the image store"
        with pytest.raises(ImageNotFound, match=f"^{re.escape(message)}$"):
            ensure_image(store, reference, "never")
        assert proxy.requests == []

        pulled = ensure_image(store, reference, "missing")
        push(registry, tmp_path, b"new", pushed)
        proxy.requests.clear()

        assert ensure_image(store, reference, "missing") == pulled
        assert ensure_image(store, reference, "if_not_present") == pulled
        assert ensure_image(store, reference, "never") == pulled
        assert proxy.requests == []
        refreshed = ensure_image(store, reference, "always")

    assert refreshed.digest != pulled.digest


@pytest.mark.parametrize(
    ("policy", "interval"), [("daily", 24 * HOUR), ("every_1h30m", 1.5 * HOUR)]
)
def test_an_interval_policy_checks_once_the_last_check_is_older(
    registry: Registry, store: ImageStore, tmp_path: Path, policy: str, interval: float
) -> None:
    pushed = push(registry, tmp_path, policy.encode())
    with proxied(registry.host) as proxy:
        reference = through(proxy, pushed)
        image = ensure_image(store, reference, policy)
        checked = store.checked(reference)
        assert checked is not None
        proxy.requests.clear()

        early = ensure_image(store, reference, policy, clock=lambda: checked + interval - 60)
        assert proxy.requests == []

        late = ensure_image(store, reference, policy, clock=lambda: checked + interval + 60)
        assert asked(proxy) == ["HEAD manifests/v1"]

    assert early == late == image


def test_build_and_unknown_policies_are_refused(store: ImageStore) -> None:
    with pytest.raises(ValueError, match=r"^pull_policy 'build' needs an image build"):
        ensure_image(store, "busybox", "build")
    with pytest.raises(ValueError, match=r"^'often' is not a pull policy"):
        ensure_image(store, "busybox", "often")


def test_a_corrupt_stored_manifest_is_pulled_again(
    registry: Registry, store: ImageStore, tmp_path: Path
) -> None:
    pushed = push(registry, tmp_path, b"mended")
    image = ensure_image(store, pushed, "missing")
    manifest = store.blob_path(image.digest)
    manifest.write_bytes(manifest.read_bytes() + b" ")

    mended = ensure_image(store, pushed, "missing")

    assert mended == image
    assert store.read_blob(image.digest)
