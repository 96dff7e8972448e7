"""OCI image layouts built by the tests, from tar layers made with tarfile."""

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MTIME = 1_700_000_000


def layer_tar(files: dict[str, bytes | None], *, dirs: tuple[str, ...] = ()) -> bytes:
    """A layer: `files` maps path -> content (None makes an empty whiteout marker)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, MTIME
            tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data or b""), 0o644, MTIME
            tar.addfile(info, io.BytesIO(data or b""))
    return buffer.getvalue()


def compress(data: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if how == "zstd":
        import zstandard

        return zstandard.ZstdCompressor().compress(data)
    return data


_LAYER_TYPES = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}


def digest_of(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


@dataclass
class Layout:
    """An OCI image layout directory being written."""

    path: Path
    manifests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.path / "blobs/sha256").mkdir(parents=True, exist_ok=True)
        (self.path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')

    def blob(self, data: bytes, media_type: str) -> dict[str, Any]:
        digest = digest_of(data)
        (self.path / "blobs/sha256" / digest.split(":")[1]).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def image(
        self,
        layers: list[bytes],
        *,
        compression: str = "gzip",
        config: dict[str, Any] | None = None,
        architecture: str = "amd64",
    ) -> dict[str, Any]:
        """Write an image's blobs and return its manifest descriptor."""
        document = {
            "created": "2023-11-14T22:13:20Z",
            "architecture": architecture,
            "os": "linux",
            "config": config or {},
            "rootfs": {"type": "layers", "diff_ids": [digest_of(layer) for layer in layers]},
        }
        media_type = "application/vnd.oci.image.manifest.v1+json"
        manifest = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": self.blob(
                json.dumps(document).encode(), "application/vnd.oci.image.config.v1+json"
            ),
            "layers": [
                self.blob(compress(layer, compression), _LAYER_TYPES[compression])
                for layer in layers
            ],
        }
        return self.blob(json.dumps(manifest).encode(), media_type)

    def tag(self, descriptor: dict[str, Any], name: str) -> None:
        entry = {**descriptor, "annotations": {"org.opencontainers.image.ref.name": name}}
        self.manifests.append(entry)
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": self.manifests,
        }
        (self.path / "index.json").write_text(json.dumps(index))

    def platform_index(self, entries: list[tuple[dict[str, Any], str, str]]) -> dict[str, Any]:
        """An image index over (manifest, os, architecture) entries."""
        media_type = "application/vnd.oci.image.index.v1+json"
        index = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": [
                {**manifest, "platform": {"os": os_, "architecture": arch}}
                for manifest, os_, arch in entries
            ],
        }
        return self.blob(json.dumps(index).encode(), media_type)
