"""Garbage collection of the image store: `rmi` and `prune`.

What no reference reaches is removed: blobs, unpacked layers, and partial
downloads. A layer directory that a mounted overlay uses as a lower
directory is kept whatever the references say, so removing an image never
pulls the floor from under a running container. Mounts are read from
/proc/self/mountinfo (the runtime knows nothing of projects); callers that
know of layers in use without a mount pass them as `in_use`.
"""

import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from runtime.images.store import ImageStore

_MOUNTINFO = Path("/proc/self/mountinfo")


@dataclass(frozen=True)
class Collected:
    blobs: int
    layers: int
    bytes: int


def remove_images(store: ImageStore, references: Iterable[str]) -> list[str]:
    """Remove each reference, then collect; returns the manifest digests untagged.

    Raises ImageNotFound for the first unknown reference, after removing those before it.
    """
    removed = [store.untag(reference) for reference in references]
    collect(store)
    return removed


def collect(store: ImageStore, in_use: Iterable[Path] = ()) -> Collected:
    """Remove every blob and layer that no reference reaches and no mount uses."""
    if not store.root.is_dir():
        return Collected(0, 0, 0)
    with store.collecting():
        blobs, diff_ids = store.reachable()
        keep_blobs = {digest.removeprefix("sha256:") for digest in blobs}
        keep_layers = {diff_id.removeprefix("sha256:") for diff_id in diff_ids}
        keep_layers |= {path.name for path in in_use} | layers_mounted(store.layers)
        freed = blob_count = layer_count = 0
        for path in _entries(store.blobs):
            if path.name not in keep_blobs:
                freed += path.lstat().st_size
                path.unlink()
                blob_count += not path.name.startswith(".")
        for path in _entries(store.layers):
            if path.name not in keep_layers:
                freed += _tree_size(path)
                shutil.rmtree(path)
                layer_count += not path.name.startswith(".")
    return Collected(blob_count, layer_count, freed)


def layers_mounted(layers: Path) -> set[str]:
    """Names of the directories under `layers` that a mounted overlay uses."""
    # mountinfo escapes space, tab, newline and backslash as octal; overlayfs
    # escapes ':' and ',' in its options with a backslash.
    escaped = (
        os.fspath(layers.absolute())
        .replace("\\", "\\134")
        .replace(" ", "\\040")
        .replace("\t", "\\011")
        .replace("\n", "\\012")
    )
    escaped = escaped.replace(":", "\\:").replace(",", "\\,")
    pattern = re.compile(re.escape(escaped) + r"/([0-9a-f]{64})(?![0-9a-f])")
    try:
        text = _MOUNTINFO.read_text(errors="surrogateescape")
    except OSError:
        return set()
    return {
        match[1]
        for line in text.splitlines()
        if " overlay " in line
        for match in pattern.finditer(line)
    }


def _entries(directory: Path) -> list[Path]:
    try:
        return list(directory.iterdir())
    except FileNotFoundError:
        return []


def _tree_size(path: Path) -> int:
    total = 0
    for parent, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(parent, name)).st_size
            except OSError:
                pass
    return total
