"""A registry whose blob downloads break off or arrive corrupt, through a proxy on
loopback that sits between the client and the real registry."""

import json
import os
import re
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from runtime.errors import BlobCorrupt, RegistryError
from runtime.images import ImageStore
from runtime.images.pull import LayerProgress, LayerStatus, pull
from runtime.images.registry import RetryPolicy
from tests.integration.registry.conftest import Registry, needs_registry
from tests.integration.registry.oci_builder import Layout, layer_tar
from tests.integration.registry.proxy import Fault, proxied, through
from tests.unit.runtime.images.fake_server import Reply, Request

pytestmark = [needs_registry, pytest.mark.timeout(60)]
BLOB_SIZE = 1 << 20
CUT_AT = 300_000


def blob_fault(layer_digest: str, fault: str) -> tuple[Fault, list[str | None]]:
    """A fault for the responses of one layer blob, and the Range headers asked of it.

    "cut": the first response breaks off after CUT_AT bytes; "flip": every
    response has a byte flipped; "long": every response has a byte too many;
    "many": every response carries the blob four times over.
    """
    ranges: list[str | None] = []

    def spoil(request: Request, reply: Reply) -> Reply:
        if not request.path.endswith(f"/blobs/{layer_digest}") or request.method != "GET":
            return reply
        ranges.append(request.headers.get("range"))
        assert isinstance(reply.body, bytes)
        if fault == "cut" and len(ranges) == 1:
            return replace(reply, cut_after=CUT_AT)
        if fault == "flip":
            body = reply.body[:1000] + bytes([reply.body[1000] ^ 0xFF]) + reply.body[1001:]
            return replace(reply, body=body)
        if fault in ("long", "many"):
            body = reply.body + b"!" if fault == "long" else reply.body * 4
            return replace(reply, body=body, headers={"Content-Length": str(len(body))})
        return reply

    return spoil, ranges


@pytest.fixture
def pushed(registry: Registry, tmp_path: Path) -> tuple[str, str]:
    """An image of one incompressible 1 MiB layer: (reference, layer blob digest)."""
    layout = Layout(tmp_path / "layout")
    descriptor = layout.image([layer_tar({"data": os.urandom(BLOB_SIZE)})], compression="none")
    layout.tag(descriptor, "v1")
    reference = f"{registry.repository('faulty')}:v1"
    registry.push(layout, "v1", reference)
    manifest = (layout.path / "blobs/sha256" / descriptor["digest"].split(":")[1]).read_text()
    layer_digest = re.findall(r'"digest": "(sha256:[0-9a-f]+)"', manifest)[1]
    return reference, layer_digest


def contents(store: ImageStore) -> list[str]:
    return sorted(
        str(path.relative_to(store.root))
        for path in store.root.rglob("*")
        if path.name not in (".lock", ".gc.lock", "oci-layout")
    )


@pytest.mark.parametrize("fault", ["flip", "long"])
def test_corrupt_blob_is_rejected_and_nothing_is_stored(
    pushed: tuple[str, str], tmp_path: Path, fault: str
) -> None:
    reference, layer = pushed
    store = ImageStore(tmp_path / "images")
    spoil, _ = blob_fault(layer, fault)

    with proxied(reference.split("/")[0], spoil) as proxy:
        message = f"blob {layer} from registry {proxy.host} is corrupt: its content does not match"
        with pytest.raises(BlobCorrupt, match=f"^{re.escape(message)}$"):
            pull(store, through(proxy, reference))

    assert contents(store) == ["blobs", "blobs/sha256", "layers"]


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_download_refused_in_mid_blob_closes_its_connection(
    pushed: tuple[str, str], tmp_path: Path
) -> None:
    reference, layer = pushed
    spoil, _ = blob_fault(layer, "many")

    with proxied(reference.split("/")[0], spoil) as proxy:
        before = open_descriptors()
        with pytest.raises(BlobCorrupt) as caught:  # whose traceback holds the download
            pull(ImageStore(tmp_path / "images"), through(proxy, reference))
        deadline = time.monotonic() + 5
        while open_descriptors() > before and time.monotonic() < deadline:
            time.sleep(0.05)  # the proxy closes its side once it sees ours closed
        assert open_descriptors() == before, caught.value


