"""(f) Pull of a 5-layer image, 100 MB unpacked (~53 MB gzipped), from a registry on loopback.

Cold (empty store), next to `skopeo copy docker://... dir:...` of the same
image in the same run, then warm (image already present). Debian's
docker-registry serves the image, pushed with skopeo from an OCI layout
built here. Prints figures only.

Corral's bytecode is compiled first, as installing it (or any first run
without PYTHONDONTWRITEBYTECODE) does: otherwise every process would
compile Corral's sources anew, which is not what a user's `corral` does.
"""

import gzip
import hashlib
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

LAYERS = 5
LAYER_BYTES = 20 * 1024 * 1024
REPO = Path(__file__).resolve().parents[1]
CORRAL = Path(sys.executable).with_name("corral")
"""The installed command, as a user runs it."""


def _layer(index: int) -> bytes:
    """A tar of one file: half random (incompressible), half text."""
    payload = os.urandom(LAYER_BYTES // 2) + b"corral bench\n" * (LAYER_BYTES // 26)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(f"layer{index}/data")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def _write_layout(path: Path) -> None:
    blobs = path / "blobs/sha256"
    blobs.mkdir(parents=True)

    def blob(data: bytes, media_type: str) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    layers, diff_ids = [], []
    for index in range(LAYERS):
        tar = _layer(index)
        diff_ids.append(f"sha256:{hashlib.sha256(tar).hexdigest()}")
        layers.append(blob(gzip.compress(tar, 1), "application/vnd.oci.image.layer.v1.tar+gzip"))
    config = {"os": "linux", "architecture": "amd64", "config": {},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}  # fmt: skip
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json"),
        "layers": layers,
    }
    descriptor = blob(json.dumps(manifest).encode(), manifest["mediaType"])  # type: ignore[arg-type]
    descriptor["annotations"] = {"org.opencontainers.image.ref.name": "bench"}
    (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [descriptor]}))


def _start_registry(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = root / "registry.yml"
    config.write_text(
        "version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'registry'}}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
    )
    process = subprocess.Popen(["docker-registry", "serve", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)


def _timed(command: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - began


def bench_pull(root: Path, runs: int = 5) -> None:
    root = root / "pull"
    root.mkdir()
    _write_layout(root / "layout")
    packages = [str(REPO / package) for package in ("orchestrator", "runtime", "netplug")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], check=True, timeout=300)
    registry, host = _start_registry(root)
    try:
        reference = f"{host}/bench/app:1"
        subprocess.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
                        f"oci:{root / 'layout'}:bench", f"docker://{reference}"],
                       check=True, timeout=300)  # fmt: skip
        corral = [str(CORRAL), "image", "pull", reference]
        colds, skopeos, warms = [], [], []
        for run in range(runs):
            env = {**os.environ, "CORRAL_DATA_ROOT": str(root / f"data{run}"),
                   "PYTHONPATH": str(REPO)}  # fmt: skip
            target = f"dir:{root / f'skopeo{run}'}"
            skopeo_copy = ["skopeo", "copy", "--quiet", "--src-tls-verify=false"]
            skopeos.append(_timed([*skopeo_copy, f"docker://{reference}", target], env))
            colds.append(_timed(corral, env))
            warms.append(_timed(corral, env))
        megabytes = sum(p.stat().st_size for p in (root / "skopeo0").iterdir()) / 1e6
        cold, skopeo, warm = (statistics.median(x) for x in (colds, skopeos, warms))
        print(f"(f) pull of a {LAYERS}-layer image, {megabytes:.0f} MB compressed, from loopback:"
              f" cold {cold * 1000:.0f} ms (download, verify, unpack) vs skopeo copy to a"
              f" directory {skopeo * 1000:.0f} ms (download only): {cold / skopeo:.2f}x;"
              f" warm {warm * 1000:.0f} ms (medians of {runs}; each a new process)")  # fmt: skip
    finally:
        registry.send_signal(signal.SIGTERM)
        registry.wait(timeout=10)


if __name__ == "__main__":
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="crbench-", dir="/tmp"))
    try:
        bench_pull(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
