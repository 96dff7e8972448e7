"""StateRoots and ProjectPaths: where state lives and how kernel objects are named."""

from pathlib import Path

import pytest

from orchestrator.paths import ProjectPaths, StateRoots


def test_default_roots() -> None:
    assert StateRoots.from_environ({}) == StateRoots(Path("/run/corral"), Path("/var/lib/corral"))


def test_roots_move_with_the_environment() -> None:
    roots = StateRoots.from_environ({"CORRAL_RUN_ROOT": "/tmp/r", "CORRAL_DATA_ROOT": "/tmp/d"})
    assert roots == StateRoots(Path("/tmp/r"), Path("/tmp/d"))
    assert roots.images == Path("/tmp/d/images")


def test_relative_roots_are_made_absolute_for_a_supervisor_that_works_from_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    roots = StateRoots.from_environ({"CORRAL_RUN_ROOT": "r", "CORRAL_DATA_ROOT": "../d"})
    assert roots == StateRoots(tmp_path / "r", tmp_path / "../d")


def test_project_paths(tmp_path: Path) -> None:
    paths = StateRoots(tmp_path / "run", tmp_path / "data").project("shop")
    assert paths == ProjectPaths("shop", tmp_path / "run/shop", tmp_path / "data/containers/shop")
    assert paths.control_socket == tmp_path / "run/shop/control.sock"
    assert paths.runtime_state == tmp_path / "run/shop/runtime"
    assert paths.supervisor_log == tmp_path / "run/shop/supervisor.log"
    assert paths.bundle("shop-web-1") == tmp_path / "run/shop/containers/shop-web-1"
    assert paths.rootfs("shop-web-1") == tmp_path / "run/shop/containers/shop-web-1/rootfs"
    assert paths.layer("shop-web-1") == tmp_path / "data/containers/shop/shop-web-1"
    assert paths.log_file("shop-web-1") == tmp_path / "run/shop/logs/shop-web-1.log"
    assert paths.kernel_prefix == "corral-shop."
    assert paths.link_label_prefix == "corral:shop:"


@pytest.mark.parametrize(("one", "other"), [("a", "a-b"), ("a-b", "a"), ("web", "web_2")])
def test_one_projects_prefix_never_matches_anothers_objects(one: str, other: str) -> None:
    roots = StateRoots(Path("/run/corral"), Path("/var/lib/corral"))
    mine, theirs = roots.project(one), roots.project(other)
    assert not f"{theirs.kernel_prefix}web-1".startswith(mine.kernel_prefix)
    assert not f"{theirs.link_label_prefix}default".startswith(mine.link_label_prefix)
