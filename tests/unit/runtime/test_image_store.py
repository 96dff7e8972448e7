import gzip
import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from runtime.errors import ImageError, ImageNotFound
from runtime.images import Healthcheck, Image, ImageConfig, ImageStore, ImageSummary

pytestmark = pytest.mark.timeout(30)

MTIME = 1_700_000_000  # 2023-11-14T22:13:20Z
Entry = tuple[tarfile.TarInfo, bytes]


def entry(
    name: str,
    kind: bytes = tarfile.REGTYPE,
    *,
    data: bytes = b"",
    mode: int = 0o644,
    linkname: str = "",
    mtime: int = MTIME,
    owner: tuple[int, int] = (0, 0),
    device: tuple[int, int] = (0, 0),
) -> Entry:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data)
    info.mode = mode
    info.linkname = linkname
    info.mtime = mtime
    info.uid, info.gid = owner
    info.devmajor, info.devminor = device
    return info, data


def directory(name: str, mode: int = 0o755, **kwargs: Any) -> Entry:
    return entry(name, tarfile.DIRTYPE, mode=mode, **kwargs)


def tar_bytes(entries: list[Entry]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def build_tar(path: Path, entries: list[Entry], *, compress: bool = False) -> Path:
    data = tar_bytes(entries)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


ROOTFS = [
    directory("etc", mtime=MTIME - 100),
    entry("etc/hostname", data=b"corral\n", mode=0o640),
    directory("bin", mode=0o751),
    entry("bin/tool", data=b"#!/bin/sh\necho hi\n", mode=0o755),
    entry("bin/sh", tarfile.SYMTYPE, linkname="tool", mode=0o777),
    entry("bin/tool2", tarfile.LNKTYPE, linkname="bin/tool"),
    entry("etc/localtime", tarfile.SYMTYPE, linkname="/usr/share/zoneinfo/UTC", mode=0o777),
    directory("run"),
    entry("run/fifo", tarfile.FIFOTYPE, mode=0o620),
    entry("usr/share/doc/readme", data=b"no parent entries\n", mode=0o444),
]


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images")


@pytest.fixture
def rootfs_tar(tmp_path: Path) -> Path:
    return build_tar(tmp_path / "rootfs.tar", ROOTFS)


def read_json(path: Path) -> Any:
    return json.loads(path.read_bytes())


def blob(root: Path, digest: str) -> bytes:
    algorithm, hex_digest = digest.split(":")
    assert algorithm == "sha256"
    data = (root / "blobs" / "sha256" / hex_digest).read_bytes()
    assert hashlib.sha256(data).hexdigest() == hex_digest
    return data


def test_import_and_resolve_unpacks_the_tree(store: ImageStore, rootfs_tar: Path) -> None:
    imported = store.import_tarball(rootfs_tar, "app")
    image = store.resolve("app:latest")

    assert image == imported
    assert image.reference == "app:latest"
    assert image.config == ImageConfig()
    (layer,) = image.layers
    assert layer.is_absolute()
    assert stat.S_IMODE(layer.stat().st_mode) == 0o755

    hostname = layer / "etc/hostname"
    assert hostname.read_bytes() == b"corral\n"
    assert stat.S_IMODE(hostname.stat().st_mode) == 0o640
    assert hostname.stat().st_mtime == MTIME
    assert (layer / "etc").stat().st_mtime == MTIME - 100
    assert stat.S_IMODE((layer / "bin").stat().st_mode) == 0o751
    assert stat.S_IMODE((layer / "bin/tool").stat().st_mode) == 0o755
    assert os.readlink(layer / "bin/sh") == "tool"
    assert os.readlink(layer / "etc/localtime") == "/usr/share/zoneinfo/UTC"
    assert (layer / "etc/localtime").lstat().st_mtime == MTIME
    assert (layer / "bin/tool2").stat().st_ino == (layer / "bin/tool").stat().st_ino
    assert (layer / "bin/tool").stat().st_nlink == 2
    fifo = (layer / "run/fifo").lstat()
    assert stat.S_ISFIFO(fifo.st_mode)
    assert stat.S_IMODE(fifo.st_mode) == 0o620
    assert stat.S_IMODE((layer / "usr/share/doc").stat().st_mode) == 0o755
    assert stat.S_IMODE((layer / "usr/share/doc/readme").stat().st_mode) == 0o444


def test_store_is_an_oci_image_layout(store: ImageStore, rootfs_tar: Path, tmp_path: Path) -> None:
    image = store.import_tarball(rootfs_tar, "localhost:5000/app")
    root = tmp_path / "images"

    assert read_json(root / "oci-layout") == {"imageLayoutVersion": "1.0.0"}
    index = read_json(root / "index.json")
    assert index["schemaVersion"] == 2
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    (descriptor,) = index["manifests"]
    assert descriptor["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert descriptor["digest"] == image.digest
    assert descriptor["annotations"] == {
        "org.opencontainers.image.ref.name": "localhost:5000/app:latest"
    }

    manifest_bytes = blob(root, image.digest)
    assert descriptor["size"] == len(manifest_bytes)
    manifest = json.loads(manifest_bytes)
    assert manifest["schemaVersion"] == 2
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    config_bytes = blob(root, manifest["config"]["digest"])
    assert manifest["config"]["size"] == len(config_bytes)
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
    layer_bytes = blob(root, layer["digest"])
    assert layer_bytes == rootfs_tar.read_bytes()
    assert layer["size"] == len(layer_bytes)

    config = json.loads(config_bytes)
    assert config["os"] == "linux"
    assert config["architecture"] == {"x86_64": "amd64", "aarch64": "arm64"}.get(
        os.uname().machine, config["architecture"]
    )
    assert config["config"] == {}
    assert config["created"] == "2023-11-14T22:13:20Z"
    assert config["rootfs"] == {"type": "layers", "diff_ids": [layer["digest"]]}

    blobs = sorted(p.name for p in (root / "blobs/sha256").iterdir())
    assert blobs == sorted(d.split(":")[1] for d in (image.digest, *_digests(manifest)))
    assert [p.name for p in (root / "layers").iterdir()] == [layer["digest"].split(":")[1]]
    assert image.layers == (root / "layers" / layer["digest"].split(":")[1],)


def _digests(manifest: Any) -> list[str]:
    return [manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])]


