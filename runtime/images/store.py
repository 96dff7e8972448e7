"""A content-addressed image store, laid out as an OCI image layout.

    root/oci-layout              {"imageLayoutVersion": "1.0.0"}
    root/index.json              references -> manifest digests (ref.name annotations)
    root/blobs/sha256/<hex>      layer tars, image configs and manifests
    root/layers/<diff-id hex>/   each layer unpacked once, shared by every image using it
    root/.lock                   flock held by writers of index.json

Blobs, layer directories and index.json only ever appear whole: each is
written under a temporary name and renamed into place. Readers therefore take
no lock; writers lock so that concurrent imports do not lose each other's
references.
"""

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from runtime.errors import ImageError, ImageNotFound
from runtime.images.archive import copy_uncompressed, newest_mtime, unpack_layer
from runtime.images.reference import normalize_reference

INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar"
REF_NAME = "org.opencontainers.image.ref.name"

_T = TypeVar("_T")
_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
# Python's machine names to the GOARCH values OCI configs use.
_ARCHITECTURES = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "i386": "386",
    "i686": "386",
}


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an OCI image config's `config` object that run a container."""

    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    working_dir: str = ""
    user: str = ""
    stop_signal: str = ""


@dataclass(frozen=True)
class Image:
    reference: str  # normalized
    digest: str  # "sha256:..." of the manifest
    config: ImageConfig
    layers: tuple[Path, ...]  # unpacked layer directories, lowest first


@dataclass(frozen=True)
class ImageSummary:
    reference: str
    digest: str
    size: int  # bytes of the layer blobs
    created: str  # RFC 3339


