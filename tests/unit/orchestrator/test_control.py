"""The control socket between the CLI and a supervisor."""

from pathlib import Path
from typing import Any

import pytest
import trio

from orchestrator.control import server
from orchestrator.control.address import MAX_PATH
from orchestrator.control.client import request, sent
from orchestrator.errors import ControlError, NotRunning


async def echo(message: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    return {"echo": message["op"]}


@pytest.mark.parametrize("name_length", [8, 150])
async def test_a_request_is_answered_whatever_the_length_of_the_path(
    tmp_path: Path, name_length: int
) -> None:
    # A project name of 150 characters makes the path too long for a
    # socket address of its own.
    path = tmp_path / ("p" * name_length) / "control.sock"
    assert (len(str(path)) > MAX_PATH) == (name_length == 150)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, path, echo)
        reply = await trio.to_thread.run_sync(request, path, {"op": "ps"})
        assert reply == {"echo": "ps"}
        nursery.cancel_scope.cancel()
    assert not path.exists()
    with pytest.raises(NotRunning):
        request(path, {"op": "ps"})


async def test_a_supervisor_that_does_not_answer_is_given_up_on(tmp_path: Path) -> None:
    stuck = trio.Event()

    async def never(message: dict[str, Any], fds: list[int]) -> dict[str, Any]:
        await stuck.wait()
        return {}

    path = tmp_path / "control.sock"
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, path, never)
        with pytest.raises(ControlError, match=r"did not answer within 0\.2 s$"):
            await trio.to_thread.run_sync(lambda: request(path, {"op": "ps"}, timeout=0.2))
        nursery.cancel_scope.cancel()


async def test_a_request_whose_client_hangs_up_is_cancelled(tmp_path: Path) -> None:
    started, cancelled = trio.Event(), trio.Event()

    async def running(message: dict[str, Any], fds: list[int]) -> dict[str, Any]:
        started.set()
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    path = tmp_path / "control.sock"
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, path, running)
        with sent(path, {"op": "exec"}):
            await started.wait()
        with trio.fail_after(5):
            await cancelled.wait()
        nursery.cancel_scope.cancel()
