"""Which OCI runtime the engine drives, and the reaping of its orphans."""

import contextlib
import ctypes
import json
import os
import shutil
import time
from pathlib import Path

from runtime.engine import Engine, become_subreaper, runtime_binary

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


def _zombies_left_by_reaper(names: list[str]) -> set[str]:
    """In a forked subreaper: orphan one zombie per name, let the engine reap,
    and return the names still zombies."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            become_subreaper()
            for name in names:
                _orphaned_zombie(name)
            orphans = _wait_for_zombies(len(names))
            Engine(Path("/nonexistent"), binary="runc").reap_orphans()
            left = {name for child, name in orphans.items() if Path(f"/proc/{child}").exists()}
            os.write(write_end, json.dumps(sorted(left)).encode())
            for child in orphans:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(child, 0)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        left = json.loads(pipe.read() or "null")
    os.waitpid(pid, 0)
    assert left is not None, "the subreaper process failed"
    return set(left)


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
    left = _zombies_left_by_reaper(["runc", "runc:[1:CHILD]", "sleep", "runcible"])
    assert left == {"sleep", "runcible"}
