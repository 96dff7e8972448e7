"""find_compose_files and project_name: which files, and what the project is called."""

import os
import re
from pathlib import Path

import pytest

from orchestrator.errors import CorralError
from orchestrator.spec.project import find_compose_files, normalize_project_name, project_name

DEFAULTS = "compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml"


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("services: {}\n", encoding="utf-8")
    return path


def test_explicit_files_are_resolved_against_cwd_in_order(tmp_path: Path) -> None:
    base = touch(tmp_path / "base.yaml")
    override = touch(tmp_path / "conf" / "dev.yaml")
    found = find_compose_files(["base.yaml", "conf/../conf/dev.yaml"], tmp_path)
    assert found == (base, override)


def test_an_explicit_absolute_file(tmp_path: Path) -> None:
    file = touch(tmp_path / "elsewhere" / "stack.yml")
    assert find_compose_files([str(file)], tmp_path / "nowhere") == (file,)


@pytest.mark.parametrize(
    ("name", "problem"),
    [("missing.yaml", "no such file"), ("conf", "is a directory, not a Compose file")],
)
def test_an_explicit_file_that_is_not_there(tmp_path: Path, name: str, problem: str) -> None:
    touch(tmp_path / "compose.yaml")
    (tmp_path / "conf").mkdir()
    with pytest.raises(CorralError, match=f"^{re.escape(str(tmp_path / name))}: {problem}$"):
        find_compose_files(["compose.yaml", name], tmp_path)


@pytest.mark.parametrize(
    ("present", "chosen"),
    [
        (["docker-compose.yml", "compose.yml", "compose.yaml"], "compose.yaml"),
        (["docker-compose.yml", "compose.yml"], "compose.yml"),
        (["docker-compose.yml", "docker-compose.yaml"], "docker-compose.yaml"),
        (["docker-compose.yml"], "docker-compose.yml"),
    ],
)
def test_default_file_names_in_compose_order(
    tmp_path: Path, present: list[str], chosen: str
) -> None:
    for name in present:
        touch(tmp_path / name)
    assert find_compose_files([], tmp_path) == (tmp_path / chosen,)


def test_a_default_file_is_found_in_a_parent(tmp_path: Path) -> None:
    file = touch(tmp_path / "compose.yaml")
    deep = tmp_path / "src" / "pkg"
    deep.mkdir(parents=True)
    assert find_compose_files([], deep) == (file,)


def test_the_nearest_default_file_wins(tmp_path: Path) -> None:
    touch(tmp_path / "compose.yaml")
    near = touch(tmp_path / "app" / "docker-compose.yml")
    assert find_compose_files([], tmp_path / "app") == (near,)


def test_the_override_file_is_read_after_the_default_file(tmp_path: Path) -> None:
    file = touch(tmp_path / "compose.yaml")
    override = touch(tmp_path / "compose.override.yaml")
    assert find_compose_files([], tmp_path) == (file, override)


def test_no_file_anywhere(tmp_path: Path) -> None:
    # tmp_path's parents (/tmp, /) hold no Compose file in this test environment
    assert not any((p / n).exists() for p in tmp_path.parents for n in DEFAULTS.split(", "))
    message = (
        f"no Compose file found in {tmp_path} or its parents "
        f"(looked for {DEFAULTS}); name one with -f"
    )
    with pytest.raises(CorralError, match=f"^{re.escape(message)}$"):
        find_compose_files([], tmp_path)


@pytest.mark.parametrize(
    ("directory", "expected"),
    [
        ("shop", "shop"),
        ("My Shop", "myshop"),
        ("my.app-v2", "myapp-v2"),
        ("__Web_App__", "web_app__"),
        ("-_-x", "x"),
        ("Café", "caf"),
        ("...", ""),
    ],
)
def test_normalize_project_name(directory: str, expected: str) -> None:
    assert normalize_project_name(directory) == expected


def test_project_name_from_an_unusable_directory(tmp_path: Path) -> None:
    directory = tmp_path / "..."
    message = f"cannot derive a project name from directory {directory}; use -p"
    with pytest.raises(CorralError, match=f"^{re.escape(message)}$"):
        project_name(None, {}, None, directory / "compose.yaml")


def test_project_name_from_an_unusable_directory_with_p(tmp_path: Path) -> None:
    assert project_name("shop", {}, None, tmp_path / "..." / "compose.yaml") == "shop"


@pytest.mark.parametrize("name", ["a", "0", "shop_2", "web-app", "a-b_c-9"])
def test_valid_project_names(tmp_path: Path, name: str) -> None:
    assert project_name(name, {}, None, tmp_path / "compose.yaml") == name


def test_compose_file_names_the_files_when_no_f_is_given(tmp_path: Path) -> None:
    touch(tmp_path / "compose.yaml")
    base, extra = touch(tmp_path / "a.yaml"), touch(tmp_path / "b.yaml")
    environ = {"COMPOSE_FILE": "a.yaml:b.yaml"}
    assert find_compose_files([], tmp_path, environ) == (base, extra)
    assert find_compose_files(["compose.yaml"], tmp_path, environ) == (tmp_path / "compose.yaml",)


def test_an_explicit_file_may_be_a_pipe_as_dev_stdin_is(tmp_path: Path) -> None:
    read, write = os.pipe()
    try:
        pipe = Path(f"/proc/self/fd/{read}")
        assert find_compose_files([str(pipe)], tmp_path) == (pipe,)
    finally:
        os.close(read)
        os.close(write)
