"""Pulling an image from a registry into the store, and pull policies.

A pull first asks the registry, with one HEAD request, which manifest (or
image index) the reference names now. If the store holds it and every layer
it needs, the pull only tags it: a warm pull costs one request, and a pull by
digest of an image the store holds costs none. Otherwise the manifest
(resolved to this host's platform when it is an index) is fetched and
checked against its digest, and the layers download in worker threads, each
streamed through its digest check, decompression and unpacking at once
(see `fetch`). The config, manifest and index are stored, and the reference
set, only once every layer is in place: a failed pull leaves no image and
no corrupt content.

Everything here blocks; the orchestrator calls it before its event loop
starts, or from a worker thread.
"""

import hashlib
import os
import threading
import time
from collections.abc import Callable, Mapping

from runtime.errors import BlobCorrupt, ImageError, ImageNotFound
from runtime.images.credentials import config_path, find_credentials
from runtime.images.media import (
    INDEX_TYPES,
    Descriptor,
    Manifest,
    load_json,
    media_type_of,
    parse_manifest,
    select_platform,
)
from runtime.images.progress import LayerProgress, LayerStatus, Progress, ignore
from runtime.images.reference import Reference, parse_reference
from runtime.images.registry import RegistryClient, RetryPolicy, open_registry
from runtime.images.store import Image, ImageStore, diff_ids

__all__ = ["LayerProgress", "LayerStatus", "Progress", "ensure_image", "pull"]

MAX_CONCURRENT_DOWNLOADS = 6


def ensure_image(
    store: ImageStore,
    reference: str,
    policy: str,
    *,
    progress: Progress | None = None,
    environ: Mapping[str, str] = os.environ,
    clock: Callable[[], float] = time.time,
) -> Image:
    """The image `reference`, pulled first when the Compose `pull_policy` says so.

    `missing` pulls only an image the store lacks, `never` raises ImageNotFound
    for one; `daily`, `weekly` and `every_<duration>` pull when the registry
    last confirmed the reference longer ago than that; `always` pulls. A
    policy that is not one of these is a ValueError.
    """
    from runtime.images.policy import parse_pull_policy

    rule = parse_pull_policy(policy)
    try:
        image = store.resolve(reference)
    except (ImageNotFound, ImageError):  # absent, or a part of it is missing
        if not rule.pull_absent:
            raise
    else:
        if rule.refresh is None:
            return image
        checked = store.checked(reference)
        if checked is not None and clock() - checked < rule.refresh:
            return image
    return pull(store, reference, progress=progress, environ=environ)


def pull(
    store: ImageStore,
    reference: str,
    *,
    progress: Progress | None = None,
    environ: Mapping[str, str] = os.environ,
    retry: RetryPolicy | None = None,
) -> Image:
    """Pull `reference` into `store` and return it.

    Raises ImageError for bad references or content (BlobCorrupt for a digest
    mismatch), RegistryError (AuthenticationError, ManifestUnknown) for what
    the registry refuses. `retry` is the registry client's, for tests.
    """
    ref = parse_reference(reference)
    if ref.digest is not None:
        image = _Stored(store, str(ref)).image(ref.digest, checked=None)
        if image is not None:
            return image
    credentials = find_credentials(ref.registry, config_path(environ))
    with open_registry(ref.api_host, credentials, environ=environ, retry=retry) as registry:
        return _Pull(store, registry, ref, progress or ignore).run()


class _Stored:
    """What the store already holds for one reference."""

    def __init__(self, store: ImageStore, shown: str) -> None:
        self._store = store
        self._shown = shown

    def image(self, digest: str, *, checked: float | None) -> Image | None:
        """The image of manifest or index `digest`, tagged, if the store holds all of it."""
        store = self._store
        if not store.has_blob(digest):
            return None
        try:
            document = load_json(store.read_blob(digest), f"blob {digest}")
            index = None
            if media_type_of(document) in INDEX_TYPES:
                index = digest
                digest = select_platform(document, f"image index {digest}").digest
                if not store.has_blob(digest):
                    return None
            image = store.image(self._shown, digest)
        except ImageError:
            return None  # a part is missing: pull it
        store.tag(self._shown, store.descriptor(digest), index=index, checked=checked)
        return image


