"""Pulling an image from a registry into the store.

The manifest (resolved to this host's platform when it is an index) is
checked against the digest asked for or listed; layers download
concurrently, each into `blobs/sha256/.partial-<hex>` under an flock, so a
second pull of the same blob waits and then finds it stored, and an
interrupted download resumes where it stopped. A blob is moved into place
only once its digest matches; a layer is unpacked (in a worker thread) from
the stored blob, its diff id checked on the way. The config and manifest are
stored, and the reference set, only once every layer is in place: a failed
pull leaves no image and no corrupt content.
"""

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from runtime.errors import BlobCorrupt, ContainerRuntimeError, ImageError, ImageNotFound
from runtime.images.credentials import config_path, find_credentials
from runtime.images.media import (
    INDEX_TYPES,
    Descriptor,
    load_json,
    media_type_of,
    parse_manifest,
    select_platform,
)
from runtime.images.reference import parse_reference
from runtime.images.store import PARTIAL_PREFIX, Image, ImageStore, diff_ids

if TYPE_CHECKING:  # httpx is imported only once a pull starts
    import httpx

    from runtime.images.registry import RegistryClient, RetryPolicy

MAX_CONCURRENT_DOWNLOADS = 3


class LayerStatus(Enum):
    WAITING = "waiting"
    DOWNLOADING = "downloading"
    EXTRACTING = "extracting"
    DONE = "pull complete"
    PRESENT = "already exists"


@dataclass(frozen=True)
class LayerProgress:
    digest: str  # of the layer blob
    size: int
    done: int  # bytes downloaded so far
    status: LayerStatus


Progress = Callable[[LayerProgress], None]


class PullPolicy(Enum):
    """Compose's pull_policy values that need no build."""

    ALWAYS = "always"
    MISSING = "missing"
    NEVER = "never"


