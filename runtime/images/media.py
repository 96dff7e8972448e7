"""Manifests, indexes and descriptors: OCI's and Docker schema 2's, read alike.

A manifest list (Docker) and an image index (OCI) are resolved to the entry
for the host's platform; a manifest gives its config and layer descriptors.
Docker's media types are mapped to OCI's where an OCI layout is written.
"""

import json
import os
import re
from typing import Any, NamedTuple

from runtime.errors import ImageError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
TO_OCI = {
    DOCKER_MANIFEST: OCI_MANIFEST,
    DOCKER_CONFIG: OCI_CONFIG,
    DOCKER_LAYER_GZIP: OCI_LAYER_GZIP,
    "application/vnd.docker.image.rootfs.diff.tar": OCI_LAYER,
}

DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
# Python's machine names to the GOARCH values, and variants, that OCI uses.
_PLATFORMS = {
    "x86_64": ("amd64", ""),
    "aarch64": ("arm64", "v8"),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "i386": ("386", ""),
    "i686": ("386", ""),
}


class Descriptor(NamedTuple):  # half a dataclass's cost to define, on every pull's path
    media_type: str
    digest: str  # "sha256:<hex>", checked
    size: int

    @property
    def hex(self) -> str:
        return self.digest.removeprefix("sha256:")

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


class Manifest(NamedTuple):  # half a dataclass's cost to define, on every pull's path
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]


def host_platform() -> tuple[str, str]:
    """(architecture, variant) of this machine as OCI names them; variant may be ''."""
    machine = os.uname().machine
    return _PLATFORMS.get(machine, (machine, ""))


def load_json(data: bytes, where: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise ImageError(f"{where} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ImageError(f"{where} is not a JSON object")
    return document


def media_type_of(document: dict[str, Any], header: str = "") -> str:
    """The document's own mediaType, else the one the server declared, else by shape."""
    declared = document.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    if header:
        return header.split(";")[0].strip()
    return OCI_INDEX if "manifests" in document else OCI_MANIFEST


def descriptor(value: Any, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise ImageError(f"{where} has a descriptor that is not an object")
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    if not isinstance(digest, str) or DIGEST.fullmatch(digest) is None:
        raise ImageError(f"{where} has a descriptor with an unsupported digest {digest!r}")
    if not isinstance(size, int) or size < 0:
        raise ImageError(f"{where} has a descriptor of {digest} without a valid size")
    return Descriptor(media_type if isinstance(media_type, str) else "", digest, size)


def parse_manifest(document: dict[str, Any], where: str) -> Manifest:
    layers = document.get("layers")
    if not isinstance(layers, list):
        raise ImageError(f"{where} has no list of layers")
    return Manifest(
        media_type_of(document),
        descriptor(document.get("config"), where),
        tuple(descriptor(layer, where) for layer in layers),
    )


def select_platform(document: dict[str, Any], where: str) -> Descriptor:
    """The index entry for linux on this machine's architecture (and variant, if listed)."""
    entries = document.get("manifests")
    if not isinstance(entries, list):
        raise ImageError(f"{where} has no list of manifests")
    architecture, variant = host_platform()
    candidates = []
    offered = []
    for entry in entries:
        platform = entry.get("platform") if isinstance(entry, dict) else None
        if not isinstance(platform, dict):
            continue
        offered.append(f"{platform.get('os')}/{platform.get('architecture')}")
        if platform.get("os") == "linux" and platform.get("architecture") == architecture:
            exact = platform.get("variant", variant) == variant
            candidates.append((not exact, descriptor(entry, where)))
    if not candidates:
        raise ImageError(
            f"{where} has no image for linux/{architecture}"
            f" (it offers {', '.join(offered) or 'no platform'})"
        )
    return min(candidates, key=lambda candidate: candidate[0])[1]