def test_reimport_is_idempotent_and_shares_blobs(
    store: ImageStore, rootfs_tar: Path, tmp_path: Path
) -> None:
    root = tmp_path / "images"
    first = store.import_tarball(rootfs_tar, "app")
    layer_inode = first.layers[0].stat().st_ino
    again = store.import_tarball(rootfs_tar, "app:latest")
    other = store.import_tarball(rootfs_tar, "other:1")

    assert again == first
    assert again.layers[0].stat().st_ino == layer_inode
    assert other.digest == first.digest
    assert other.layers == first.layers
    assert len(list((root / "blobs/sha256").iterdir())) == 3
    assert len(list((root / "layers").iterdir())) == 1
    names = [
        m["annotations"]["org.opencontainers.image.ref.name"]
        for m in read_json(root / "index.json")["manifests"]
    ]
    assert sorted(names) == ["app:latest", "other:1"]


def test_reimport_under_a_reference_replaces_its_mapping(
    store: ImageStore, rootfs_tar: Path, tmp_path: Path
) -> None:
    old = store.import_tarball(rootfs_tar, "app")
    newer = build_tar(tmp_path / "newer.tar", [entry("hello", data=b"v2")])
    new = store.import_tarball(newer, "app")

    assert new.digest != old.digest
    assert store.resolve("app") == new
    assert (new.layers[0] / "hello").read_bytes() == b"v2"
    assert [s.reference for s in store.list()] == ["app:latest"]


def test_gzip_tarball_is_stored_uncompressed(
    store: ImageStore, rootfs_tar: Path, tmp_path: Path
) -> None:
    gzipped = build_tar(tmp_path / "rootfs.tar.gz", ROOTFS, compress=True)
    assert gzipped.read_bytes()[:2] == b"\x1f\x8b"

    zipped_image = store.import_tarball(gzipped, "zipped")
    plain_image = store.import_tarball(rootfs_tar, "plain")

    assert zipped_image.digest == plain_image.digest
    assert (zipped_image.layers[0] / "etc/hostname").read_bytes() == b"corral\n"


def test_list_summarizes_images_sorted_by_reference(
    store: ImageStore, rootfs_tar: Path, tmp_path: Path
) -> None:
    assert store.list() == []
    small = build_tar(tmp_path / "small.tar", [entry("a", data=b"a", mtime=0)])
    zeta = store.import_tarball(rootfs_tar, "zeta")
    alpha = store.import_tarball(small, "alpha:1")

    assert store.list() == [
        ImageSummary("alpha:1", alpha.digest, small.stat().st_size, "1970-01-01T00:00:00Z"),
        ImageSummary("zeta:latest", zeta.digest, rootfs_tar.stat().st_size, "2023-11-14T22:13:20Z"),
    ]


