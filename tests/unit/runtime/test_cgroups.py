"""Finding, making and removing cgroups, on directory trees standing in for /sys/fs/cgroup."""

import os
from pathlib import Path

import pytest

from runtime.cgroups import (
    Hierarchy,
    cgroups_named,
    device_rule_lines,
    hybrid_with_controllers,
    is_unified,
    own_hierarchies,
    prepare_cgroups,
    prime_cgroup_moves,
    remove_cgroup,
    remove_cgroups,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A v1-like tree: controllers, then slices; empty directories only, since an
    empty cgroup is all that rmdir removes."""
    root = tmp_path / "cgroup"
    for path in (
        "memory/corral-shop.web-1",
        "memory/corral-shop.db-1/nested/deeper",
        "pids/system.slice/corral.service/corral-shop.web-1",
        "pids/system.slice/corral.service/corral-shop-2.web-1",
        "pids/system.slice/corral.service/corral-shopping.web-1",
        "pids/user.slice/other",
        "cpu/corral-other.web-1",
    ):
        (root / path).mkdir(parents=True)
    return root


def relative(paths: list[Path], root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in paths]


def test_finds_a_projects_cgroups_at_any_depth_deepest_first(root: Path) -> None:
    found = relative(cgroups_named("corral-shop.", root), root)
    assert sorted(found) == [
        "memory/corral-shop.db-1",
        "memory/corral-shop.web-1",
        "pids/system.slice/corral.service/corral-shop.web-1",
    ]
    assert found[0] == "pids/system.slice/corral.service/corral-shop.web-1"


def test_another_projects_cgroups_do_not_match(root: Path) -> None:
    assert relative(cgroups_named("corral-shop-2.", root), root) == [
        "pids/system.slice/corral.service/corral-shop-2.web-1"
    ]
    assert cgroups_named("corral-nothing.", root) == []


def test_a_cgroup_inside_a_match_is_not_listed_twice(root: Path) -> None:
    (root / "memory/corral-shop.db-1/corral-shop.db-1").mkdir()
    assert relative(cgroups_named("corral-shop.db", root), root) == ["memory/corral-shop.db-1"]


def test_depth_six_is_searched(tmp_path: Path) -> None:
    deep = tmp_path / "a/b/c/d/e/corral-x.web-1"
    deep.mkdir(parents=True)
    assert cgroups_named("corral-x.", tmp_path) == [deep]


def test_a_missing_root_holds_nothing(tmp_path: Path) -> None:
    assert cgroups_named("corral-", tmp_path / "absent") == []
    remove_cgroups("corral-", tmp_path / "absent")


def test_remove_takes_the_project_with_its_children_and_nothing_else(root: Path) -> None:
    remove_cgroups("corral-shop.", root)
    assert cgroups_named("corral-shop.", root) == []
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    assert left == [
        "cpu",
        "cpu/corral-other.web-1",
        "memory",
        "pids",
        "pids/system.slice",
        "pids/system.slice/corral.service",
        "pids/system.slice/corral.service/corral-shop-2.web-1",
        "pids/system.slice/corral.service/corral-shopping.web-1",
        "pids/user.slice",
        "pids/user.slice/other",
    ]


def test_remove_twice_is_not_an_error(root: Path) -> None:
    remove_cgroups("corral-shop.", root)
    remove_cgroups("corral-shop.", root)
    assert cgroups_named("corral-shop.", root) == []
    assert (root / "cpu/corral-other.web-1").is_dir()


PROC_CGROUP = """\
11:cpu,cpuacct:/system.slice/corral.service
10:memory:/system.slice/corral.service
9:devices:/system.slice/corral.service
8:cpuset:/
1:name=systemd:/system.slice/corral.service
0::/system.slice/corral.service
"""
MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
33 31 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
34 31 0:31 /system.slice /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
35 31 0:32 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children
36 31 0:33 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
37 31 0:34 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
38 31 0:30 / /mnt/memory-again rw,relatime - cgroup cgroup rw,memory
"""


def test_own_hierarchies_pair_each_mount_with_our_cgroup_in_it() -> None:
    found = {
        (str(h.mount_point), h.own, ",".join(sorted(h.controllers)))
        for h in own_hierarchies(PROC_CGROUP, MOUNTINFO)
    }
    assert found == {
        ("/sys/fs/cgroup/cpu,cpuacct", "system.slice/corral.service", "cpu,cpuacct"),
        ("/sys/fs/cgroup/memory", "system.slice/corral.service", "memory"),
        ("/sys/fs/cgroup/devices", "corral.service", "devices"),  # mounted from a subtree
        ("/sys/fs/cgroup/cpuset", "", "cpuset"),
        ("/sys/fs/cgroup/systemd", "system.slice/corral.service", "name=systemd"),
        ("/sys/fs/cgroup/unified", "system.slice/corral.service", ""),
    }


def test_prepared_cgroups_are_under_our_own_with_runcs_device_rules(tmp_path: Path) -> None:
    memory = Hierarchy(tmp_path / "memory", "corral.service", frozenset({"memory"}))
    devices = Hierarchy(tmp_path / "devices", "", frozenset({"devices"}))
    cpuset = Hierarchy(tmp_path / "cpuset", "", frozenset({"cpuset"}))
    (tmp_path / "memory/corral.service").mkdir(parents=True)
    for hierarchy in (devices, cpuset):
        hierarchy.mount_point.mkdir()
    for knob, value in (("cpus", "0-1\n"), ("mems", "0\n")):
        (tmp_path / f"cpuset/cpuset.{knob}").write_text(value)
    # A real new cpuset has empty knobs; a directory here has none, so make them.
    (tmp_path / "cpuset/corral-x.web-1").mkdir()
    for knob in ("cpus", "mems"):
        (tmp_path / f"cpuset/corral-x.web-1/cpuset.{knob}").write_text("\n")

    prepare_cgroups("corral-x.web-1", [memory, devices, cpuset])

    assert (tmp_path / "memory/corral.service/corral-x.web-1").is_dir()
    # Each write to these files is one rule; a plain file keeps the last.
    assert (tmp_path / "devices/corral-x.web-1/devices.deny").read_text() == "a"
    assert (tmp_path / "devices/corral-x.web-1/devices.allow").read_text() == "c 136:* rwm"
    assert (tmp_path / "cpuset/corral-x.web-1/cpuset.cpus").read_text() == "0-1\n"
    assert (tmp_path / "cpuset/corral-x.web-1/cpuset.mems").read_text() == "0\n"

    remove_cgroup("corral-x.web-1", [memory, cpuset])
    assert not (tmp_path / "memory/corral.service/corral-x.web-1").exists()
    assert (tmp_path / "cpuset/corral-x.web-1").exists()  # not empty: left alone


def test_device_rules_are_runcs_defaults() -> None:
    assert device_rule_lines() == [
        "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",
        "c 1:9 rwm", "c 5:0 rwm", "c 5:2 rwm", "c 10:200 rwm", "c 136:* rwm",
    ]  # fmt: skip


def test_hybrid_with_controllers_is_what_crun_refuses(tmp_path: Path) -> None:
    assert not hybrid_with_controllers(tmp_path)
    (tmp_path / "unified").mkdir()
    (tmp_path / "unified/cgroup.controllers").write_text("\n")
    assert not hybrid_with_controllers(tmp_path)
    (tmp_path / "unified/cgroup.controllers").write_text("hugetlb\n")
    assert hybrid_with_controllers(tmp_path)
    assert not is_unified(tmp_path)


def test_priming_moves_us_only_to_where_we_are(tmp_path: Path) -> None:
    v2 = Hierarchy(tmp_path / "unified", "user.slice", frozenset())
    pids = Hierarchy(tmp_path / "pids", "user.slice", frozenset({"pids"}))
    memory = Hierarchy(tmp_path / "memory", "user.slice", frozenset({"memory"}))
    for hierarchy in (v2, pids, memory):
        hierarchy.cgroup("").mkdir(parents=True)
        (hierarchy.cgroup("") / "cgroup.procs").touch()
    prime_cgroup_moves([v2, pids, memory])
    written = {p.relative_to(tmp_path).as_posix(): p.read_text() for p in tmp_path.rglob("*.procs")}
    assert written == {
        "unified/user.slice/cgroup.procs": "",
        "pids/user.slice/cgroup.procs": str(os.getpid()),
        "memory/user.slice/cgroup.procs": "",
    }


def test_priming_is_best_effort(tmp_path: Path) -> None:
    prime_cgroup_moves([Hierarchy(tmp_path / "gone", "x", frozenset({"pids"}))])
    prime_cgroup_moves([])
    assert list(tmp_path.iterdir()) == []
