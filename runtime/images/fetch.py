"""One layer of a pull, in one pass: download, hash, decompress, hash, unpack.

The layer blob streams from the registry into `blobs/sha256/.partial-<hex>`
and, as it arrives, into the unpacker, so it is read once and never from
disk again. The partial file is held under an flock, so that a second pull
of the same blob (from this process or another) waits, then finds the layer
in place. An interrupted download resumes: what the partial file holds is
replayed into the unpacker and the registry is asked for the rest.

Nothing unverified is stored: the layer is unpacked into a staging
directory, and the blob is moved into place only once its size and digest
match its descriptor, the layer only once its content matches the config's
diff id. When the archive turns out broken, the rest of the blob is still
read and checked, since a corrupt download explains a broken archive best.
"""

import fcntl
import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

from runtime.errors import BlobCorrupt, ImageError
from runtime.images.compression import CHUNK
from runtime.images.media import Descriptor
from runtime.images.progress import LayerProgress, LayerStatus, Progress
from runtime.images.registry import BlobStream, Cancelled, RegistryClient
from runtime.images.store import PARTIAL_PREFIX, ImageStore
from runtime.images.writeback import start_writeback

_PARTIAL_FLAGS = os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
_LOCK_POLL = 0.05  # seconds between attempts at a partial file another pull holds


class LayerFetcher:
    """Fetches the layers of one image from `repository`, each in the thread calling
    `fetch`; setting `cancel` stops them all at their next read, wait between
    attempts or wait for another pull's partial file, with Cancelled."""

    def __init__(
        self,
        store: ImageStore,
        registry: RegistryClient,
        repository: str,
        progress: Progress,
        cancel: threading.Event,
    ) -> None:
        self._store = store
        self._registry = registry
        self._repository = repository
        self._progress = progress
        self._cancel = cancel
        self._where = f"registry {registry.host}"

    def fetch(self, layer: Descriptor, diff_id: str) -> None:
        """Put the layer `diff_id` in place, downloading blob `layer` unless it is stored.

        A failure sets `cancel` at once, before this thread takes another layer:
        the pull has failed, and no layer begins after that.
        """
        if self._cancel.is_set():
            raise Cancelled()
        try:
            self._fetch(layer, diff_id)
        except BaseException:
            self._cancel.set()
            raise

    def _fetch(self, layer: Descriptor, diff_id: str) -> None:
        partial = self._store.blobs / f"{PARTIAL_PREFIX}{layer.hex}"
        fd = _lock_partial(partial, self._cancel)
        try:
            if self._reused(layer, diff_id):
                _unlink_if_same(partial, fd)  # another pull got it meanwhile, or no download
            else:
                self._download(layer, diff_id, partial, fd)
        finally:
            os.close(fd)
        self._report(layer, LayerStatus.DONE, layer.size)

    def _reused(self, layer: Descriptor, diff_id: str) -> bool:
        """Whether the layer is in place, or now unpacked from its stored blob. A stored
        blob that fails its checks is removed, to be downloaded again: it was
        spoilt on disk, and would otherwise fail every pull of the image."""
        if not (self._store.layer_path(diff_id).is_dir() or self._store.has_blob(layer.digest)):
            return False
        self._report(layer, LayerStatus.EXTRACTING, layer.size)
        try:
            self._store.unpack(layer, diff_id, "the image store")
        except ImageError:
            self._store.blob_path(layer.digest).unlink(missing_ok=True)
            return False
        return True

    def _download(self, layer: Descriptor, diff_id: str, partial: Path, fd: int) -> None:
        def stream(offset: int) -> BlobStream:
            return self._registry.blob(self._repository, layer.digest, offset, self._cancel)

        def downloaded(done: int) -> None:
            self._report(layer, LayerStatus.DOWNLOADING, done)

        source = _Download(fd, layer, self._where, stream, downloaded, self._cancel)
        downloaded(source.held)

        def store_blob() -> None:
            source.verify()  # its bytes were written back with the layer's
            os.chmod(partial, 0o600)
            partial.replace(self._store.blob_path(layer.digest))

        try:
            self._store.unpack_from(source, diff_id, self._where, verified=store_blob)
        except ImageError:
            try:
                source.verify()
            finally:
                _unlink_if_same(partial, fd)
            raise
        finally:
            source.close()  # its connection, after a failure or an interrupt in mid-blob

    def _report(self, layer: Descriptor, status: LayerStatus, done: int = 0) -> None:
        self._progress(LayerProgress(layer.digest, layer.size, done, status))


class _Download:
    """The blob as the unpacker reads it: first what the partial file holds from
    an interrupted download, then the registry's bytes, each appended to the
    partial file; all of it hashed and held to the descriptor's size."""

    def __init__(
        self,
        fd: int,
        layer: Descriptor,
        where: str,
        stream: Callable[[int], BlobStream],
        downloaded: Callable[[int], None],
        cancel: threading.Event,
    ) -> None:
        self._fd = fd
        self._layer = layer
        self._where = where
        self._open_stream = stream  # the blob from an offset on
        self._downloaded = downloaded  # told the bytes had so far
        self._cancel = cancel
        self.held = os.fstat(fd).st_size  # what an interrupted download left
        if self.held > layer.size:
            os.ftruncate(fd, 0)
            self.held = 0
        self._stream: BlobStream | None = None
        self._digest = hashlib.sha256()
        self.received = 0

    def read(self, size: int, /) -> bytes:
        if self._cancel.is_set():
            raise Cancelled()
        if self.received < self.held:
            data = os.pread(self._fd, min(size, self.held - self.received), self.received)
        else:
            if self._stream is None:
                self._stream = self._open_stream(self.received)
            data = self._stream.read(size)
            if self.received + len(data) > self._layer.size:
                raise BlobCorrupt(self._layer.digest, self._where)
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            start_writeback(self._fd, self.received, len(data))
        if data:
            self._digest.update(data)
            self.received += len(data)
            self._downloaded(self.received)
        elif self._stream is not None:
            self._stream.close()
        return data

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()

    def verify(self) -> None:
        """Read the rest; BlobCorrupt unless the blob is the one its descriptor names."""
        while self.read(CHUNK):
            pass
        digest = f"sha256:{self._digest.hexdigest()}"
        if self.received != self._layer.size or digest != self._layer.digest:
            raise BlobCorrupt(self._layer.digest, self._where)


def _lock_partial(path: Path, cancel: threading.Event) -> int:
    """Open (creating it) and lock the partial file at `path`; waits while another
    pull holds it, unless `cancel` is set. The lock lasts until the descriptor is
    closed."""
    while True:
        fd = os.open(path, _PARTIAL_FLAGS, 0o600)
        try:
            _flock_unless_cancelled(fd, cancel)
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass  # the holder stored the blob or gave it up: open afresh
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _flock_unless_cancelled(fd: int, cancel: threading.Event) -> None:
    """An exclusive flock on `fd`, polled for: a blocking flock cannot be interrupted,
    and the other holder may be a pull that takes minutes."""
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if cancel.wait(_LOCK_POLL):
                raise Cancelled() from None


def _unlink_if_same(path: Path, fd: int) -> None:
    """Remove the partial file `fd` is open on, if it is still at `path`."""
    try:
        if os.stat(path).st_ino == os.fstat(fd).st_ino:
            path.unlink()
    except FileNotFoundError:
        pass