def test_resolve_unknown_reference(store: ImageStore, tmp_path: Path) -> None:
    with pytest.raises(ImageNotFound, match=r"^image 'nothing:latest' is not in the image store$"):
        store.resolve("nothing")
    assert not (tmp_path / "images").exists()


def test_resolve_reads_oci_config_fields(
    store: ImageStore, rootfs_tar: Path, tmp_path: Path
) -> None:
    """An image written by another tool (a pull) is read by the OCI field names."""
    root = tmp_path / "images"
    imported = store.import_tarball(rootfs_tar, "base")
    manifest = json.loads(blob(root, imported.digest))
    config = json.loads(blob(root, manifest["config"]["digest"]))
    config["config"] = {
        "Env": ["PATH=/bin", "A=b c"],
        "Entrypoint": ["/bin/tool"],
        "Cmd": ["--serve", "8080"],
        "WorkingDir": "/srv",
        "User": "1000:1000",
        "StopSignal": "SIGQUIT",
        "ExposedPorts": {"8080/tcp": {}, "53/udp": {}},
        "Volumes": {"/data": {}, "/cache": {}},
        "Healthcheck": {
            "Test": ["CMD-SHELL", "tool --check"],
            "Interval": 5_000_000_000,
            "Timeout": 1_500_000_000,
            "StartPeriod": 0,
            "Retries": 3,
        },
    }
    manifest["config"] = put_blob(root, json.dumps(config).encode())
    manifest_descriptor = put_blob(root, json.dumps(manifest).encode())
    index = read_json(root / "index.json")
    manifest_descriptor["annotations"] = {"org.opencontainers.image.ref.name": "pulled:1"}
    index["manifests"].append(manifest_descriptor)
    (root / "index.json").write_text(json.dumps(index))

    image = store.resolve("pulled:1")

    assert image == Image(
        reference="pulled:1",
        digest=manifest_descriptor["digest"],
        config=ImageConfig(
            env=("PATH=/bin", "A=b c"),
            entrypoint=("/bin/tool",),
            cmd=("--serve", "8080"),
            working_dir="/srv",
            user="1000:1000",
            stop_signal="SIGQUIT",
            exposed_ports=("53/udp", "8080/tcp"),
            volumes=("/cache", "/data"),
            healthcheck=Healthcheck(
                test=("CMD-SHELL", "tool --check"), interval=5.0, timeout=1.5, retries=3
            ),
        ),
        layers=imported.layers,
    )


