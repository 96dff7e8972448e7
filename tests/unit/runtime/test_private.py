"""Corral's directories and files are root's alone, whatever the umask."""

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.private import open_private_append, private_directory, write_private_file


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    """The most permissive umask a shell may have given the command."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_missing_directories_are_made_private(tmp_path: Path) -> None:
    private_directory(tmp_path / "a" / "b")
    assert _mode(tmp_path / "a") == 0o700
    assert _mode(tmp_path / "a" / "b") == 0o700


def test_an_open_directory_is_tightened_and_its_parent_left_alone(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir(mode=0o755)
    tmp_path.chmod(0o755)
    private_directory(tmp_path / "root")
    assert _mode(tmp_path / "root") == 0o700
    assert _mode(tmp_path) == 0o755


def test_files_are_written_and_appended_for_root_only(tmp_path: Path) -> None:
    write_private_file(tmp_path / "config.json", b"{}")
    assert (tmp_path / "config.json").read_bytes() == b"{}"
    assert _mode(tmp_path / "config.json") == 0o600
    (tmp_path / "old.log").write_text("kept\n")
    (tmp_path / "old.log").chmod(0o644)
    fd = open_private_append(tmp_path / "old.log")
    os.write(fd, b"more\n")
    os.close(fd)
    assert (tmp_path / "old.log").read_text() == "kept\nmore\n"
    assert _mode(tmp_path / "old.log") == 0o600
