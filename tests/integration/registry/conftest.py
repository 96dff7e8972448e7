"""Real registries on loopback (Debian's docker-registry), filled with skopeo.

`registry` is plain HTTP and anonymous; `secure_registry` serves TLS with a
self-signed certificate (for 127.0.0.1 and PROXIED_NAME) and wants htpasswd
basic auth. Both live for the
session, each test pushing under repository names of its own. They need a
loopback interface, which `make test` provides with `unshare --net`.
"""

import itertools
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.registry.oci_builder import Layout
from tests.integration.stack_helpers import REPO

USER, PASSWORD = "corral", "s3cret-pass"
# A name of the registries that only the tests' forward proxy resolves (to 127.0.0.1).
PROXIED_NAME = "registry.test"
_names = itertools.count(1)

needs_registry = pytest.mark.skipif(
    shutil.which("docker-registry") is None or shutil.which("skopeo") is None,
    reason="needs Debian's docker-registry and skopeo: run `make test`",
)


@dataclass
class Registry:
    host: str  # 127.0.0.1:PORT
    root: Path
    tls_dir: Path | None = None

    def repository(self, stem: str) -> str:
        """A repository name no other test uses."""
        return f"{self.host}/{stem}{next(_names)}"

    def push(
        self, layout: Layout, name: str, reference: str, *, all_platforms: bool = False
    ) -> None:
        """Copy image `name` of `layout` to `reference` ("host/repo:tag") unchanged."""
        command = ["skopeo", "copy", "--quiet", "--preserve-digests"]
        if all_platforms:
            command.append("--all")
        if self.tls_dir is None:
            command.append("--dest-tls-verify=false")
        else:
            command += ["--dest-cert-dir", str(self.tls_dir), "--dest-creds", f"{USER}:{PASSWORD}"]
        command += [f"oci:{layout.path}:{name}", f"docker://{reference}"]
        subprocess.run(command, check=True, timeout=60, capture_output=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"docker-registry did not listen on port {port} within {timeout} s")


def _serve(root: Path, extra: str) -> Iterator[Registry]:
    port = _free_port()
    root.mkdir(parents=True)
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: error, accesslog: {disabled: true}}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'storage'}}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'{extra}}}\n"
    )
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=(root / "registry.log").open("wb"),
    )
    try:
        _wait_for_port(port, process)
        yield Registry(f"127.0.0.1:{port}", root)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def registry(test_root: Path) -> Iterator[Registry]:
    yield from _serve(test_root / "registry", "")


@pytest.fixture(scope="session")
def secure_registry(test_root: Path) -> Iterator[Registry]:
    """TLS with a self-signed certificate for 127.0.0.1, and htpasswd basic auth."""
    root = test_root / "secure-registry"
    tls = test_root / "secure-registry-tls"
    tls.mkdir(parents=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(tls / "client.key.pem"), "-out", str(tls / "ca.crt"),
         "-subj", "/CN=127.0.0.1", "-addext", f"subjectAltName=IP:127.0.0.1,DNS:{PROXIED_NAME}"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    # skopeo's cert dir takes *.crt as CAs and expects a key only beside a client cert.
    key = tls.parent / "secure-registry.key"
    shutil.move(tls / "client.key.pem", key)
    htpasswd = subprocess.run(
        ["htpasswd", "-Bbn", USER, PASSWORD], check=True, capture_output=True, timeout=30
    ).stdout
    (tls.parent / "htpasswd").write_bytes(htpasswd)
    extra = (
        f", tls: {{certificate: {tls / 'ca.crt'}, key: {key}}}}}\n"
        f"auth: {{htpasswd: {{realm: corral-test, path: {tls.parent / 'htpasswd'}}}"
    )
    for instance in _serve(root, extra):
        instance.tls_dir = tls
        yield instance


@pytest.fixture
def trust_registry(secure_registry: Registry, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Trust the secure registry's certificate, as if it were in the system store."""
    assert secure_registry.tls_dir is not None
    certificate = secure_registry.tls_dir / "ca.crt"
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    return certificate


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Docker client config directory of this test's own."""
    directory = tmp_path / "docker-config"
    directory.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(directory))
    return directory


def environ_with(**values: str) -> dict[str, str]:
    return {**os.environ, **values}


@pytest.fixture(scope="session")
def busybox_layer(test_root: Path) -> bytes:
    """The busybox root filesystem the demo imports, as one uncompressed layer."""
    tarball = test_root / "busybox-layer.tar"
    subprocess.run([str(REPO / "specs/busybox-rootfs.sh"), str(tarball)], check=True, timeout=60)
    return tarball.read_bytes()