def test_interrupted_download_resumes_where_it_stopped(
    pushed: tuple[str, str], tmp_path: Path
) -> None:
    reference, layer = pushed
    store = ImageStore(tmp_path / "images")
    spoil, ranges = blob_fault(layer, "cut")

    with proxied(reference.split("/")[0], spoil) as proxy:
        image = pull(store, through(proxy, reference), retry=RetryPolicy(first_delay=0))

    assert ranges == [None, f"bytes={CUT_AT}-"]
    assert (image.layers[0] / "data").stat().st_size == BLOB_SIZE


def test_a_later_pull_resumes_an_abandoned_download(
    pushed: tuple[str, str], tmp_path: Path
) -> None:
    reference, layer = pushed
    store = ImageStore(tmp_path / "images")
    spoil, _ = blob_fault(layer, "cut")

    with proxied(reference.split("/")[0], spoil) as proxy:
        message = (
            f"registry {proxy.host} failed 1 times: {proxy.host}:"
            " the server closed the connection in the middle of a body"
        )
        with pytest.raises(RegistryError, match=f"^{re.escape(message)}$"):
            pull(store, through(proxy, reference), retry=RetryPolicy(attempts=1))
    partial = store.blobs / f".partial-{layer.split(':')[1]}"
    assert partial.stat().st_size == CUT_AT
    assert store.references() == {}
    assert not list(store.layers.iterdir())

    recording, ranges = blob_fault(layer, "none")
    with proxied(reference.split("/")[0], recording) as proxy:
        image = pull(store, through(proxy, reference))

    assert ranges == [f"bytes={CUT_AT}-"]
    assert not partial.exists()
    assert (image.layers[0] / "data").stat().st_size == BLOB_SIZE


@pytest.fixture
def three_layers(registry: Registry, tmp_path: Path) -> tuple[str, list[str]]:
    """An image of three small layers: (reference, layer blob digests in order)."""
    layout = Layout(tmp_path / "layout3")
    layers = [layer_tar({f"f{index}": os.urandom(1000)}) for index in range(3)]
    descriptor = layout.image(layers, compression="none")
    layout.tag(descriptor, "v1")
    reference = f"{registry.repository('three')}:v1"
    registry.push(layout, "v1", reference)
    manifest = json.loads((layout.path / "blobs/sha256" / descriptor["digest"][7:]).read_text())
    return reference, [layer["digest"] for layer in manifest["layers"]]


def test_layers_not_begun_when_one_fails_are_never_begun(
    three_layers: tuple[str, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, layers = three_layers
    monkeypatch.setattr("runtime.images.pull.MAX_CONCURRENT_DOWNLOADS", 1)

    def missing_first(request: Request, reply: Reply) -> Reply:
        return Reply(404) if request.path.endswith(f"/blobs/{layers[0]}") else reply

    events: list[LayerProgress] = []
    with proxied(reference.split("/")[0], missing_first) as proxy:
        with pytest.raises(RegistryError, match=r"^registry .* has no blob "):
            pull(ImageStore(tmp_path / "images"), through(proxy, reference), progress=events.append)

    assert {e.status for e in events if e.digest != layers[0]} == {LayerStatus.WAITING}


def test_an_interrupted_pull_stops_at_once_while_a_layer_waits_to_retry(
    pushed: tuple[str, str], tmp_path: Path
) -> None:
    """Ctrl-C reaches the main thread; the worker waiting out a backoff must not
    keep the pull alive for the rest of it (0.2 + 0.4 + 0.8 + 1.6 s): once the
    pull has returned, no attempt was made after the interrupt."""
    reference, layer = pushed
    asked = threading.Event()
    attempts: list[str] = []

    def unavailable(request: Request, reply: Reply) -> Reply:
        if request.path.endswith(f"/blobs/{layer}"):
            attempts.append(request.path)
            asked.set()
            return Reply(503)
        return reply

    def interrupt() -> None:
        asked.wait(10)
        attempts_before_interrupt.append(len(attempts))
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    attempts_before_interrupt: list[int] = []
    with proxied(reference.split("/")[0], unavailable) as proxy:
        threading.Thread(target=interrupt, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            pull(ImageStore(tmp_path / "images"), through(proxy, reference))

    assert attempts_before_interrupt == [1]
    assert len(attempts) == 1
