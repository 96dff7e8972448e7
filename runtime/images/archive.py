"""Layer archives: reading an import tarball, and unpacking a layer safely.

A layer is extracted without ever following a symlink: each parent directory
of a member is opened relative to the one above it with O_NOFOLLOW, starting
at the layer directory. So an absolute or `..` path, a hard link pointing
outside, or a member written "through" a symlink extracted earlier is refused
with an ImageError naming the member, instead of landing outside the layer.

Each layer is unpacked into a directory of its own, used as an overlay lower
directory, so whiteouts are written in overlayfs's format rather than
applied: `.wh.NAME` becomes a 0/0 character device NAME, and `.wh..wh..opq`
marks its directory opaque with the `trusted.overlay.opaque` xattr (which
needs CAP_SYS_ADMIN). Extended attributes recorded as PAX `SCHILY.xattr.*`
headers are restored.
"""

import errno
import hashlib
import os
import shutil
import stat
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO, cast

from runtime.errors import ImageError
from runtime.images.compression import CHUNK, Reader, uncompressed
from runtime.images.writeback import start_writeback

_WHITEOUT_PREFIX = ".wh."
_OPAQUE = ".wh..wh..opq"
_OPAQUE_XATTR = "trusted.overlay.opaque"
_XATTR_PAX_PREFIX = "SCHILY.xattr."
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_IMPLICIT_DIRECTORY_MODE = 0o755


def copy_uncompressed(tarball: Path, out: BinaryIO) -> str:
    """Copy `tarball` to `out`, decompressing gzip or zstd data.

    Returns the hex sha256 of the bytes written, that is of the uncompressed tar.
    Raises OSError if a file cannot be read or written, ImageError for corrupt data.
    """
    digest = hashlib.sha256()
    with tarball.open("rb") as raw, uncompressed(raw) as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def newest_mtime(layer: Path) -> int:
    """The newest modification time of any member of the uncompressed tar `layer`.

    Raises ImageError if `layer` is not a tar archive.
    """
    try:
        with tarfile.open(layer, "r:") as tar:
            return int(max((member.mtime for member in tar), default=0))
    except tarfile.TarError as exc:
        raise ImageError(f"invalid tar archive: {exc}") from exc


def unpack_layer(layer: Reader, dest: Path) -> None:
    """Extract the uncompressed layer tar read from `layer` into the directory `dest`.

    Modes, numeric ownership (when running as root), mtimes, xattrs,
    symlinks, hard links, device nodes and fifos are preserved; a `.` member
    sets the metadata of `dest` itself. Whiteouts become overlayfs whiteouts.
    """
    root_fd = os.open(dest, _DIRECTORY_FLAGS)
    source = _OnePass(layer)
    try:
        with tarfile.open(fileobj=cast(IO[bytes], source), mode="r:") as tar:
            _Unpacker(tar, source, root_fd).run()
    except tarfile.TarError as exc:
        raise ImageError(f"invalid tar archive: {exc}") from exc
    finally:
        os.close(root_fd)


class _OnePass:
    """A file over `reader` that tarfile can read in one pass, as an archive is
    unpacked: it seeks forward by reading and skipping, never back.

    tarfile's own stream mode ("r|") reads its source 10 KiB at a time and
    copies its whole buffer on every header read; this one reads a megabyte
    at a time, answers small reads (headers) from what it holds, and writes a
    member's data out of the chunks it reads, without copying them.
    """

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._held = b""
        self._at = 0  # in _held
        self._position = 0

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence != os.SEEK_SET or offset < self._position:
            raise OSError("a layer is read in one pass: it cannot seek back")
        while self._position < offset and self.read(min(offset - self._position, CHUNK)):
            pass
        return self._position

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            parts = [self.read(CHUNK)]
            while parts[-1]:
                parts.append(self.read(CHUNK))
            return b"".join(parts)
        parts = []
        want = size
        while want > 0 and self._fill():
            part = self._held[self._at : self._at + want]
            self._at += len(part)
            want -= len(part)
            parts.append(part)
        data = b"".join(parts)
        self._position += len(data)
        return data

    def copy_to(self, fd: int, offset: int, size: int) -> None:
        """Write the `size` bytes from `offset` on to `fd`."""
        self.seek(offset)
        while size > 0:
            if not self._fill():
                raise tarfile.ReadError("unexpected end of data")
            view = memoryview(self._held)[self._at : self._at + size]
            while view:
                written = os.write(fd, view)
                view = view[written:]
                self._at += written
                self._position += written
                size -= written

    def _fill(self) -> bool:
        """Whether bytes are held, reading the next chunk if none are; False at the end."""
        if self._at == len(self._held):
            self._held, self._at = self._reader.read(CHUNK), 0
        return bool(self._held)


