"""The image commands as a user runs them: pull, images, inspect, save, load,
rmi, prune, login and logout."""

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from runtime.images import ImageStore
from tests.integration.registry.conftest import PASSWORD, USER, Registry, needs_registry
from tests.integration.registry.oci_builder import Layout, digest_of, layer_tar

pytestmark = [needs_registry, pytest.mark.timeout(120)]
REPO = Path(__file__).resolve().parents[3]


def corral(
    data_root: Path, *args: str, stdin: str = "", **env: str
) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *args],
        env={**os.environ, "CORRAL_DATA_ROOT": str(data_root), "PYTHONPATH": str(REPO), **env},
        input=stdin, capture_output=True, text=True, timeout=60, cwd=data_root.parent,
    )  # fmt: skip


def files(layers: list[str]) -> dict[str, bytes]:
    found = {}
    for layer in layers:
        for path in Path(layer).rglob("*"):
            if path.is_file():
                found[str(path.relative_to(layer))] = path.read_bytes()
    return found


@pytest.fixture
def pushed(registry: Registry, tmp_path: Path) -> str:
    layout = Layout(tmp_path / "layout")
    layers = [layer_tar({"base": b"b"}), layer_tar({"app/run": b"r"}, dirs=("app",))]
    layout.tag(layout.image(layers, config={"Cmd": ["/app/run"]}), "v1")
    reference = f"{registry.repository('cli')}:v1"
    registry.push(layout, "v1", reference)
    return reference