def put_blob(root: Path, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs/sha256" / digest).write_bytes(data)
    return {"mediaType": "unused", "digest": f"sha256:{digest}", "size": len(data)}


def test_corrupt_blob_is_reported(store: ImageStore, rootfs_tar: Path, tmp_path: Path) -> None:
    image = store.import_tarball(rootfs_tar, "app")
    manifest = tmp_path / "images/blobs/sha256" / image.digest.split(":")[1]
    manifest.write_bytes(manifest.read_bytes() + b" ")

    message = f"blob {image.digest} is corrupt: its content does not match its digest"
    with pytest.raises(ImageError, match=f"^{message}$"):
        store.resolve("app")


@pytest.mark.root  # trusted.* xattrs need CAP_SYS_ADMIN
def test_later_member_replaces_earlier_and_whiteouts_become_overlay_whiteouts(
    store: ImageStore, tmp_path: Path
) -> None:
    tar = build_tar(
        tmp_path / "layer.tar",
        [
            entry("f", data=b"first"),
            entry("f", data=b"second"),
            directory("d"),
            entry("d/.wh..wh..opq"),
            entry(".wh.gone"),
            entry("d/kept", data=b"k"),
        ],
    )
    (layer,) = store.import_tarball(tar, "app").layers

    assert (layer / "f").read_bytes() == b"second"
    assert sorted(p.name for p in layer.iterdir()) == ["d", "f", "gone"]
    gone = (layer / "gone").lstat()
    assert stat.S_ISCHR(gone.st_mode)
    assert os.major(gone.st_rdev) == os.minor(gone.st_rdev) == 0
    assert [p.name for p in (layer / "d").iterdir()] == ["kept"]
    assert os.getxattr(layer / "d", "trusted.overlay.opaque") == b"y"
    assert os.listxattr(layer) == []


def test_hard_link_to_a_symlink_links_the_symlink_itself(store: ImageStore, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("secret")
    tar = build_tar(
        tmp_path / "layer.tar",
        [
            entry("s", tarfile.SYMTYPE, linkname=str(secret)),
            entry("h", tarfile.LNKTYPE, linkname="s"),
        ],
    )
    (layer,) = store.import_tarball(tar, "app").layers

    assert os.readlink(layer / "h") == str(secret)
    assert (layer / "h").lstat().st_ino == (layer / "s").lstat().st_ino
    assert secret.stat().st_nlink == 1


def test_concurrent_imports_keep_every_reference(store: ImageStore, tmp_path: Path) -> None:
    tars = [build_tar(tmp_path / f"{n}.tar", [entry("n", data=str(n).encode())]) for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        images = list(pool.map(lambda n: store.import_tarball(tars[n % 8], f"app{n}"), range(16)))

    assert [s.reference for s in store.list()] == sorted(f"app{n}:latest" for n in range(16))
    assert [store.resolve(f"app{n}") for n in range(16)] == images
    assert len(list((tmp_path / "images/layers").iterdir())) == 8


ESCAPES = [
    pytest.param(
        [entry("../evil", data=b"x")],
        "layer member '../evil' escapes the layer root with '../evil'",
        id="dotdot",
    ),
    pytest.param(
        [directory("a"), entry("a/../../evil", data=b"x")],
        "layer member 'a/../../evil' escapes the layer root with 'a/../../evil'",
        id="nested-dotdot",
    ),
    pytest.param(
        [entry("{outside}/abs", data=b"x")],
        "layer member '{outside}/abs' has an absolute path '{outside}/abs'",
        id="absolute",
    ),
    pytest.param(
        [
            entry("link", tarfile.SYMTYPE, linkname="{outside}"),
            entry("link/passwd", data=b"x"),
        ],
        "layer member 'link/passwd' goes through 'link', which is a symlink or not a directory",
        id="through-absolute-symlink",
    ),
    pytest.param(
        [
            directory("a"),
            entry("a/up", tarfile.SYMTYPE, linkname="../.."),
            entry("a/up/outside/passwd", data=b"x"),
        ],
        "layer member 'a/up/outside/passwd' goes through 'a/up',"
        " which is a symlink or not a directory",
        id="through-relative-symlink",
    ),
    pytest.param(
        [entry("hard", tarfile.LNKTYPE, linkname="../outside/secret")],
        "layer member 'hard' escapes the layer root with '../outside/secret'",
        id="hard-link-dotdot",
    ),
    pytest.param(
        [entry("hard", tarfile.LNKTYPE, linkname="{outside}/secret")],
        "layer member 'hard' has an absolute path '{outside}/secret'",
        id="hard-link-absolute",
    ),
    pytest.param(
        [
            entry("link", tarfile.SYMTYPE, linkname="{outside}"),
            entry("hard", tarfile.LNKTYPE, linkname="link/secret"),
        ],
        "layer member 'hard' goes through 'link', which is a symlink or not a directory",
        id="hard-link-through-symlink",
    ),
]


@pytest.mark.parametrize(("entries", "message"), ESCAPES)
def test_escaping_archive_is_refused_and_leaves_nothing(
    store: ImageStore, tmp_path: Path, entries: list[Entry], message: str
) -> None:
    # Escapes are aimed at a directory of the test, not at the host's /etc.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("secret")
    for info, _ in entries:
        info.name = info.name.format(outside=outside)
        info.linkname = info.linkname.format(outside=outside)
    store.import_tarball(build_tar(tmp_path / "ok.tar", [entry("ok")]), "ok")
    root = tmp_path / "images"
    before = sorted(p.name for p in (root / "blobs/sha256").iterdir())
    evil = build_tar(tmp_path / "evil.tar", entries)

    message = f"cannot import {evil} as 'evil:latest': {message.format(outside=outside)}"
    with pytest.raises(ImageError, match=f"^{re.escape(message)}$"):
        store.import_tarball(evil, "evil")

    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_text() == "secret"
    assert not (tmp_path / "evil").exists()
    assert [s.reference for s in store.list()] == ["ok:latest"]
    assert len(list((root / "layers").iterdir())) == 1
    assert sorted(p.name for p in (root / "blobs/sha256").iterdir()) == before


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(None, r"\[Errno 2\] No such file or directory: '.*'", id="missing"),
        pytest.param(b"no tar" * 100, "invalid tar archive: invalid header", id="not-tar"),
        pytest.param(
            b"\x1f\x8b not gzip",
            "corrupt gzip data: Error -3 while decompressing data: unknown compression method",
            id="not-gzip",
        ),
        pytest.param(
            gzip.compress(b"x" * 10_000)[:-10],
            "corrupt gzip data: Compressed file ended before the end-of-stream marker was reached",
            id="truncated-gzip",
        ),
        pytest.param(
            tar_bytes([entry("f", mtime=10**15)]),
            "modification time 1000000000000000 is out of range",
            id="mtime-out-of-range",
        ),
    ],
)
def test_unreadable_archive(
    store: ImageStore, tmp_path: Path, content: bytes | None, reason: str
) -> None:
    tarball = tmp_path / "archive"
    if content is not None:
        tarball.write_bytes(content)
    prefix = re.escape(f"cannot import {tarball} as 'app:latest': ")
    with pytest.raises(ImageError, match=f"^{prefix}{reason}$"):
        store.import_tarball(tarball, "app")
    assert store.list() == []
    assert list((tmp_path / "images/blobs/sha256").iterdir()) == []
    assert list((tmp_path / "images/layers").iterdir()) == []


def test_invalid_reference_is_refused_before_import(
    store: ImageStore, rootfs_tar: Path, tmp_path: Path
) -> None:
    with pytest.raises(ImageError, match=r"^invalid image reference 'App': "):
        store.import_tarball(rootfs_tar, "App")
    assert not (tmp_path / "images").exists()


@pytest.mark.root
def test_ownership_special_bits_and_devices_are_preserved(
    store: ImageStore, tmp_path: Path
) -> None:
    tar = build_tar(
        tmp_path / "rootfs.tar",
        [
            directory(".", mode=0o750, owner=(10, 20)),
            directory("home", mode=0o1777, owner=(1000, 1000)),
            entry("bin/su", data=b"su", mode=0o4755, owner=(0, 0)),
            entry("bin/wall", data=b"wall", mode=0o2755, owner=(0, 5)),
            entry("home/user", data=b"mine", mode=0o600, owner=(1234, 5678)),
            entry("home/link", tarfile.SYMTYPE, linkname="user", owner=(1234, 5678)),
            entry("dev/null", tarfile.CHRTYPE, mode=0o666, device=(1, 3)),
            entry("dev/loop0", tarfile.BLKTYPE, mode=0o660, owner=(0, 6), device=(7, 0)),
        ],
    )
    (layer,) = store.import_tarball(tar, "owned").layers

    def owner_and_mode(name: str) -> tuple[int, int, int]:
        info = (layer / name).lstat()
        return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)

    assert owner_and_mode(".") == (10, 20, 0o750)
    assert owner_and_mode("home") == (1000, 1000, 0o1777)
    assert owner_and_mode("bin/su") == (0, 0, 0o4755)
    assert owner_and_mode("bin/wall") == (0, 5, 0o2755)
    assert owner_and_mode("home/user") == (1234, 5678, 0o600)
    assert owner_and_mode("home/link")[:2] == (1234, 5678)
    null = (layer / "dev/null").lstat()
    assert stat.S_ISCHR(null.st_mode)
    assert (os.major(null.st_rdev), os.minor(null.st_rdev)) == (1, 3)
    assert owner_and_mode("dev/null") == (0, 0, 0o666)
    loop = (layer / "dev/loop0").lstat()
    assert stat.S_ISBLK(loop.st_mode)
    assert (os.major(loop.st_rdev), os.minor(loop.st_rdev)) == (7, 0)
    assert owner_and_mode("dev/loop0") == (0, 6, 0o660)


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs GNU tar to write sparse members")
@pytest.mark.parametrize("tar_format", ["gnu", "posix"])
def test_sparse_members_are_unpacked_with_their_holes(
    store: ImageStore, tmp_path: Path, tar_format: str
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    holes = source / "holes"
    with holes.open("wb") as file:
        file.truncate(3 << 20)
        file.write(b"head")
        file.seek(3_000_000)
        file.write(b"tail")
    tarball = tmp_path / "sparse.tar"
    subprocess.run(
        [
            "tar",
            "--sparse",
            f"--format={tar_format}",
            "-cf",
            str(tarball),
            "-C",
            str(source),
            "holes",
        ],
        check=True,
    )

    (layer,) = store.import_tarball(tarball, "sparse").layers

    assert (layer / "holes").read_bytes() == holes.read_bytes()