class _Unpacker:
    def __init__(self, tar: tarfile.TarFile, source: _OnePass, root_fd: int) -> None:
        self._tar = tar
        self._source = source  # what `tar` reads
        self._root_fd = root_fd
        self._as_root = os.geteuid() == 0
        # Directory metadata is applied last, deepest first, so that extracting
        # their children neither bumps their mtimes nor trips over their modes.
        self._directories: dict[tuple[str, ...], tarfile.TarInfo] = {}

    def run(self) -> None:
        for member in self._tar:
            with _naming(member):
                self._unpack(member)
        ordered = sorted(self._directories.items(), key=lambda item: len(item[0]), reverse=True)
        for parts, member in ordered:
            with _naming(member):
                fd = self._open_directory(parts, member.name, create=False)
                try:
                    self._set_metadata(fd, None, member)
                finally:
                    os.close(fd)

    def _unpack(self, member: tarfile.TarInfo) -> None:
        parts = _safe_parts(member.name, member.name)
        if parts and parts[-1].startswith(_WHITEOUT_PREFIX):
            self._whiteout(parts, member)
            return
        if member.isdir():
            self._directories[parts] = member
            if parts:
                parent = self._open_directory(parts[:-1], member.name, create=True)
                try:
                    _make_directory(parent, parts[-1])
                finally:
                    os.close(parent)
            return
        if not parts:
            raise ImageError(f"layer member {member.name!r} replaces the layer root")
        self._directories.pop(parts, None)
        parent = self._open_directory(parts[:-1], member.name, create=True)
        try:
            self._create(parent, parts[-1], member)
        finally:
            os.close(parent)

    def _whiteout(self, parts: tuple[str, ...], member: tarfile.TarInfo) -> None:
        parent = self._open_directory(parts[:-1], member.name, create=True)
        try:
            if parts[-1] == _OPAQUE:
                os.setxattr(parent, _OPAQUE_XATTR, b"y")
                return
            hidden = parts[-1].removeprefix(_WHITEOUT_PREFIX)
            if hidden in ("", ".", ".."):
                raise ImageError(f"layer member {member.name!r} is a whiteout of nothing")
            self._directories.pop((*parts[:-1], hidden), None)
            _remove(parent, hidden)
            os.mknod(hidden, stat.S_IFCHR, os.makedev(0, 0), dir_fd=parent)
        finally:
            os.close(parent)

    def _create(self, parent: int, name: str, member: tarfile.TarInfo) -> None:
        _remove(parent, name)
        if member.islnk():
            self._hard_link(parent, name, member)
            return  # the link shares its target's inode, and so its metadata
        if member.isreg():
            fd = os.open(name, _FILE_FLAGS, 0o600, dir_fd=parent)
            try:
                self._write_data(member, fd)
                start_writeback(fd)
            finally:
                os.close(fd)
        elif member.issym():
            os.symlink(member.linkname, name, dir_fd=parent)
        elif member.ischr() or member.isblk():
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            device = os.makedev(member.devmajor, member.devminor)
            os.mknod(name, 0o600 | kind, device, dir_fd=parent)
        elif member.isfifo():
            os.mkfifo(name, 0o600, dir_fd=parent)
        else:
            raise ImageError(f"layer member {member.name!r} has unsupported type {member.type!r}")
        self._set_metadata(parent, name, member)

    def _write_data(self, member: tarfile.TarInfo, fd: int) -> None:
        if not member.issparse():
            self._source.copy_to(fd, member.offset_data, member.size)
            return
        source = self._tar.extractfile(member)  # tarfile knows where the holes are
        assert source is not None  # regular members always have data
        with source, os.fdopen(os.dup(fd), "wb") as out:
            shutil.copyfileobj(source, out, CHUNK)

    def _hard_link(self, parent: int, name: str, member: tarfile.TarInfo) -> None:
        target = _safe_parts(member.linkname, member.name)
        if not target:
            raise ImageError(f"hard link {member.name!r} points to the layer root")
        target_parent = self._open_directory(target[:-1], member.name, create=False)
        try:
            os.link(
                target[-1], name, src_dir_fd=target_parent, dst_dir_fd=parent, follow_symlinks=False
            )
        finally:
            os.close(target_parent)

    def _set_metadata(self, parent: int, name: str | None, member: tarfile.TarInfo) -> None:
        """Set owner, mode and mtime of `name` in `parent`, or of `parent` itself if None."""
        path: str | int = parent if name is None else name
        dir_fd = None if name is None else parent
        follow = name is None  # os refuses follow_symlinks=False with a file descriptor
        if self._as_root:
            os.chown(path, member.uid, member.gid, dir_fd=dir_fd, follow_symlinks=follow)
        if not member.issym():
            # After chown, which clears the setuid and setgid bits.
            os.chmod(path, member.mode & 0o7777, dir_fd=dir_fd)
        xattrs = {
            key.removeprefix(_XATTR_PAX_PREFIX): value
            for key, value in member.pax_headers.items()
            if key.startswith(_XATTR_PAX_PREFIX)
        }
        if xattrs:
            # setxattr(2) has no *at form: reach the entry through the open parent.
            target = parent if name is None else f"/proc/self/fd/{parent}/{name}"
            for key, value in xattrs.items():
                # Also after chown, which clears security.capability.
                os.setxattr(
                    target,
                    key,
                    value.encode("utf-8", "surrogateescape"),
                    follow_symlinks=name is None,
                )
        os.utime(path, (member.mtime, member.mtime), dir_fd=dir_fd, follow_symlinks=follow)

    def _open_directory(self, parts: tuple[str, ...], member: str, *, create: bool) -> int:
        """Open the directory `parts` below the root, refusing to pass through a symlink."""
        fd = os.dup(self._root_fd)
        try:
            for depth, part in enumerate(parts, start=1):
                try:
                    child = _open_child_directory(fd, part, create=create)
                except OSError as exc:
                    if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                        raise
                    through = "/".join(parts[:depth])
                    raise ImageError(
                        f"layer member {member!r} goes through {through!r},"
                        " which is a symlink or not a directory"
                    ) from exc
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd


