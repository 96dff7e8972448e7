"""Image archives: `load` of `docker save` and OCI layout archives, `save` as OCI.

A `docker save` archive has `manifest.json` listing each image's config file,
tags and layer tars; an OCI archive is a tar of an image layout (`oci-layout`,
`index.json`, `blobs/`), its images named by the `io.containerd.image.name`
or `org.opencontainers.image.ref.name` annotation. Either way each blob is
copied into the store checked against its digest, and layers are checked
against the config's diff ids as they are unpacked.

`save` writes an OCI layout archive that `skopeo copy oci-archive:FILE:REF`
and `docker load` read; Docker schema 2 manifests are rewritten with OCI
media types, the blobs they point at staying the same.
"""

import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from runtime.errors import BlobCorrupt, ImageError
from runtime.images.compression import compression_of
from runtime.images.media import (
    DIGEST,
    INDEX_TYPES,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_LAYER_GZIP,
    OCI_LAYER_ZSTD,
    OCI_MANIFEST,
    TO_OCI,
    Descriptor,
    descriptor,
    load_json,
    media_type_of,
    parse_manifest,
    select_platform,
)
from runtime.images.reference import normalize_reference
from runtime.images.store import REF_NAME, Image, ImageStore, diff_ids

CONTAINERD_NAME = "io.containerd.image.name"
_CHUNK = 1 << 20


def load_archive(store: ImageStore, path: Path) -> list[Image]:
    """Load every named image of the archive at `path` (tar, possibly compressed)."""
    try:
        with tarfile.open(path, "r:*") as tar, store.writing():
            members = {_clean(m.name): m for m in tar.getmembers() if m.isfile()}
            reader = _ArchiveReader(tar, members, str(path), store)
            if "manifest.json" in members:
                return reader.load_docker()
            if "index.json" in members:
                return reader.load_oci()
            raise ImageError("it has neither manifest.json (docker save) nor index.json (OCI)")
    except (tarfile.TarError, OSError, ImageError) as exc:
        raise ImageError(f"cannot load {path}: {exc}") from exc


def save_archive(store: ImageStore, references: Iterable[str], output: Path) -> None:
    """Write the images `references` to `output` as an OCI image layout archive."""
    entries: list[dict[str, Any]] = []
    blobs: dict[str, bytes | Path] = {}
    for reference in references:
        stored = store.stored(reference)
        manifest = stored.manifest_json
        if stored.manifest.media_type in TO_OCI:
            manifest = _as_oci(manifest)
        data = json.dumps(manifest, separators=(",", ":")).encode()
        digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
        blobs[digest] = data
        parsed = parse_manifest(manifest, f"manifest of {stored.reference}")
        for blob in (parsed.config, *parsed.layers):
            blobs[blob.digest] = store.blob_path(blob.digest)
        annotations = {REF_NAME: stored.reference, CONTAINERD_NAME: stored.reference}
        entries.append(
            {**Descriptor(OCI_MANIFEST, digest, len(data)).to_json(), "annotations": annotations}
        )
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}-")
    try:
        with os.fdopen(fd, "wb") as file, tarfile.open(fileobj=file, mode="w") as tar:
            _add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
            _add_bytes(tar, "index.json", json.dumps(index).encode())
            for digest, content in blobs.items():
                member = f"blobs/sha256/{digest.removeprefix('sha256:')}"
                if isinstance(content, bytes):
                    _add_bytes(tar, member, content)
                else:
                    tar.add(content, arcname=member)
        os.replace(name, output)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


