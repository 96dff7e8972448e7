"""A registry whose blob downloads break or arrive corrupt, through a transport
that sits between the client and the real registry on loopback."""

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from runtime.errors import BlobCorrupt, RegistryError
from runtime.images import ImageStore
from runtime.images.pull import pull
from runtime.images.registry import RetryPolicy
from tests.integration.registry.conftest import Registry, needs_registry
from tests.integration.registry.oci_builder import Layout, layer_tar

pytestmark = [needs_registry, pytest.mark.timeout(60)]
BLOB_SIZE = 1 << 20
CUT_AT = 300_000


class FaultyTransport(httpx.AsyncBaseTransport):
    """Passes requests to the real registry, recording them; the first response
    for a layer blob is cut after CUT_AT bytes, or every one has a byte flipped."""

    def __init__(self, layer_digest: str, fault: str) -> None:
        self._real = httpx.AsyncHTTPTransport()
        self._layer = layer_digest
        self._fault = fault
        self.ranges: list[str | None] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._real.handle_async_request(request)
        if not request.url.path.endswith(f"/blobs/{self._layer}"):
            return response
        self.ranges.append(request.headers.get("range"))
        body = response.stream
        assert isinstance(body, httpx.AsyncByteStream)
        fault = self._fault
        if fault == "cut" and len(self.ranges) > 1:
            fault = "none"
        return httpx.Response(
            response.status_code, headers=response.headers, stream=_Faulty(body, fault)
        )

    async def aclose(self) -> None:
        await self._real.aclose()


class _Faulty(httpx.AsyncByteStream):
    def __init__(self, body: httpx.AsyncByteStream, fault: str) -> None:
        self._body = body
        self._fault = fault

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        async for chunk in self._body:
            if self._fault == "cut" and sent + len(chunk) >= CUT_AT:
                yield chunk[: CUT_AT - sent]
                raise httpx.ReadError("connection reset by the test")
            if self._fault == "flip" and sent <= 1000 < sent + len(chunk):
                at = 1000 - sent
                chunk = chunk[:at] + bytes([chunk[at] ^ 0xFF]) + chunk[at + 1 :]
            sent += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self._body.aclose()


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


async def test_corrupt_blob_is_rejected_and_nothing_is_stored(
    pushed: tuple[str, str], tmp_path: Path
) -> None:
    reference, layer = pushed
    store = ImageStore(tmp_path / "images")
    transport = FaultyTransport(layer, "flip")

    message = f"blob {layer} from registry {reference.split('/')[0]} is corrupt:" \
        " its content does not match"  # fmt: skip
    with pytest.raises(BlobCorrupt, match=f"^{re.escape(message)}$"):
        await pull(store, reference, transport=transport)

    assert contents(store) == ["blobs", "blobs/sha256", "layers"]


async def test_interrupted_download_resumes_where_it_stopped(
    pushed: tuple[str, str], tmp_path: Path
) -> None:
    reference, layer = pushed
    store = ImageStore(tmp_path / "images")
    transport = FaultyTransport(layer, "cut")

    image = await pull(store, reference, transport=transport, retry=RetryPolicy(first_delay=0))

    assert transport.ranges == [None, f"bytes={CUT_AT}-"]
    assert (image.layers[0] / "data").stat().st_size == BLOB_SIZE


async def test_a_later_pull_resumes_an_abandoned_download(
    pushed: tuple[str, str], tmp_path: Path
) -> None:
    reference, layer = pushed
    store = ImageStore(tmp_path / "images")
    once = RetryPolicy(attempts=1)

    with pytest.raises(RegistryError, match="connection reset by the test"):
        await pull(store, reference, transport=FaultyTransport(layer, "cut"), retry=once)
    partial = store.blobs / f".partial-{layer.split(':')[1]}"
    assert partial.stat().st_size == CUT_AT
    assert store.references() == {}

    recording = FaultyTransport(layer, "none")
    image = await pull(store, reference, transport=recording)

    assert recording.ranges == [f"bytes={CUT_AT}-"]
    assert not partial.exists()
    assert (image.layers[0] / "data").stat().st_size == BLOB_SIZE
