"""Starting a process in cgroups of its own, on this machine's real
hierarchies, moves neither the caller nor its threads, and hides a mount
from the process alone."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.cgroups import (
    CGROUP_ROOT,
    HYBRID_V2,
    current_hierarchies,
    is_unified,
    prepare_cgroups,
    remove_cgroup,
)
from runtime.spawn import Placement, spawn

pytestmark = [
    pytest.mark.root,
    pytest.mark.timeout(30),
    pytest.mark.skipif(is_unified(), reason="Corral places processes itself on cgroup v1 only"),
]

NAME = "corral-test-spawn"


@pytest.fixture
def placement() -> Iterator[Placement]:
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
        remove_cgroup(NAME, hierarchies)


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


def test_the_process_gets_its_stdio_and_no_other_descriptor_of_ours(
    placement: Placement,
) -> None:
    leaked = os.open(os.devnull, os.O_RDONLY)
    os.set_inheritable(leaked, True)
    try:
        code, text = _run(["ls", "/proc/self/fd"], placement)
    finally:
        os.close(leaked)
    assert code == 0
    assert text.split() == ["0", "1", "2", "3"]  # 3: the directory ls reads
