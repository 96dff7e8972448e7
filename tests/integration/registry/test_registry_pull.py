"""Pulls from a real registry on loopback: formats, platforms, whiteouts, sharing."""

import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from runtime.errors import AuthenticationError, ManifestUnknown, RegistryError
from runtime.images import Image, ImageStore
from runtime.images.credentials import Credentials, store_credentials
from runtime.images.media import host_platform
from runtime.images.pull import LayerProgress, LayerStatus, pull
from tests.integration.registry.conftest import PASSWORD, USER, Registry, needs_registry
from tests.integration.registry.oci_builder import Layout, layer_tar

pytestmark = [needs_registry, pytest.mark.timeout(60)]


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images")


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(tmp_path / "layout")


def tree(layer: Path) -> list[str]:
    return sorted(str(p.relative_to(layer)) for p in layer.rglob("*"))


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_pull_unpacks_each_layer_and_reads_the_config(
    registry: Registry, store: ImageStore, layout: Layout, compression: str
) -> None:
    base = layer_tar({"etc/os-release": b"ID=test\n"}, dirs=("etc",))
    app = layer_tar({"srv/app": b"#!/bin/sh\n"}, dirs=("srv",))
    config = {"Cmd": ["/srv/app"], "ExposedPorts": {"80/tcp": {}}, "StopSignal": "SIGINT"}
    layout.tag(layout.image([base, app], compression=compression, config=config), "v1")
    reference = f"{registry.repository('app')}:v1"
    registry.push(layout, "v1", reference)
    events: list[LayerProgress] = []

    image = pull(store, reference, progress=events.append)

    assert image.reference == reference
    assert image == store.resolve(reference)
    assert [tree(layer) for layer in image.layers] == [
        ["etc", "etc/os-release"],
        ["srv", "srv/app"],
    ]
    assert (image.layers[1] / "srv/app").read_bytes() == b"#!/bin/sh\n"
    assert image.config.cmd == ("/srv/app",)
    assert image.config.exposed_ports == ("80/tcp",)
    assert image.config.stop_signal == "SIGINT"
    finished = [e for e in events if e.status is LayerStatus.DONE]
    assert len(finished) == 2
    assert all(e.done == e.size for e in finished)


def pushed_and_pulled(
    registry: Registry, store: ImageStore, layout: Layout, stem: str, content: bytes
) -> tuple[str, Image]:
    """A one-layer image pushed as `stem`N:v1 and pulled: (reference, image)."""
    layout.tag(layout.image([layer_tar({"a": content})]), "v1")
    reference = f"{registry.repository(stem)}:v1"
    registry.push(layout, "v1", reference)
    return reference, pull(store, reference)


def test_second_pull_finds_everything_present(
    registry: Registry, store: ImageStore, layout: Layout
) -> None:
    reference, first = pushed_and_pulled(registry, store, layout, "warm", b"a")
    blobs = sorted(os.listdir(store.blobs))
    events: list[LayerProgress] = []

    again = pull(store, reference, progress=events.append)

    assert again == first
    assert sorted(os.listdir(store.blobs)) == blobs
    assert events == []