class _ArchiveReader:
    def __init__(
        self,
        tar: tarfile.TarFile,
        members: dict[str, tarfile.TarInfo],
        where: str,
        store: ImageStore,
    ) -> None:
        self._tar = tar
        self._members = members
        self._where = where
        self._store = store

    def load_oci(self) -> list[Image]:
        index = load_json(self._read("index.json"), "index.json")
        entries = index.get("manifests")
        if not isinstance(entries, list):
            raise ImageError("index.json has no list of manifests")
        images = []
        for entry in entries:
            annotations = entry.get("annotations") if isinstance(entry, dict) else None
            annotations = annotations if isinstance(annotations, dict) else {}
            name = annotations.get(CONTAINERD_NAME) or annotations.get(REF_NAME)
            if not isinstance(name, str) or not name:
                continue  # an unnamed image: nothing would reach it
            images.append(self._load_manifest(entry, normalize_reference(name)))
        if not images:
            raise ImageError("index.json names no image")
        return images

    def _load_manifest(self, entry: Any, reference: str) -> Image:
        listed = descriptor(entry, "index.json")
        data = self._blob_bytes(listed.digest)
        document = load_json(data, f"manifest {listed.digest}")
        media_type = media_type_of(document, listed.media_type)
        if media_type in INDEX_TYPES:
            listed = select_platform(document, f"index {listed.digest}")
            data = self._blob_bytes(listed.digest)
            document = load_json(data, f"manifest {listed.digest}")
            media_type = media_type_of(document, listed.media_type)
        manifest = parse_manifest(document, f"manifest {listed.digest}")
        config = self._blob_bytes(manifest.config.digest)
        where = f"config of {reference}"
        layer_ids = diff_ids(load_json(config, where), where)
        if len(layer_ids) != len(manifest.layers):
            raise ImageError(f"{where} does not list one diff id per layer")
        for layer, diff_id in zip(manifest.layers, layer_ids, strict=True):
            self._copy_blob(self._member(layer.digest), layer.digest)
            self._store.unpack(layer, diff_id, self._where)
        self._store.put_verified(config, manifest.config.digest, self._where)
        self._store.put_verified(data, listed.digest, self._where)
        self._store.tag(reference, Descriptor(media_type, listed.digest, len(data)))
        return self._store.image(reference, listed.digest)

    def load_docker(self) -> list[Image]:
        entries = json.loads(self._read("manifest.json"))
        if not isinstance(entries, list):
            raise ImageError("manifest.json is not a list")
        images = []
        for entry in entries:
            config_name = entry.get("Config") if isinstance(entry, dict) else None
            layer_names = entry.get("Layers") if isinstance(entry, dict) else None
            tags = (entry.get("RepoTags") if isinstance(entry, dict) else None) or []
            if not isinstance(config_name, str) or not isinstance(layer_names, list):
                raise ImageError("manifest.json has an entry without Config and Layers")
            config = self._read(config_name)
            where = f"config {config_name}"
            layer_ids = diff_ids(load_json(config, where), where)
            if len(layer_ids) != len(layer_names):
                raise ImageError(f"{where} does not list one diff id per layer")
            layers = []
            for name, diff_id in zip(layer_names, layer_ids, strict=True):
                layer = self._copy_blob(self._member_named(str(name)), None)
                self._store.unpack(layer, diff_id, f"{self._where} ({name})")
                layers.append(layer.to_json())
            config_digest = self._store.put_bytes(config)
            manifest = {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": Descriptor(OCI_CONFIG, config_digest, len(config)).to_json(),
                "layers": layers,
            }
            data = json.dumps(manifest, separators=(",", ":")).encode()
            digest = self._store.put_bytes(data)
            for tag in tags:
                reference = normalize_reference(str(tag))
                self._store.tag(reference, Descriptor(OCI_MANIFEST, digest, len(data)))
                images.append(self._store.image(reference, digest))
        return images

    def _copy_blob(self, source: IO[bytes], digest: str | None) -> Descriptor:
        """Copy a blob into the store, checking it against `digest` (when the archive says)."""
        hasher = hashlib.sha256()
        fd, name = tempfile.mkstemp(dir=self._store.blobs, prefix=".tmp-")
        staged = Path(name)
        try:
            with os.fdopen(fd, "w+b") as out, source:
                while chunk := source.read(_CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
                size = out.tell()
                out.seek(0)
                media_type = _LAYER_TYPES[compression_of(out)]
            actual = f"sha256:{hasher.hexdigest()}"
            if digest is not None and actual != digest:
                raise BlobCorrupt(digest, self._where)
            self._store.add_blob_file(staged, actual)
        finally:
            staged.unlink(missing_ok=True)
        return Descriptor(media_type, actual, size)

    def _blob_bytes(self, digest: str) -> bytes:
        with self._member(digest) as source:
            data = source.read()
        if f"sha256:{hashlib.sha256(data).hexdigest()}" != digest:
            raise BlobCorrupt(digest, self._where)
        return data

    def _member(self, digest: str) -> IO[bytes]:
        match = DIGEST.fullmatch(digest)
        if match is None:
            raise ImageError(f"unsupported digest {digest!r}")
        return self._member_named(f"blobs/sha256/{match[1]}")

    def _member_named(self, name: str) -> IO[bytes]:
        member = self._members.get(_clean(name))
        source = self._tar.extractfile(member) if member is not None else None
        if source is None:
            raise ImageError(f"the archive has no file {name!r}")
        return source

    def _read(self, name: str) -> bytes:
        with self._member_named(name) as source:
            return source.read()


_LAYER_TYPES = {"gzip": OCI_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD, "": OCI_LAYER}


def _as_oci(manifest: dict[str, Any]) -> dict[str, Any]:
    def convert(descriptor: Any) -> Any:
        if isinstance(descriptor, dict) and descriptor.get("mediaType") in TO_OCI:
            return {**descriptor, "mediaType": TO_OCI[descriptor["mediaType"]]}
        return descriptor

    return {
        **manifest,
        "mediaType": OCI_MANIFEST,
        "config": convert(manifest.get("config")),
        "layers": [convert(layer) for layer in manifest.get("layers") or []],
    }


def _clean(name: str) -> str:
    return name.removeprefix("./")


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))
