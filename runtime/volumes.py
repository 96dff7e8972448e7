"""Anonymous volumes for the paths an image declares as `Volumes`.

Docker gives each such path a volume of its own: a directory outside the
container's overlay, bind-mounted at the path, filled on first use with what
the image holds there (ownership, modes, links and extended attributes
kept). Here each lives under the container's own data directory, so it
lasts as long as the container (across restarts) and goes with it.

The path comes from an image, so it is resolved inside the root filesystem
as the container would see it: a symlink in the image is followed within
the root, never out to the host's files.
"""

import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from runtime.errors import ContainerRuntimeError

_MAX_LINKS = 40  # as the kernel's limit on symlinks followed in one lookup


def prepare_volumes(
    paths: Sequence[str], rootfs: Path, volumes_dir: Path
) -> tuple[tuple[str, Path], ...]:
    """A volume per path in `paths`: (path in the container, host directory)
    pairs to bind-mount. A volume made before (an earlier start) is reused as
    it is; a new one is filled from the image's content at that path."""
    binds = []
    for path in paths:
        inside = resolve_in_root(rootfs, path)
        volume = volumes_dir / _volume_name(inside)
        if not volume.is_dir():
            _create(rootfs / inside.relative_to("/"), volume, path)
        binds.append((str(inside), volume))
    return tuple(binds)


def resolve_in_root(rootfs: Path, path: str) -> PurePosixPath:
    """`path` as seen from inside `rootfs`: symlinks followed, each relative to
    the root and `..` stopping at it. Raises ContainerRuntimeError for a path
    that is not absolute or loops."""
    if not path.startswith("/"):
        raise ContainerRuntimeError(f"image volume {path!r} is not an absolute path")
    pending = list(reversed(PurePosixPath(path).parts[1:]))
    resolved = PurePosixPath("/")
    links = 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            resolved = resolved.parent
            continue
        candidate = resolved / part
        host = rootfs / candidate.relative_to("/")
        if not host.is_symlink():
            resolved = candidate
            continue
        links += 1
        if links > _MAX_LINKS:
            raise ContainerRuntimeError(f"image volume {path!r}: too many symbolic links")
        target = PurePosixPath(os.readlink(host))
        if target.is_absolute():
            resolved = PurePosixPath("/")
        pending.extend(reversed(target.parts[1:] if target.is_absolute() else target.parts))
    return resolved


def _volume_name(inside: PurePosixPath) -> str:
    readable = "-".join(inside.parts[1:])[:40] or "root"
    return f"{readable}-{hashlib.sha256(str(inside).encode()).hexdigest()[:12]}"


def _create(source: Path, volume: Path, path: str) -> None:
    """Fill a new volume from `source`, atomically: a half-copied one is never used."""
    if source.exists() and not source.is_dir():
        raise ContainerRuntimeError(f"image volume {path!r} is not a directory in the image")
    partial = volume.with_name(f".partial-{volume.name}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True, mode=0o755)
    if source.is_dir():
        copied = subprocess.run(
            ["cp", "-a", "--", f"{source}/.", str(partial)],
            capture_output=True,
            text=True,
            check=False,
        )
        if copied.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            raise ContainerRuntimeError(
                f"image volume {path!r}: copying the image's content failed: "
                f"{copied.stderr.strip()}"
            )
    partial.rename(volume)