def spoil(path: Path) -> None:
    """Flip a byte of a stored file, as a disk or a careless hand might."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_stored_layer_blob_spoilt_on_disk_is_fetched_again(
    registry: Registry, store: ImageStore, layout: Layout
) -> None:
    reference, first = pushed_and_pulled(registry, store, layout, "spoilt", os.urandom(4096))
    [layer] = store.stored(reference).manifest_json["layers"]
    blob = store.blob_path(layer["digest"])
    good = blob.read_bytes()
    spoil(blob)
    shutil.rmtree(first.layers[0])  # so that the layer is unpacked from the stored blob

    again = pull(store, reference)

    assert again == first
    assert blob.read_bytes() == good
    assert len(os.listdir(first.layers[0])) == 1


def test_a_stored_config_spoilt_on_disk_is_fetched_again(
    registry: Registry, store: ImageStore, layout: Layout
) -> None:
    reference, first = pushed_and_pulled(registry, store, layout, "spoiltconfig", b"a")
    config = store.blob_path(store.stored(reference).manifest_json["config"]["digest"])
    good = config.read_bytes()
    spoil(config)

    assert pull(store, reference) == first
    assert config.read_bytes() == good


def test_index_resolves_to_the_host_platform(
    registry: Registry, store: ImageStore, layout: Layout
) -> None:
    architecture = host_platform()[0]
    mine = layout.image([layer_tar({"platform": architecture.encode()})], architecture=architecture)
    other = layout.image([layer_tar({"platform": b"s390x"})], architecture="s390x")
    windows = layout.image([layer_tar({"platform": b"windows"})], architecture=architecture)
    index = layout.platform_index(
        [
            (other, "linux", "s390x"),
            (windows, "windows", architecture),
            (mine, "linux", architecture),
        ]
    )
    layout.tag(index, "multi")
    reference = f"{registry.repository('multi')}:multi"
    registry.push(layout, "multi", reference, all_platforms=True)

    image = pull(store, reference)

    assert image.digest == mine["digest"]
    assert (image.layers[0] / "platform").read_bytes() == architecture.encode()
    assert len(image.layers) == 1


def test_pull_by_digest(registry: Registry, store: ImageStore, layout: Layout) -> None:
    descriptor = layout.image([layer_tar({"x": b"x"})])
    layout.tag(descriptor, "v1")
    repository = registry.repository("bydigest")
    registry.push(layout, "v1", f"{repository}:v1")

    image = pull(store, f"{repository}@{descriptor['digest']}")

    assert image.digest == descriptor["digest"]
    assert store.resolve(f"{repository}@{descriptor['digest']}") == image


@pytest.mark.root  # overlay whiteouts and opaque xattrs need CAP_MKNOD and CAP_SYS_ADMIN
def test_whiteouts_and_opaque_directories_take_effect_in_the_overlay(
    registry: Registry, store: ImageStore, layout: Layout, tmp_path: Path
) -> None:
    from runtime.rootfs import mount_overlay, unmount

    lower = layer_tar(
        {"etc/gone": b"1", "etc/kept": b"2", "opt/old/a": b"3", "opt/old/b": b"4"},
        dirs=("etc", "opt", "opt/old"),
    )
    upper = layer_tar(
        {"etc/.wh.gone": None, "opt/old/.wh..wh..opq": None, "opt/old/new": b"5"},
        dirs=("etc", "opt", "opt/old"),
    )
    layout.tag(layout.image([lower, upper]), "v1")
    reference = f"{registry.repository('whiteout')}:v1"
    registry.push(layout, "v1", reference)
    image = pull(store, reference)

    rootfs = tmp_path / "rootfs"
    mount_overlay(image.layers, tmp_path / "upper", tmp_path / "work", rootfs)
    try:
        assert tree(rootfs) == ["etc", "etc/kept", "opt", "opt/old", "opt/old/new"]
        assert (rootfs / "opt/old/new").read_bytes() == b"5"
    finally:
        unmount(rootfs)


def test_images_sharing_base_layers_store_them_once(
    registry: Registry, store: ImageStore, layout: Layout
) -> None:
    base = layer_tar({"bin/busybox": b"\x7fELF" + b"\0" * 4096}, dirs=("bin",))
    references = []
    for name in ("web", "worker", "db"):
        layout.tag(layout.image([base, layer_tar({f"srv/{name}": name.encode()})]), name)
        references.append(f"{registry.repository(name)}:1")
        registry.push(layout, name, references[-1])

    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda reference: pull(store, reference), references))

    images = [store.resolve(reference) for reference in references]
    assert len({image.layers[0] for image in images}) == 1
    assert len({image.layers[1] for image in images}) == 3
    assert len(os.listdir(store.layers)) == 4
    base_blobs = [p for p in os.listdir(store.blobs) if not p.startswith(".")]
    assert len(base_blobs) == 3 * 2 + 4  # manifests and configs, then 4 distinct layer blobs


def test_two_pulls_of_one_image_at_once(
    registry: Registry, store: ImageStore, layout: Layout
) -> None:
    layout.tag(layout.image([layer_tar({"f": os.urandom(1 << 20)}) for _ in range(3)]), "v1")
    reference = f"{registry.repository('twice')}:v1"
    registry.push(layout, "v1", reference)

    with ThreadPoolExecutor() as pool:
        results = list(pool.map(lambda _: pull(store, reference), range(2)))

    assert results[0] == results[1] == store.resolve(reference)
    assert not [p for p in os.listdir(store.blobs) if p.startswith(".")]
    assert len(os.listdir(store.layers)) == 3


def test_unknown_tag_and_repository_name_the_reference(
    registry: Registry, store: ImageStore, layout: Layout
) -> None:
    layout.tag(layout.image([layer_tar({"a": b"a"})]), "v1")
    repository = registry.repository("known")
    registry.push(layout, "v1", f"{repository}:v1")

    for reference in (f"{repository}:nope", f"{registry.host}/no/such/repo:v1"):
        message = f"image {reference!r} was not found in its registry"
        with pytest.raises(ManifestUnknown, match=f"^{re.escape(message)}$"):
            pull(store, reference)
    assert not store.root.exists() or store.references() == {}


def test_basic_auth_over_tls_with_stored_credentials(
    secure_registry: Registry,
    store: ImageStore,
    layout: Layout,
    trust_registry: Path,
    docker_config: Path,
) -> None:
    layout.tag(layout.image([layer_tar({"secret": b"s"})]), "v1")
    reference = f"{secure_registry.repository('private')}:v1"
    secure_registry.push(layout, "v1", reference)

    message = f"registry {secure_registry.host} requires authentication:" \
        f" run `corral login {secure_registry.host}`"  # fmt: skip
    with pytest.raises(AuthenticationError, match=f"^{re.escape(message)}$"):
        pull(store, reference)

    store_credentials(
        secure_registry.host, Credentials(USER, "wrong"), docker_config / "config.json"
    )
    message = f"registry {secure_registry.host} refused the credentials of user {USER!r}" \
        f" for {reference.split('/', 1)[1].split(':')[0]}"  # fmt: skip
    with pytest.raises(AuthenticationError, match=f"^{re.escape(message)}$"):
        pull(store, reference)

    store_credentials(
        secure_registry.host, Credentials(USER, PASSWORD), docker_config / "config.json"
    )
    image = pull(store, reference)
    assert (image.layers[0] / "secret").read_bytes() == b"s"
    stored = json.loads((docker_config / "config.json").read_text())
    assert list(stored["auths"]) == [secure_registry.host]


def test_untrusted_certificate_is_refused(
    secure_registry: Registry, store: ImageStore, docker_config: Path
) -> None:
    message = f"registry {secure_registry.host}: its TLS certificate is not trusted"
    with pytest.raises(RegistryError, match=f"^{re.escape(message)}"):
        pull(store, f"{secure_registry.host}/any:v1")
