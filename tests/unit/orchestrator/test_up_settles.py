"""`up` asks a supervisor its state: only a stack that is up is "already
up"; one stopping is waited for until its supervisor has exited."""

from pathlib import Path
from typing import Any

import trio

from orchestrator.cli_stack import _is_up_once_settled
from orchestrator.control import server
from orchestrator.paths import StateRoots


async def test_a_stack_that_is_up_is_already_up(tmp_path: Path) -> None:
    paths = StateRoots(tmp_path / "run", tmp_path / "data").project("p")

    async def up(message: dict[str, Any], fds: list[int]) -> dict[str, Any]:
        return {"state": "up", "pid": 1, "within": 0.0}

    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, paths.control_socket, up)
        assert await trio.to_thread.run_sync(_is_up_once_settled, paths)
        nursery.cancel_scope.cancel()


async def test_a_stack_going_away_is_waited_for_then_not_up(tmp_path: Path) -> None:
    paths = StateRoots(tmp_path / "run", tmp_path / "data").project("p")
    # Stands for a supervisor tearing its stack down.
    supervisor = await trio.lowlevel.open_process(["sleep", "60"])
    asked = trio.Event()

    async def stopping(message: dict[str, Any], fds: list[int]) -> dict[str, Any]:
        assert message == {"op": "status"}
        asked.set()
        return {"state": "stopping", "pid": supervisor.pid, "within": 30.0}

    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, paths.control_socket, stopping)
        settled: list[bool] = []
        done = trio.Event()

        async def up_checks() -> None:
            settled.append(await trio.to_thread.run_sync(_is_up_once_settled, paths))
            done.set()

        nursery.start_soon(up_checks)
        await asked.wait()
        await trio.sleep(0.3)
        assert settled == []  # still waiting for the supervisor
        # The supervisor exits: its socket is gone with it.
        paths.control_socket.unlink()
        supervisor.kill()
        await supervisor.wait()
        with trio.fail_after(10):
            await done.wait()
        nursery.cancel_scope.cancel()
    assert settled == [False]