class ImageStore:
    def __init__(self, root: Path) -> None:
        self._root = root.absolute()
        self._blobs = self._root / "blobs" / "sha256"
        self._layers = self._root / "layers"
        self._index = self._root / "index.json"

    def import_tarball(self, tarball: Path, reference: str) -> Image:
        """Import a root filesystem tarball (plain or gzipped) as a one-layer image.

        The image's `created` time is the newest mtime in the archive, so
        importing identical content again yields the identical image.
        """
        reference = normalize_reference(reference)
        try:
            self._prepare()
            diff_id, size, created = self._import_layer(tarball)
            config = self._put_json(
                CONFIG_MEDIA_TYPE,
                {
                    "created": created,
                    "architecture": _host_architecture(),
                    "os": "linux",
                    "config": {},
                    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                },
            )
            layer = {"mediaType": LAYER_MEDIA_TYPE, "digest": diff_id, "size": size}
            manifest = self._put_json(
                MANIFEST_MEDIA_TYPE,
                {
                    "schemaVersion": 2,
                    "mediaType": MANIFEST_MEDIA_TYPE,
                    "config": config,
                    "layers": [layer],
                },
            )
            self._set_reference(reference, manifest)
        except (OSError, ImageError) as exc:
            raise ImageError(f"cannot import {tarball} as {reference!r}: {exc}") from exc
        return self._image(reference, manifest["digest"])

    def resolve(self, reference: str) -> Image:
        reference = normalize_reference(reference)
        digest = self._references().get(reference)
        if digest is None:
            raise ImageNotFound(reference)
        return self._image(reference, digest)

    def _prepare(self) -> None:
        self._blobs.mkdir(parents=True, exist_ok=True)
        self._layers.mkdir(exist_ok=True)
        layout = self._root / "oci-layout"
        if not layout.exists():
            _atomic_write(layout, _canonical_json({"imageLayoutVersion": "1.0.0"}))

    def _import_layer(self, tarball: Path) -> tuple[str, int, str]:
        """Store `tarball` uncompressed as a blob and unpack it: (diff id, size, created)."""
        fd, name = tempfile.mkstemp(dir=self._blobs, prefix=".tmp-")
        staged = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                hex_digest = copy_uncompressed(tarball, out)
                size = out.tell()
                out.flush()
                os.fsync(out.fileno())
            created = _rfc3339(newest_mtime(staged))
            self._unpack_once(staged, hex_digest)
            staged.chmod(0o644)
            staged.replace(self._blobs / hex_digest)
        finally:
            staged.unlink(missing_ok=True)
        return f"sha256:{hex_digest}", size, created

    def _unpack_once(self, blob: Path, hex_digest: str) -> None:
        layer = self._layers / hex_digest
        if layer.is_dir():
            return
        staging = Path(tempfile.mkdtemp(dir=self._layers, prefix=".tmp-"))
        try:
            staging.chmod(0o755)  # unless the archive has a "." member saying otherwise
            unpack_layer(blob, staging)
            try:
                staging.rename(layer)
            except OSError:
                if not layer.is_dir():
                    raise
                # A concurrent import of the same layer renamed its copy first.
        finally:
            if staging.exists():
                shutil.rmtree(staging)

    def _put_json(self, media_type: str, document: dict[str, Any]) -> dict[str, Any]:
        """Store `document` as a blob and return its OCI descriptor."""
        data = _canonical_json(document)
        hex_digest = hashlib.sha256(data).hexdigest()
        path = self._blobs / hex_digest
        if not path.exists():
            _atomic_write(path, data)
        return {"mediaType": media_type, "digest": f"sha256:{hex_digest}", "size": len(data)}

    def _set_reference(self, reference: str, manifest: dict[str, Any]) -> None:
        with self._locked():
            index = self._read_index()
            manifests = [m for m in index["manifests"] if _ref_name(m) != reference]
            manifests.append({**manifest, "annotations": {REF_NAME: reference}})
            index["manifests"] = manifests
            _atomic_write(self._index, _canonical_json(index))

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self._root / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _read_index(self) -> dict[str, Any]:
        try:
            index = json.loads(self._index.read_bytes())
        except FileNotFoundError:
            return {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": []}
        except (OSError, ValueError) as exc:
            raise ImageError(f"cannot read {self._index}: {exc}") from exc
        if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
            raise ImageError(f"{self._index} is not an OCI image index")
        return index

    def _references(self) -> dict[str, str]:
        """Reference -> manifest digest, from index.json."""
        references: dict[str, str] = {}
        for entry in self._read_index()["manifests"]:
            name = _ref_name(entry)
            if name is not None:
                references[name] = _field(entry, "digest", str, str(self._index))
        return references

    def _image(self, reference: str, digest: str) -> Image:
        _, config = self._manifest_and_config(digest)
        where = f"config of {digest}"
        diff_ids = _field(_field(config, "rootfs", dict, where), "diff_ids", list, where)
        layers = []
        for diff_id in diff_ids:
            match = _DIGEST.fullmatch(diff_id) if isinstance(diff_id, str) else None
            if match is None:
                raise ImageError(f"image {reference!r} has a malformed diff id {diff_id!r}")
            layer = self._layers / match[1]
            if not layer.is_dir():
                raise ImageError(f"image {reference!r} lacks its unpacked layer {diff_id}")
            layers.append(layer)
        return Image(reference, digest, _image_config(config, where), tuple(layers))

    def _manifest_and_config(self, digest: str) -> tuple[dict[str, Any], dict[str, Any]]:
        manifest = self._blob_json(digest)
        where = f"manifest {digest}"
        config_digest = _field(_field(manifest, "config", dict, where), "digest", str, where)
        return manifest, self._blob_json(config_digest)

    def _blob_json(self, digest: str) -> dict[str, Any]:
        """Read a JSON blob, checking it against its digest."""
        match = _DIGEST.fullmatch(digest)
        if match is None:
            raise ImageError(f"malformed blob digest {digest!r} in {self._index}")
        try:
            data = (self._blobs / match[1]).read_bytes()
        except OSError as exc:
            raise ImageError(f"cannot read blob {digest}: {exc}") from exc
        if hashlib.sha256(data).hexdigest() != match[1]:
            raise ImageError(f"blob {digest} is corrupt: its content does not match its digest")
        try:
            document = json.loads(data)
        except ValueError as exc:
            raise ImageError(f"blob {digest} is not valid JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise ImageError(f"blob {digest} is not a JSON object")
        return document

    # Last, so that `list` in the annotations above is still the builtin.
    def list(self) -> list[ImageSummary]:
        summaries = []
        for reference, digest in sorted(self._references().items()):
            manifest, config = self._manifest_and_config(digest)
            where = f"manifest {digest}"
            layers = _field(manifest, "layers", list, where)
            size = sum(_field(layer, "size", int, where) for layer in layers)
            created = config.get("created", "")
            summaries.append(ImageSummary(reference, digest, size, str(created)))
        return summaries


def _image_config(config: dict[str, Any], where: str) -> ImageConfig:
    """Read the OCI image config's `config` object (Env, Entrypoint, Cmd, ...)."""
    settings = config.get("config") or {}
    if not isinstance(settings, dict):
        raise ImageError(f"{where}: 'config' is not an object")
    return ImageConfig(
        env=_strings(settings, "Env", where) or (),
        entrypoint=_strings(settings, "Entrypoint", where),
        cmd=_strings(settings, "Cmd", where),
        working_dir=_string(settings, "WorkingDir", where),
        user=_string(settings, "User", where),
        stop_signal=_string(settings, "StopSignal", where),
    )


def _strings(settings: dict[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    value = settings.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ImageError(f"{where}: {key} is not a list of strings")
    return tuple(value)


def _string(settings: dict[str, Any], key: str, where: str) -> str:
    value = settings.get(key) or ""
    if not isinstance(value, str):
        raise ImageError(f"{where}: {key} is not a string")
    return value


def _field(document: Any, key: str, kind: type[_T], where: str) -> _T:
    value = document.get(key) if isinstance(document, dict) else None
    if not isinstance(value, kind):
        raise ImageError(f"{where} has no valid {key!r}")
    return value


def _ref_name(entry: Any) -> str | None:
    annotations = entry.get("annotations") if isinstance(entry, dict) else None
    name = annotations.get(REF_NAME) if isinstance(annotations, dict) else None
    return name if isinstance(name, str) else None


def _canonical_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _host_architecture() -> str:
    machine = os.uname().machine
    return _ARCHITECTURES.get(machine, machine)


def _rfc3339(timestamp: int) -> str:
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError) as exc:
        raise ImageError(f"modification time {timestamp} is out of range") from exc


def _atomic_write(path: Path, data: bytes) -> None:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(name, 0o644)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
