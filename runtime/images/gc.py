"""Garbage collection of the image store: `rmi`, `prune` and `prune -a`.

What no reference reaches is removed: blobs, unpacked layers, and partial
downloads. A layer directory that a mounted overlay uses as a lower
directory is kept whatever the references say, so removing an image never
pulls the floor from under a running container. Mounts are read from
/proc/self/mountinfo (the runtime knows nothing of projects); callers that
know of layers in use without a mount pass them as `in_use`.

`prune -a` also removes, as Docker's does, every image that no container
uses: an image is in use when a mounted overlay has exactly its layers as
lower directories, as a container's root filesystem has.
"""

import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import ImageError
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


def remove_unused_images(store: ImageStore) -> tuple[list[str], Collected]:
    """Untag every image that no mounted overlay uses, then collect.

    Returns the references removed and what the collection freed.
    """
    if not store.root.is_dir():
        return [], Collected(0, 0, 0)
    with store.collecting():  # no pull tags an image meanwhile
        mounted = overlays_mounted(store.layers)
        removed = []
        for reference, digest in sorted(store.references().items()):
            try:
                layers = tuple(layer.name for layer in store.image(reference, digest).layers)
            except ImageError:
                layers = ()  # a broken image, which nothing can have mounted
            if layers not in mounted:
                store.untag(reference)
                removed.append(reference)
        return removed, _collect(store, ())


def collect(store: ImageStore, in_use: Iterable[Path] = ()) -> Collected:
    """Remove every blob and layer that no reference reaches and no mount uses."""
    if not store.root.is_dir():
        return Collected(0, 0, 0)
    with store.collecting():
        return _collect(store, in_use)


def _collect(store: ImageStore, in_use: Iterable[Path]) -> Collected:
    """`collect`, holding the store's collection lock."""
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
    return {name for overlay in overlays_mounted(layers) for name in overlay}


def overlays_mounted(layers: Path) -> set[tuple[str, ...]]:
    """For each mounted overlay, the names of its lower directories under `layers`,
    lowest first."""
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
    # The lower directories come first in the options, top-most first; the
    # upper and work directories are never under `layers`.
    return {
        tuple(reversed([match[1] for match in pattern.finditer(line)]))
        for line in text.splitlines()
        if " overlay " in line and pattern.search(line)
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
