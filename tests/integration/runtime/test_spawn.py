"""Starting a process in cgroups of its own, on this machine's real
hierarchies, moves neither the caller nor its threads, and hides a mount
from the process alone."""

import functools
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from runtime.cgroups import (
    CGROUP_ROOT,
    HYBRID_V2,
    Hierarchy,
    current_hierarchies,
    is_unified,
    prepare_cgroups,
    remove_cgroup,
)
from runtime.engine import Engine
from runtime.errors import EngineError
from runtime.spawn import Placement, spawn

pytestmark = [pytest.mark.root, pytest.mark.timeout(30)]

NAME = "corral-test-spawn"


@pytest.fixture
def placement() -> Iterator[Placement]:
    """The test's own cgroups, on cgroup v1 or the hybrid layout."""
    if is_unified():
        pytest.skip("Corral places processes itself on cgroup v1 only")
    hierarchies = current_hierarchies()
    prepare_cgroups(NAME, hierarchies)
    v2 = CGROUP_ROOT / HYBRID_V2
    try:
        yield Placement(
            v1=tuple(h.cgroup(NAME) for h in hierarchies if h.controllers),
            v2=next((h.cgroup(NAME) for h in hierarchies if not h.controllers), None),
            hidden=v2 if v2.is_mount() else None,
        )
    finally:
        _remove(hierarchies)


def _remove(hierarchies: list[Hierarchy]) -> None:
    """Remove the test's cgroups; a thread that joined one, and has just
    ended, keeps it busy for a moment."""
    deadline = time.monotonic() + 5
    while any(h.cgroup(NAME).exists() for h in hierarchies) and time.monotonic() < deadline:
        remove_cgroup(NAME, hierarchies)
        time.sleep(0.01)


def _run(argv: list[str], placement: Placement) -> tuple[int, str]:
    read_end, write_end = os.pipe()
    try:
        pid = spawn(argv, placement, stdin=None, stdout=write_end, stderr=write_end)
    finally:
        os.close(write_end)
    with os.fdopen(read_end) as output:
        text = output.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), text


def _cgroup_paths(text: str) -> set[str]:
    return {line.split(":", 2)[2] for line in text.splitlines()}


def test_the_process_starts_in_its_cgroups_and_we_stay_in_ours(placement: Placement) -> None:
    ours = Path("/proc/self/cgroup").read_text()
    threads = {
        task.name: (task / "cgroup").read_text() for task in Path("/proc/self/task").iterdir()
    }
    code, text = _run(["cat", "/proc/self/cgroup"], placement)
    assert code == 0
    assert {path.rsplit("/", 1)[-1] for path in _cgroup_paths(text)} == {NAME}
    assert Path("/proc/self/cgroup").read_text() == ours
    for task, cgroup in threads.items():
        assert Path(f"/proc/self/task/{task}/cgroup").read_text() == cgroup


def test_the_hidden_mount_is_gone_for_the_process_only(placement: Placement) -> None:
    if placement.hidden is None:
        pytest.skip("no hybrid v2 hierarchy with controllers to hide here")
    code, text = _run(["cat", "/proc/self/mountinfo"], placement)
    assert code == 0
    assert str(placement.hidden) not in {line.split()[4] for line in text.splitlines()}
    assert placement.hidden.is_mount()


def test_a_missing_cgroup_fails_before_anything_starts(
    placement: Placement, tmp_path: Path
) -> None:
    gone = placement.v1[0].parent / "corral-test-gone"
    marker = tmp_path / "ran"
    with pytest.raises(OSError, match=f"^\\[Errno 2\\] cannot join the cgroup of {gone}/tasks: "):
        spawn(["touch", str(marker)], Placement(v1=(*placement.v1, gone)), stdin=None,
              stdout=1, stderr=2)  # fmt: skip
    assert not marker.exists()


@pytest.mark.parametrize("where", ["here", "in-cgroups"])
def test_the_process_gets_its_stdio_and_no_other_descriptor_of_ours(
    where: str, request: pytest.FixtureRequest
) -> None:
    placement = Placement() if where == "here" else request.getfixturevalue("placement")
    leaked = os.open(os.devnull, os.O_RDONLY)
    os.set_inheritable(leaked, True)
    try:
        code, text = _run(["ls", "/proc/self/fd"], placement)
    finally:
        os.close(leaked)
    assert code == 0
    assert text.split() == ["0", "1", "2", "3"]  # 3: the directory ls reads


def test_the_process_leads_a_session_and_takes_sigpipe_by_default() -> None:
    """As subprocess starts one: Python ignores SIGPIPE, a child must not."""
    code, text = _run(["cat", "/proc/self/stat", "/proc/self/status"], Placement())
    assert code == 0
    stat, _, status = text.partition("\n")
    session = stat.rsplit(")", 1)[1].split()[3]  # after comm: state, ppid, pgrp, session
    assert session == stat.split()[0]
    ignored = next(line for line in status.splitlines() if line.startswith("SigIgn:"))
    assert not int(ignored.split()[1], 16) & (1 << (signal.SIGPIPE - 1))


def test_a_runtime_that_cannot_join_its_cgroups_fails_as_the_runtime_would(
    tmp_path: Path,
) -> None:
    """A cgroup gone before the start is a failed start (the restart policy
    applies), not a crash of the supervisor."""
    engine = Engine(tmp_path / "state")
    if engine.name != "crun" or is_unified():
        pytest.skip("Corral places the runtime itself with crun on cgroup v1 only")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text(json.dumps({"linux": {"cgroupsPath": NAME}}))
    hierarchies = current_hierarchies()
    engine.prepare_cgroups("c1", bundle)
    try:
        pids = next(h for h in hierarchies if "pids" in h.controllers)
        pids.cgroup(NAME).rmdir()
        with pytest.raises(EngineError, match=f"cannot join the cgroup of {pids.cgroup(NAME)}"):
            trio.run(functools.partial(engine.run, "c1", bundle, stdout=1, stderr=2))
    finally:
        _remove(hierarchies)
