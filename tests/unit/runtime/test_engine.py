"""Which OCI runtime the engine drives, and the reaping of its orphans."""

import contextlib
import ctypes
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import trio
import trio.testing

from runtime.engine import ContainerProcess, Engine, become_subreaper, runtime_binary

_PR_SET_NAME = 15


def test_corral_runtime_names_the_runtime() -> None:
    assert runtime_binary({"CORRAL_RUNTIME": "runc"}) == shutil.which("runc")
    assert runtime_binary({"CORRAL_RUNTIME": "/opt/bin/crun"}) == "/opt/bin/crun"
    assert runtime_binary({"CORRAL_RUNTIME": "no-such-runtime"}) == "no-such-runtime"


def test_crun_is_preferred_when_installed() -> None:
    expected = shutil.which("crun") or shutil.which("runc")
    assert expected is not None
    assert os.path.isabs(expected)
    assert runtime_binary({}) == expected
    assert runtime_binary({"CORRAL_RUNTIME": ""}) == expected


def _orphaned_zombie(name: str) -> int:
    """A grandchild that renames itself `name` and exits once orphaned to us
    (the subreaper), left a zombie: what a runtime killed mid-call leaves."""
    ours = os.getpid()
    middle = os.fork()
    if middle == 0:
        if os.fork() == 0:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_NAME, name.encode(), 0, 0, 0)
            while os.getppid() != ours:
                time.sleep(0.001)
            os._exit(0)
        os._exit(0)
    os.waitpid(middle, 0)
    return middle


def _in_forked_subreaper(work: Callable[[], object]) -> object:
    """Run `work` in a forked child that is a subreaper, so that the test
    process adopts nothing; its JSON result, or None when it failed."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            become_subreaper()
            os.write(write_end, json.dumps(work()).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        result = json.loads(pipe.read() or "null")
    os.waitpid(pid, 0)
    return result


def _zombies_left_by_reaper(names: list[str]) -> list[str]:
    """Orphan one zombie per name, let the engine reap, and return the names
    still zombies."""
    for name in names:
        _orphaned_zombie(name)
    orphans = _wait_for_zombies(len(names))
    Engine(Path("/nonexistent"), binary="runc").reap_orphans()
    left = sorted(name for child, name in orphans.items() if Path(f"/proc/{child}").exists())
    for child in orphans:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, 0)
    return left


def _wait_for_zombies(count: int) -> dict[int, str]:
    """Our zombie children by pid, with their names, once there are `count`."""
    while True:
        zombies = {}
        for child in Path(f"/proc/self/task/{os.getpid()}/children").read_text().split():
            stat = Path(f"/proc/{child}/stat").read_text()
            if stat[stat.rindex(")") + 2] == "Z":
                zombies[int(child)] = stat[stat.index("(") + 1 : stat.rindex(")")]
        if len(zombies) == count:
            return zombies
        time.sleep(0.001)


def test_reaper_takes_the_runtimes_orphans_and_nothing_else() -> None:
    names = ["runc", "runc:[1:CHILD]", "umount", "sleep", "runcible"]
    left = _in_forked_subreaper(lambda: _zombies_left_by_reaper(names))
    assert left == ["runcible", "sleep", "umount"]


def _exit_code_of_adopted_process(exit_code: int) -> int:
    """A grandchild exits with `exit_code` while its parent still lives, as a
    container can exit before the runtime's helper that started it;
    ContainerProcess.wait must then wait to adopt it."""
    release_read, release_write = os.pipe()
    middle = os.fork()
    if middle == 0:
        if os.fork() == 0:
            os._exit(exit_code)
        os.close(release_write)
        os.read(release_read, 1)  # outlive the grandchild until released
        os._exit(0)
    children = Path(f"/proc/{middle}/task/{middle}/children")
    while not children.read_text():
        time.sleep(0.001)
    grandchild = int(children.read_text())
    process = ContainerProcess(grandchild)
    while Path(f"/proc/{grandchild}/stat").read_text().split(") ")[1][0] != "Z":
        time.sleep(0.001)

    async def main() -> int:
        codes: list[int] = []

        async def wait() -> None:
            codes.append(await process.wait())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait)
            await trio.testing.wait_all_tasks_blocked()
            os.write(release_write, b"x")
        return codes[0]

    code = trio.run(main)
    os.waitpid(middle, 0)
    return code


def test_a_process_that_exits_before_its_parent_is_reaped_once_adopted() -> None:
    assert _in_forked_subreaper(lambda: _exit_code_of_adopted_process(3)) == 3
