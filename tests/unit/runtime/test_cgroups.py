"""cgroups_named and remove_cgroups, on a directory tree standing in for /sys/fs/cgroup."""

from pathlib import Path

import pytest

from runtime.cgroups import cgroups_named, remove_cgroups


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
