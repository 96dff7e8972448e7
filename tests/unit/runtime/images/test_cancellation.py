"""A cancelled pull stops waiting at once: for another pull's partial file, and
between attempts at a failing blob download."""

import fcntl
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.images import ImageStore
from runtime.images.fetch import LayerFetcher
from runtime.images.media import OCI_LAYER, Descriptor
from runtime.images.progress import ignore
from runtime.images.registry import Cancelled, RegistryClient, RetryPolicy
from runtime.images.transport import Transport
from tests.unit.runtime.images.fake_server import Reply, serve

pytestmark = pytest.mark.timeout(10)
DIGEST = "sha256:" + "ab" * 32
DIFF_ID = "sha256:" + "cd" * 32


def outcome_of(work: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    """`work` started in a thread; the list receives what it raised."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, raised


def test_waiting_for_another_pulls_partial_file_ends_when_cancelled(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    store.prepare()
    layer = Descriptor(OCI_LAYER, DIGEST, 10)
    holder = os.open(store.blobs / f".partial-{layer.hex}", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)  # as another pull of the same blob holds it
    cancel = threading.Event()
    unreachable = RegistryClient(Transport(), "127.0.0.1:1", None)
    fetcher = LayerFetcher(store, unreachable, "app", ignore, cancel)
    thread, raised = outcome_of(lambda: fetcher.fetch(layer, DIFF_ID))
    try:
        thread.join(0.2)
        assert thread.is_alive()
        cancel.set()
        thread.join(1)
        assert not thread.is_alive()
    finally:
        os.close(holder)
        thread.join(5)
    assert [type(exc) for exc in raised] == [Cancelled]


def test_a_blob_download_waiting_to_retry_stops_when_cancelled() -> None:
    with serve(lambda request: Reply(503)) as server:
        client = RegistryClient(Transport(), server.host, None, retry=RetryPolicy(first_delay=30))
        cancel = threading.Event()
        stream = client.blob("app", DIGEST, 0, cancel)
        thread, raised = outcome_of(lambda: stream.read(1024))
        thread.join(0.3)
        assert len(server.requests) == 1  # and now waiting 30 s for the next attempt
        cancel.set()
        thread.join(1)
        assert not thread.is_alive()
    assert [type(exc) for exc in raised] == [Cancelled]
