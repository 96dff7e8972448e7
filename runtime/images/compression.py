"""Layer blobs as uncompressed tar streams: gzip, zstd or plain, told apart by their
first bytes (media types lie often enough that Docker sniffs too), read in one
pass from any reader (a download as it arrives, or a file).

gzip is inflated with zlib directly, a megabyte at a time: the gzip module
reads its source 8 KiB at a time, which costs a pull dearly when each read
of the source is a network read, a write and a hash. `zstandard` is
imported only when a zstd layer shows up. Corrupt data is an ImageError.
"""

import hashlib
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, BinaryIO, Protocol, cast

from runtime.errors import ImageError

CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_GZIP_WBITS = 16 + zlib.MAX_WBITS


class Reader(Protocol):
    """What a layer is read from: `read(size)` returns at most `size` bytes, b"" at the end."""

    def read(self, size: int, /) -> bytes: ...


class HashingReader:
    """A reader over `source` that hashes every byte read through it."""

    def __init__(self, source: Reader) -> None:
        self._source = source
        self._digest = hashlib.sha256()

    def read(self, size: int, /) -> bytes:
        data = self._source.read(size)
        self._digest.update(data)
        return data

    def finish(self) -> str:
        """Read what is left and return the hex sha256 of the whole stream."""
        while self.read(CHUNK):
            pass
        return self._digest.hexdigest()


def compression_of(blob: BinaryIO) -> str:
    """ "gzip", "zstd" or "" (none), from the first bytes of the seekable `blob`."""
    magic = blob.read(len(_ZSTD_MAGIC))
    blob.seek(0)
    return _sniff(magic)


@contextmanager
def uncompressed(blob: Reader) -> Iterator[Reader]:
    """The uncompressed content of `blob`, whatever its compression."""
    head = b""
    while len(head) < len(_ZSTD_MAGIC) and (more := blob.read(len(_ZSTD_MAGIC) - len(head))):
        head += more
    source = _Prefixed(head, blob)
    compression = _sniff(head)
    if compression == "gzip":
        yield _Gunzip(source)
    elif compression == "zstd":
        import zstandard

        with zstandard.ZstdDecompressor().stream_reader(
            cast(IO[bytes], source), read_size=CHUNK, read_across_frames=True, closefd=False
        ) as reader:
            yield _ZstdErrors(reader, zstandard.ZstdError)
    else:
        yield source


def _sniff(magic: bytes) -> str:
    if magic.startswith(_GZIP_MAGIC):
        return "gzip"
    return "zstd" if magic == _ZSTD_MAGIC else ""


class _Prefixed:
    """`source`, with the bytes read ahead to sniff its format put back in front."""

    def __init__(self, head: bytes, source: Reader) -> None:
        self._head = head
        self._source = source

    def read(self, size: int, /) -> bytes:
        if not self._head:
            return self._source.read(size)
        data, self._head = self._head[:size], self._head[size:]
        return data


class _Gunzip:
    """Inflates gzip members one after the other, as gzip allows, skipping the zero
    padding between and after them as the gzip module does. zlib checks each
    member's CRC and length."""

    def __init__(self, source: Reader) -> None:
        self._source = source
        self._inflater = zlib.decompressobj(_GZIP_WBITS)
        self._pending = b""  # compressed bytes not inflated yet
        self._started = False  # a member has begun

    def read(self, size: int, /) -> bytes:
        if size <= 0:
            return b""  # zlib takes a max_length of 0 as "no limit"
        while True:
            if not self._pending:
                self._pending = self._source.read(CHUNK)
                if not self._pending:
                    if self._started and not self._inflater.eof:
                        raise ImageError(
                            "corrupt gzip data: Compressed file ended before the"
                            " end-of-stream marker was reached"
                        )
                    return b""
            if self._inflater.eof:
                self._pending = self._pending.lstrip(b"\0")
                if not self._pending:
                    continue
                self._inflater = zlib.decompressobj(_GZIP_WBITS)
            self._started = True
            try:
                data = self._inflater.decompress(self._pending, size)
            except zlib.error as exc:
                raise ImageError(f"corrupt gzip data: {exc}") from exc
            self._pending = self._inflater.unconsumed_tail or self._inflater.unused_data
            if data:
                return data


class _ZstdErrors:
    def __init__(self, reader: Reader, error: type[Exception]) -> None:
        self._reader = reader
        self._error = error

    def read(self, size: int, /) -> bytes:
        try:
            return self._reader.read(size)
        except self._error as exc:
            raise ImageError(f"corrupt zstd data: {exc}") from exc