async def ensure_image(
    store: ImageStore,
    reference: str,
    policy: PullPolicy,
    *,
    progress: Progress | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Image:
    """The image `reference`, pulled first when `policy` says so.

    MISSING pulls only an image the store lacks; NEVER raises ImageNotFound for one.
    """
    if policy is not PullPolicy.ALWAYS:
        try:
            return store.resolve(reference)
        except ImageNotFound:
            if policy is PullPolicy.NEVER:
                raise
    return await pull(store, reference, progress=progress, environ=environ)


async def pull(
    store: ImageStore,
    reference: str,
    *,
    progress: Progress | None = None,
    environ: Mapping[str, str] = os.environ,
    transport: "httpx.AsyncBaseTransport | None" = None,
    retry: "RetryPolicy | None" = None,
) -> Image:
    """Pull `reference` into `store` and return it.

    Raises ImageError for bad references or content (BlobCorrupt for a digest
    mismatch), RegistryError (AuthenticationError, ManifestUnknown) for what
    the registry refuses. `transport` and `retry` are the registry client's
    (an httpx transport, a RetryPolicy), for tests.
    """
    from runtime.images.registry import open_registry

    ref = parse_reference(reference)
    shown = str(ref)
    credentials = find_credentials(ref.registry, config_path(environ))
    async with open_registry(
        ref.api_host,
        credentials,
        environ=environ,
        transport=transport,
        retry=retry,
    ) as registry:
        data, content_type = await registry.manifest(ref.repository, ref.manifest_reference, shown)
        digest = _verified(data, ref.digest, registry.host)
        document = load_json(data, f"manifest of {shown}")
        media_type = media_type_of(document, content_type)
        if media_type in INDEX_TYPES:
            chosen = select_platform(document, f"image index of {shown}")
            data, content_type = await registry.manifest(ref.repository, chosen.digest, shown)
            digest = _verified(data, chosen.digest, registry.host)
            document = load_json(data, f"manifest {digest} of {shown}")
            media_type = media_type_of(document, content_type)
        descriptor = Descriptor(media_type, digest, len(data))
        if store.has_blob(digest):
            try:
                image = store.image(shown, digest)
            except ImageError:
                pass  # a layer is missing: pull what lacks
            else:
                store.tag(shown, descriptor)
                return image
        manifest = parse_manifest(document, f"manifest {digest} of {shown}")
        with store.writing():
            config_data = bytearray()
            await registry.blob(ref.repository, manifest.config.digest, _MemorySink(config_data))
            config_bytes = bytes(config_data)
            _verified(config_bytes, manifest.config.digest, registry.host)
            where = f"config of {shown}"
            layer_ids = diff_ids(load_json(config_bytes, where), where)
            if len(layer_ids) != len(manifest.layers):
                raise ImageError(
                    f"{where} lists {len(layer_ids)} layers, its manifest {digest}"
                    f" {len(manifest.layers)}"
                )
            limiter = trio.CapacityLimiter(MAX_CONCURRENT_DOWNLOADS)
            layers = _Layers(store, registry, ref.repository, progress or _ignore, limiter)
            try:
                async with trio.open_nursery() as nursery:
                    for layer, diff_id in zip(manifest.layers, layer_ids, strict=True):
                        nursery.start_soon(layers.fetch, layer, diff_id)
            except BaseExceptionGroup as group:
                raise _first_error(group) from group
            store.put_verified(config_bytes, manifest.config.digest, where)
            store.put_verified(data, digest, f"registry {registry.host}")
            store.tag(shown, descriptor)
    return store.image(shown, digest)


def _verified(data: bytes, expected: str | None, host: str) -> str:
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    if expected is not None and digest != expected:
        raise BlobCorrupt(expected, f"registry {host}")
    return digest


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first of the runtime's errors in `group` (the one the user should see), or `group`."""
    matched: BaseException | None = group.split(ContainerRuntimeError)[0]
    while isinstance(matched, BaseExceptionGroup):
        matched = matched.exceptions[0]
    return matched or group


def _ignore(event: LayerProgress) -> None:
    pass


class _MemorySink:
    def __init__(self, buffer: bytearray) -> None:
        self._buffer = buffer
        self.offset = 0

    def write(self, chunk: bytes) -> None:
        self._buffer += chunk
        self.offset += len(chunk)

    def restart(self) -> None:
        self._buffer.clear()
        self.offset = 0


class _PartialBlob:
    """A download's partial file: appends, hashes, and reports progress."""

    def __init__(self, fd: int, layer: Descriptor, progress: Progress) -> None:
        self._fd = fd
        self._layer = layer
        self._progress = progress
        self._digest = hashlib.sha256()
        self.offset = 0

    def load(self) -> None:
        """Hash what an earlier, interrupted download left, to resume after it."""
        os.lseek(self._fd, 0, os.SEEK_SET)
        while chunk := os.read(self._fd, 1 << 20):
            self._digest.update(chunk)
            self.offset += len(chunk)
        if self.offset > self._layer.size:
            self.restart()

    def write(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            view = view[os.write(self._fd, view) :]
        self._digest.update(chunk)
        self.offset += len(chunk)
        self._progress(
            LayerProgress(
                self._layer.digest, self._layer.size, self.offset, LayerStatus.DOWNLOADING
            )
        )

    def restart(self) -> None:
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        self._digest = hashlib.sha256()
        self.offset = 0

    def digest(self) -> str:
        return f"sha256:{self._digest.hexdigest()}"


class _Layers:
    def __init__(
        self,
        store: ImageStore,
        registry: "RegistryClient",
        repository: str,
        progress: Progress,
        limiter: trio.CapacityLimiter,
    ) -> None:
        self._store = store
        self._registry = registry
        self._repository = repository
        self._progress = progress
        self._limiter = limiter

    def _report(self, layer: Descriptor, status: LayerStatus, done: int = 0) -> None:
        self._progress(LayerProgress(layer.digest, layer.size, done, status))

    async def fetch(self, layer: Descriptor, diff_id: str) -> None:
        if self._store.layer_path(diff_id).is_dir():
            self._report(layer, LayerStatus.PRESENT, layer.size)
            return
        self._report(layer, LayerStatus.WAITING)
        async with self._limiter:
            if not self._store.has_blob(layer.digest):
                await self._download(layer)
            self._report(layer, LayerStatus.EXTRACTING, layer.size)
            where = f"registry {self._registry.host}"
            await trio.to_thread.run_sync(self._store.unpack, layer, diff_id, where)
        self._report(layer, LayerStatus.DONE, layer.size)

    async def _download(self, layer: Descriptor) -> None:
        partial = self._store.blobs / f"{PARTIAL_PREFIX}{layer.hex}"
        fd = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            # Another pull of the same blob holds the lock until it is stored.
            await trio.to_thread.run_sync(_lock, fd)
            if self._store.has_blob(layer.digest):
                _unlink_if_same(partial, fd)
                return
            sink = _PartialBlob(fd, layer, self._progress)
            sink.load()
            self._report(layer, LayerStatus.DOWNLOADING, sink.offset)
            await self._registry.blob(self._repository, layer.digest, sink)
            if sink.offset != layer.size or sink.digest() != layer.digest:
                partial.unlink(missing_ok=True)
                raise BlobCorrupt(layer.digest, f"registry {self._registry.host}")
            os.fsync(fd)
            self._store.add_blob_file(partial, layer.digest)
        finally:
            os.close(fd)


def _lock(fd: int) -> None:
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX)


def _unlink_if_same(path: Path, fd: int) -> None:
    """Remove the partial file this process created after another stored the blob."""
    try:
        if os.stat(path).st_ino == os.fstat(fd).st_ino:
            path.unlink()
    except FileNotFoundError:
        pass