class _Pull:
    def __init__(
        self, store: ImageStore, registry: RegistryClient, ref: Reference, progress: Progress
    ) -> None:
        self._store = store
        self._registry = registry
        self._ref = ref
        self._shown = str(ref)
        self._progress = progress
        self._stored = _Stored(store, self._shown)

    def run(self) -> Image:
        ref, registry, shown = self._ref, self._registry, self._shown
        digest = ref.digest or registry.manifest_digest(
            ref.repository, ref.manifest_reference, shown
        )
        began = time.time()
        if digest is not None and (image := self._stored.image(digest, checked=began)):
            return image
        data, content_type = registry.manifest(
            ref.repository, digest or ref.manifest_reference, shown
        )
        digest = self._verified(data, digest)
        document = load_json(data, f"manifest of {shown}")
        index: tuple[bytes, str] | None = None
        if media_type_of(document, content_type) in INDEX_TYPES:
            index = data, digest
            chosen = select_platform(document, f"image index of {shown}")
            data, content_type = registry.manifest(ref.repository, chosen.digest, shown)
            digest = self._verified(data, chosen.digest)
            document = load_json(data, f"manifest {digest} of {shown}")
        descriptor = Descriptor(media_type_of(document, content_type), digest, len(data))
        manifest = parse_manifest(document, f"manifest {digest} of {shown}")
        with self._store.writing():
            config, layer_ids = self._config(manifest, digest)
            self._layers(manifest, layer_ids)
            self._store.put_verified(config, manifest.config.digest, f"config of {shown}")
            self._store.put_verified(data, digest, f"registry {registry.host}")
            index_digest = None
            if index is not None:
                index_digest = index[1]
                self._store.put_verified(*index, f"registry {registry.host}")
            self._store.tag(shown, descriptor, index=index_digest, checked=began)
        return self._store.image(shown, digest)

    def _config(self, manifest: Manifest, digest: str) -> tuple[bytes, list[str]]:
        """The config blob, checked, and its diff ids, one per layer of the manifest."""
        where = f"config of {self._shown}"
        data = self._stored_blob(manifest.config.digest)
        if data is None:
            data = self._registry.small_blob(self._ref.repository, manifest.config)
            self._verified(data, manifest.config.digest)
        layer_ids = diff_ids(load_json(data, where), where)
        if len(layer_ids) != len(manifest.layers):
            raise ImageError(
                f"{where} lists {len(layer_ids)} layers, its manifest {digest}"
                f" {len(manifest.layers)}"
            )
        return data, layer_ids

    def _stored_blob(self, digest: str) -> bytes | None:
        """The stored blob `digest`; None if it is absent, or spoilt on disk (then it is
        fetched again, and replaced when stored)."""
        if not self._store.has_blob(digest):
            return None
        try:
            return self._store.read_blob(digest)
        except ImageError:
            return None

    def _layers(self, manifest: Manifest, layer_ids: list[str]) -> None:
        """Fetch the layers the store lacks, at most MAX_CONCURRENT_DOWNLOADS at once."""
        from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

        from runtime.images.fetch import LayerFetcher
        from runtime.images.registry import Cancelled

        missing = []
        for layer, diff_id in zip(manifest.layers, layer_ids, strict=True):
            if self._store.layer_path(diff_id).is_dir():
                self._report(layer, LayerStatus.PRESENT, layer.size)
            else:
                self._report(layer, LayerStatus.WAITING)
                missing.append((layer, diff_id))
        cancel = threading.Event()
        fetcher = LayerFetcher(
            self._store, self._registry, self._ref.repository, self._progress, cancel
        )
        pool = ThreadPoolExecutor(MAX_CONCURRENT_DOWNLOADS, "corral-pull")
        futures = []
        try:
            futures += [pool.submit(fetcher.fetch, *job) for job in missing]
            wait(futures, return_when=FIRST_EXCEPTION)
        finally:
            cancel.set()  # after a failure or an interrupt; harmless after success
            pool.shutdown(cancel_futures=True)  # layers not begun are not begun
        done = [future for future in futures if not future.cancelled()]
        errors = [error for future in done if (error := future.exception()) is not None]
        if errors:  # the first that is not merely the others' cancellation
            raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])

    def _report(self, layer: Descriptor, status: LayerStatus, done: int = 0) -> None:
        self._progress(LayerProgress(layer.digest, layer.size, done, status))

    def _verified(self, data: bytes, expected: str | None) -> str:
        digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
        if expected is not None and digest != expected:
            raise BlobCorrupt(expected, f"registry {self._registry.host}")
        return digest