@contextmanager
def _naming(member: tarfile.TarInfo) -> Iterator[None]:
    """Turn a system error while unpacking `member` into an ImageError naming it."""
    try:
        yield
    except (OSError, ValueError, OverflowError) as exc:
        raise ImageError(f"cannot unpack layer member {member.name!r}: {exc}") from exc


def _open_child_directory(parent: int, name: str, *, create: bool) -> int:
    try:
        return os.open(name, _DIRECTORY_FLAGS, dir_fd=parent)
    except FileNotFoundError:
        if not create:
            raise
    # A parent that the archive does not list, as tar creates it.
    os.mkdir(name, 0o700, dir_fd=parent)
    fd = os.open(name, _DIRECTORY_FLAGS, dir_fd=parent)
    os.chmod(fd, _IMPLICIT_DIRECTORY_MODE)
    return fd


def _make_directory(parent: int, name: str) -> None:
    try:
        os.mkdir(name, 0o700, dir_fd=parent)
    except FileExistsError:
        if not stat.S_ISDIR(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode):
            os.unlink(name, dir_fd=parent)
            os.mkdir(name, 0o700, dir_fd=parent)


def _remove(parent: int, name: str) -> None:
    """Remove an entry that a later member of the same name replaces, as tar does."""
    try:
        os.unlink(name, dir_fd=parent)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        os.rmdir(name, dir_fd=parent)


def _safe_parts(name: str, member: str) -> tuple[str, ...]:
    """Split a member path into components, refusing absolute paths and escapes via `..`."""
    if name.startswith("/"):
        raise ImageError(f"layer member {member!r} has an absolute path {name!r}")
    parts: list[str] = []
    for part in name.split("/"):
        if part == "..":
            if not parts:
                raise ImageError(f"layer member {member!r} escapes the layer root with {name!r}")
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return tuple(parts)
