"""A content-addressed image store, laid out as an OCI image layout.

    root/oci-layout              {"imageLayoutVersion": "1.0.0"}
    root/index.json              references -> manifest digests (ref.name annotations;
                                 also the index a pull went through, when it last
                                 checked the registry)
    root/blobs/sha256/<hex>      layer blobs as their source had them, configs, manifests
    root/blobs/sha256/.partial-<hex>  a download under way (or interrupted: resumed)
    root/layers/<diff-id hex>/   each layer unpacked once, shared by every image using it
    root/.lock                   flock held by writers of index.json
    root/.gc.lock                shared by writers of content, exclusive for the collector

Blobs, layer directories and index.json only ever appear whole: each is
written under a temporary name, written back to disk (fsync, or syncfs for
a layer), and renamed into place. Readers therefore take
no lock; writers lock index.json so that concurrent writers do not lose each
other's references, and hold `.gc.lock` shared while they add content that no
reference reaches yet, so that garbage collection never takes it from them.
"""

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from runtime.errors import BlobCorrupt, ImageError, ImageNotFound
from runtime.images.config import ImageConfig, image_config
from runtime.images.media import (
    DIGEST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    Descriptor,
    host_platform,
    load_json,
    parse_manifest,
)
from runtime.images.reference import normalize_reference
from runtime.private import private_directory

if TYPE_CHECKING:
    from runtime.images.compression import Reader

REF_NAME = "org.opencontainers.image.ref.name"
# The image index a pulled reference resolved through, kept while the reference is.
INDEX_ANNOTATION = "io.corral.image.index"
# When the registry last confirmed the reference (a pull or a check succeeded).
CHECKED_ANNOTATION = "io.corral.checked"
PARTIAL_PREFIX = ".partial-"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_T = TypeVar("_T")


def _nothing() -> None:
    pass


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


@dataclass(frozen=True)
class StoredImage:
    """An image's documents as stored: what `inspect` shows and `save` writes."""

    reference: str
    manifest: Descriptor
    manifest_json: dict[str, Any]
    config_json: dict[str, Any]