def test_pull_list_inspect_save_load_remove(pushed: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    pulled = corral(data, "image", "pull", pushed)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.count(": pull complete") == 2
    assert corral(data, "images").stdout.splitlines()[1].startswith(pushed)

    inspected = json.loads(corral(data, "image", "inspect", pushed).stdout)
    assert inspected[0]["Reference"] == pushed
    assert inspected[0]["Config"]["cmd"] == ["/app/run"]
    assert files(inspected[0]["Layers"]) == {"base": b"b", "app/run": b"r"}

    archive = tmp_path / "out.tar"
    saved = corral(data, "image", "save", "-o", str(archive), pushed)
    assert saved.returncode == 0, saved.stderr
    copied = tmp_path / "copied"
    source = f"oci-archive:{archive}:{pushed}"
    skopeo = ["skopeo", "copy", "--quiet", source, f"dir:{copied}"]
    subprocess.run(skopeo, check=True, timeout=60, capture_output=True)
    assert (copied / "manifest.json").is_file()

    other = tmp_path / "other"
    loaded = corral(other, "image", "load", "-i", str(archive))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.startswith(f"loaded {pushed} ")
    reloaded = json.loads(corral(other, "image", "inspect", pushed).stdout)
    assert files(reloaded[0]["Layers"]) == {"base": b"b", "app/run": b"r"}

    removed = corral(data, "rmi", pushed)
    assert removed.returncode == 0, removed.stderr
    store = ImageStore(data / "images")
    assert os.listdir(store.blobs) == []
    assert os.listdir(store.layers) == []
    missing = corral(data, "image", "inspect", pushed)
    assert missing.returncode == 1
    assert f"image {pushed!r} is not in the image store" in missing.stderr


def test_load_a_docker_save_archive(tmp_path: Path) -> None:
    layer = layer_tar({"hello": b"world"})
    rootfs = {"type": "layers", "diff_ids": [digest_of(layer)]}
    config = json.dumps({"os": "linux", "config": {"Cmd": ["/hello"]}, "rootfs": rootfs})
    archive = tmp_path / "docker.tar"
    with tarfile.open(archive, "w") as tar:
        for name, content in {
            "abc/layer.tar": layer,
            "cfg.json": config.encode(),
            "manifest.json": json.dumps(
                [{"Config": "cfg.json", "RepoTags": ["hello:1"], "Layers": ["abc/layer.tar"]}]
            ).encode(),
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    data = tmp_path / "data"

    loaded = corral(data, "image", "load", "-i", str(archive))

    assert loaded.returncode == 0, loaded.stderr
    image = ImageStore(data / "images").resolve("hello:1")
    assert (image.layers[0] / "hello").read_bytes() == b"world"
    assert image.config.cmd == ("/hello",)


def test_login_logout_and_pull_over_tls(
    secure_registry: Registry, trust_registry: Path, docker_config: Path, tmp_path: Path
) -> None:
    layout = Layout(tmp_path / "layout")
    layout.tag(layout.image([layer_tar({"private": b"p"})]), "v1")
    reference = f"{secure_registry.repository('login')}:v1"
    secure_registry.push(layout, "v1", reference)
    data, host = tmp_path / "data", secure_registry.host

    refused = corral(data, "login", "-u", USER, "--password-stdin", host, stdin="nope\n")
    assert refused.returncode == 1
    assert f"registry {host} refused the credentials of user {USER!r}" in refused.stderr
    assert not (docker_config / "config.json").exists()

    login = corral(data, "login", "-u", USER, "--password-stdin", host, stdin=f"{PASSWORD}\n")
    assert login.returncode == 0, login.stderr
    assert list(json.loads((docker_config / "config.json").read_text())["auths"]) == [host]
    assert corral(data, "image", "pull", reference).returncode == 0

    assert corral(data, "logout", host).stdout == f"removed the credentials of {host}\n"
    assert json.loads((docker_config / "config.json").read_text())["auths"] == {}
    denied = corral(data, "image", "pull", reference)
    assert denied.returncode == 1
    assert f"registry {host} requires authentication" in denied.stderr


@pytest.mark.root
def test_prune_keeps_layers_a_mounted_overlay_uses(pushed: str, tmp_path: Path) -> None:
    from runtime.rootfs import mount_overlay, unmount

    data = tmp_path / "data"
    assert corral(data, "image", "pull", pushed).returncode == 0
    image = ImageStore(data / "images").resolve(pushed)
    rootfs = tmp_path / "rootfs"
    mount_overlay(image.layers, tmp_path / "upper", tmp_path / "work", rootfs)
    try:
        assert corral(data, "rmi", pushed).returncode == 0
        assert all(layer.is_dir() for layer in image.layers)
        assert (rootfs / "app/run").read_bytes() == b"r"
    finally:
        unmount(rootfs)
    pruned = corral(data, "image", "prune")
    assert pruned.stdout.startswith("removed 0 blobs and 2 layers")
    assert not any(layer.exists() for layer in image.layers)


@pytest.mark.root
def test_prune_all_removes_the_images_no_mounted_overlay_uses(
    registry: Registry, tmp_path: Path
) -> None:
    from runtime.rootfs import mount_overlay, unmount

    layout = Layout(tmp_path / "layout")
    base = layer_tar({"base": b"b"})
    layout.tag(layout.image([base]), "base")
    layout.tag(layout.image([base, layer_tar({"app": b"a"})]), "app")
    repository = registry.repository("prune")
    base_ref, app_ref = f"{repository}:base", f"{repository}:app"
    registry.push(layout, "base", base_ref)
    registry.push(layout, "app", app_ref)
    data = tmp_path / "data"
    for reference in (base_ref, app_ref):
        assert corral(data, "image", "pull", reference).returncode == 0
    store = ImageStore(data / "images")
    app = store.resolve(app_ref)
    rootfs = tmp_path / "rootfs"
    mount_overlay(app.layers, tmp_path / "upper", tmp_path / "work", rootfs)
    try:
        pruned = corral(data, "image", "prune", "-a")
        assert pruned.returncode == 0, pruned.stderr
        assert pruned.stdout.startswith(f"untagged {base_ref}\nremoved 2 blobs and 0 layers")
        assert store.references() == {app_ref: app.digest}
        assert store.resolve(app_ref) == app
    finally:
        unmount(rootfs)

    pruned = corral(data, "image", "prune", "--all")
    assert pruned.stdout.startswith(f"untagged {app_ref}\nremoved 4 blobs and 2 layers")
    assert store.references() == {}
    assert os.listdir(store.blobs) == os.listdir(store.layers) == []
