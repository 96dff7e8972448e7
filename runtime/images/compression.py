"""Layer blobs as uncompressed tar streams: gzip, zstd or plain, told apart by their
first bytes (media types lie often enough that Docker sniffs too), each hashed
on the way so that the diff id is checked without a second pass.

`zstandard` is imported only when a zstd layer shows up.
"""

import gzip
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, cast

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_CHUNK = 1 << 20


class HashingReader:
    """A read-only stream over `source` that hashes every byte read through it."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self._digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self._digest.update(data)
        return data

    def finish(self) -> str:
        """Read what is left and return the hex sha256 of the whole stream."""
        while self.read(_CHUNK):
            pass
        return self._digest.hexdigest()


def compression_of(blob: BinaryIO) -> str:
    """ "gzip", "zstd" or "" (none), from the first bytes of the seekable `blob`."""
    magic = blob.read(len(_ZSTD_MAGIC))
    blob.seek(0)
    if magic.startswith(_GZIP_MAGIC):
        return "gzip"
    return "zstd" if magic == _ZSTD_MAGIC else ""


@contextmanager
def uncompressed(blob: BinaryIO) -> Iterator[BinaryIO]:
    """The uncompressed content of the seekable `blob`, whatever its compression."""
    compression = compression_of(blob)
    if compression == "gzip":
        with gzip.GzipFile(fileobj=blob, mode="rb") as unzipped:
            yield cast(BinaryIO, unzipped)
    elif compression == "zstd":
        import zstandard

        with zstandard.ZstdDecompressor().stream_reader(blob, read_across_frames=True) as reader:
            yield cast(BinaryIO, reader)
    else:
        yield blob