class ImageStore:
    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.blobs = self.root / "blobs" / "sha256"
        self.layers = self.root / "layers"
        self._index = self.root / "index.json"

    # Reading

    def resolve(self, reference: str) -> Image:
        reference = normalize_reference(reference)
        digest = self.references().get(reference)
        if digest is None:
            raise ImageNotFound(reference)
        return self.image(reference, digest)

    def references(self) -> dict[str, str]:
        """Reference -> manifest digest, from index.json."""
        return {name: digest for name, digest, _ in self._tags()}

    def checked(self, reference: str) -> float | None:
        """When the registry last confirmed `reference` (seconds since the epoch), if known."""
        from datetime import datetime

        reference = normalize_reference(reference)
        for name, _, annotations in self._tags():
            text = annotations.get(CHECKED_ANNOTATION)
            if name == reference and isinstance(text, str):
                try:
                    return datetime.fromisoformat(text).timestamp()
                except ValueError:
                    return None
        return None

    def _tags(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(reference, manifest digest, annotations) of each entry of index.json."""
        for entry in self._read_index()["manifests"]:
            name = _ref_name(entry)
            if name is not None:
                yield name, _field(entry, "digest", str, str(self._index)), entry["annotations"]

    def image(self, reference: str, digest: str) -> Image:
        """The image of manifest `digest`; ImageError unless all its layers are unpacked."""
        _, config = self._manifest_and_config(digest)
        where = f"config of {digest}"
        layers = []
        for diff_id in diff_ids(config, where):
            layer = self.layer_path(diff_id)
            if not layer.is_dir():
                raise ImageError(f"image {reference!r} lacks its unpacked layer {diff_id}")
            layers.append(layer)
        return Image(reference, digest, image_config(config, where), tuple(layers))

    def stored(self, reference: str) -> StoredImage:
        reference = normalize_reference(reference)
        digest = self.references().get(reference)
        if digest is None:
            raise ImageNotFound(reference)
        manifest, config = self._manifest_and_config(digest)
        return StoredImage(reference, self.descriptor(digest), manifest, config)

    def descriptor(self, digest: str) -> Descriptor:
        """The descriptor of the stored manifest `digest`."""
        data = self.read_blob(digest)
        media_type = load_json(data, f"blob {digest}").get("mediaType")
        return Descriptor(
            media_type if isinstance(media_type, str) else OCI_MANIFEST, digest, len(data)
        )

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def blob_path(self, digest: str) -> Path:
        match = DIGEST.fullmatch(digest)
        if match is None:
            raise ImageError(f"malformed blob digest {digest!r}")
        return self.blobs / match[1]

    def layer_path(self, diff_id: str) -> Path:
        match = DIGEST.fullmatch(diff_id)
        if match is None:
            raise ImageError(f"malformed layer diff id {diff_id!r}")
        return self.layers / match[1]

    def read_blob(self, digest: str) -> bytes:
        """A small blob's bytes, checked against its digest."""
        try:
            data = self.blob_path(digest).read_bytes()
        except OSError as exc:
            raise ImageError(f"cannot read blob {digest}: {exc}") from exc
        if f"sha256:{hashlib.sha256(data).hexdigest()}" != digest:
            raise ImageError(f"blob {digest} is corrupt: its content does not match its digest")
        return data

    def _manifest_and_config(self, digest: str) -> tuple[dict[str, Any], dict[str, Any]]:
        manifest = load_json(self.read_blob(digest), f"blob {digest}")
        where = f"manifest {digest}"
        config_digest = _field(_field(manifest, "config", dict, where), "digest", str, where)
        return manifest, load_json(self.read_blob(config_digest), f"blob {config_digest}")

    # Writing content

    def prepare(self) -> None:
        private_directory(self.blobs)
        private_directory(self.layers)
        layout = self.root / "oci-layout"
        if not layout.exists():
            _atomic_write(layout, _canonical_json({"imageLayoutVersion": "1.0.0"}))

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold off garbage collection while content is added that no reference reaches yet."""
        self.prepare()
        with _flock(self.root / ".gc.lock", fcntl.LOCK_SH):
            yield

    def put_bytes(self, data: bytes) -> str:
        """Store the small blob `data` (a blob stored corrupt is replaced) and return its
        digest."""
        hex_digest = hashlib.sha256(data).hexdigest()
        path = self.blobs / hex_digest
        try:
            stored = path.read_bytes() == data
        except FileNotFoundError:
            stored = False
        if not stored:
            _atomic_write(path, data)
        return f"sha256:{hex_digest}"

    def put_verified(self, data: bytes, digest: str, where: str) -> None:
        """Store `data` under `digest`, refusing it unless it hashes to that digest."""
        if not _hashes_to(data, digest):
            raise BlobCorrupt(digest, where)
        self.put_bytes(data)

    def add_blob_file(self, staged: Path, digest: str) -> None:
        """Move the verified file `staged` (in the blobs directory) into place as `digest`."""
        staged.chmod(0o600)
        staged.replace(self.blob_path(digest))

    def unpack(self, blob: Descriptor, diff_id: str, where: str) -> None:
        """Unpack the stored layer `blob` once into the layer directory of `diff_id`.

        The stored blob is checked against its digest as it is read: BlobCorrupt
        (and no layer) if it was spoilt on disk since it was stored.
        """
        from runtime.images.compression import HashingReader

        if self.layer_path(diff_id).is_dir():
            return
        with self.blob_path(blob.digest).open("rb") as file:
            reader = HashingReader(file)

            def check_blob() -> None:
                if f"sha256:{reader.finish()}" != blob.digest:
                    raise BlobCorrupt(blob.digest, where)

            self.unpack_from(reader, diff_id, where, verified=check_blob)

    def unpack_from(
        self, source: "Reader", diff_id: str, where: str, *, verified: Callable[[], None] = _nothing
    ) -> None:
        """Unpack the layer read from `source` (gzip, zstd or plain) into the layer
        directory of `diff_id`, reading `source` to its end.

        The uncompressed stream is hashed while it is unpacked: a layer whose
        content is not `diff_id` is refused (BlobCorrupt) and leaves nothing.
        `verified` runs once the content is checked, before the layer is moved
        into place: a pull checks and stores the blob it streams there.
        """
        import shutil
        import tempfile

        from runtime.images.archive import unpack_layer
        from runtime.images.compression import HashingReader, uncompressed
        from runtime.images.writeback import sync_filesystem

        layer = self.layer_path(diff_id)
        staging = Path(tempfile.mkdtemp(dir=self.layers, prefix=".tmp-"))
        try:
            staging.chmod(0o755)  # unless the archive has a "." member saying otherwise
            with uncompressed(source) as content:
                reader = HashingReader(content)
                unpack_layer(reader, staging)
                if f"sha256:{reader.finish()}" != diff_id:
                    raise BlobCorrupt(diff_id, where)
            sync_filesystem(staging)  # the layer and the blob streamed beside it
            verified()
            try:
                staging.rename(layer)
            except OSError:
                if not layer.is_dir():
                    raise
                # A concurrent writer of the same layer renamed its copy first.
        finally:
            if staging.exists():
                shutil.rmtree(staging)

    def import_tarball(self, tarball: Path, reference: str) -> Image:
        """Import a root filesystem tarball (plain, gzip or zstd) as a one-layer image.

        The image's `created` time is the newest mtime in the archive, so
        importing identical content again yields the identical image.
        """
        reference = normalize_reference(reference)
        try:
            with self.writing():
                diff_id, size, created = self._import_layer(tarball)
                config = {
                    "created": created,
                    "architecture": host_platform()[0],
                    "os": "linux",
                    "config": {},
                    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                }
                config_bytes = _canonical_json(config)
                manifest = {
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": Descriptor(
                        OCI_CONFIG, self.put_bytes(config_bytes), len(config_bytes)
                    ).to_json(),
                    "layers": [Descriptor(OCI_LAYER, diff_id, size).to_json()],
                }
                manifest_bytes = _canonical_json(manifest)
                digest = self.put_bytes(manifest_bytes)
                self.tag(reference, Descriptor(OCI_MANIFEST, digest, len(manifest_bytes)))
        except (OSError, ImageError) as exc:
            raise ImageError(f"cannot import {tarball} as {reference!r}: {exc}") from exc
        return self.image(reference, digest)

    def _import_layer(self, tarball: Path) -> tuple[str, int, str]:
        """Store `tarball` uncompressed as a blob and unpack it: (diff id, size, created)."""
        import tempfile

        from runtime.images.archive import copy_uncompressed, newest_mtime

        fd, name = tempfile.mkstemp(dir=self.blobs, prefix=".tmp-")
        staged = Path(name)
        try:
            with os.fdopen(fd, "w+b") as out:
                diff_id = f"sha256:{copy_uncompressed(tarball, out)}"
                size = out.tell()
                out.flush()
                os.fsync(out.fileno())
                created = _rfc3339(newest_mtime(staged))
                if not self.layer_path(diff_id).is_dir():
                    out.seek(0)
                    self.unpack_from(out, diff_id, str(tarball))
            self.add_blob_file(staged, diff_id)
        finally:
            staged.unlink(missing_ok=True)
        return diff_id, size, created

    # References

    def tag(
        self,
        reference: str,
        manifest: Descriptor,
        *,
        index: str | None = None,
        checked: float | None = None,
    ) -> None:
        """Point `reference` at the stored manifest, replacing what it pointed at.

        `index`: the stored image index the registry resolved it through;
        `checked`: when the registry confirmed it (seconds since the epoch).
        """
        reference = normalize_reference(reference)
        annotations = {REF_NAME: reference}
        if index is not None:
            annotations[INDEX_ANNOTATION] = index
        if checked is not None:
            annotations[CHECKED_ANNOTATION] = time.strftime(_TIME_FORMAT, time.gmtime(checked))
        entry = {**manifest.to_json(), "annotations": annotations}
        with self._locked():
            index_json = self._read_index()
            manifests = [m for m in index_json["manifests"] if _ref_name(m) != reference]
            if (
                len(manifests) + 1 == len(index_json["manifests"])
                and entry in index_json["manifests"]
            ):
                return  # already so
            index_json["manifests"] = [*manifests, entry]
            _atomic_write(self._index, _canonical_json(index_json))

    def untag(self, reference: str) -> str:
        """Remove `reference` and return the manifest digest it pointed at."""
        reference = normalize_reference(reference)
        with self._locked():
            index = self._read_index()
            kept = [m for m in index["manifests"] if _ref_name(m) != reference]
            if len(kept) == len(index["manifests"]):
                raise ImageNotFound(reference)
            digest = next(
                _field(m, "digest", str, str(self._index))
                for m in index["manifests"]
                if _ref_name(m) == reference
            )
            index["manifests"] = kept
            _atomic_write(self._index, _canonical_json(index))
        return digest

    @contextmanager
    def _locked(self) -> Iterator[None]:
        private_directory(self.root)
        with _flock(self.root / ".lock", fcntl.LOCK_EX):
            yield

    @contextmanager
    def collecting(self) -> Iterator[None]:
        """Exclusive against every writer of content: for the garbage collector."""
        self.prepare()
        with _flock(self.root / ".gc.lock", fcntl.LOCK_EX):
            yield

    def _read_index(self) -> dict[str, Any]:
        try:
            index = json.loads(self._index.read_bytes())
        except FileNotFoundError:
            return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        except (OSError, ValueError) as exc:
            raise ImageError(f"cannot read {self._index}: {exc}") from exc
        if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
            raise ImageError(f"{self._index} is not an OCI image index")
        return index

    def reachable(self) -> tuple[set[str], set[str]]:
        """(blob digests, layer diff ids) that some reference reaches."""
        blobs: set[str] = set()
        layers: set[str] = set()
        tags = list(self._tags())
        for _, _, annotations in tags:
            index = annotations.get(INDEX_ANNOTATION)
            if isinstance(index, str) and DIGEST.fullmatch(index):
                blobs.add(index)
        for digest in {digest for _, digest, _ in tags}:
            manifest_json, config = self._manifest_and_config(digest)
            manifest = parse_manifest(manifest_json, f"manifest {digest}")
            blobs.update([digest, manifest.config.digest])
            blobs.update(layer.digest for layer in manifest.layers)
            layers.update(diff_ids(config, f"config of {digest}"))
        return blobs, layers

    # Last, so that `list` in the annotations above is still the builtin.
    def list(self) -> list[ImageSummary]:
        summaries = []
        for reference, digest in sorted(self.references().items()):
            manifest, config = self._manifest_and_config(digest)
            where = f"manifest {digest}"
            layers = _field(manifest, "layers", list, where)
            size = sum(_field(layer, "size", int, where) for layer in layers)
            created = config.get("created", "")
            summaries.append(ImageSummary(reference, digest, size, str(created)))
        return summaries


def diff_ids(config: dict[str, Any], where: str) -> list[str]:
    values = _field(_field(config, "rootfs", dict, where), "diff_ids", list, where)
    for value in values:
        if not isinstance(value, str) or DIGEST.fullmatch(value) is None:
            raise ImageError(f"{where} has a malformed diff id {value!r}")
    return values


def _hashes_to(data: bytes, digest: str) -> bool:
    return f"sha256:{hashlib.sha256(data).hexdigest()}" == digest


@contextmanager
def _flock(path: Path, operation: int) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, operation)
        yield
    finally:
        os.close(fd)  # releases the lock


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


def _rfc3339(timestamp: int) -> str:
    from datetime import UTC, datetime

    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError) as exc:
        raise ImageError(f"modification time {timestamp} is out of range") from exc


def _atomic_write(path: Path, data: bytes) -> None:
    # Not tempfile.mkstemp: importing tempfile would cost a warm pull (which
    # writes index.json) more than the rest of its writing.
    temporary = path.with_name(f".tmp-{os.urandom(8).hex()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
