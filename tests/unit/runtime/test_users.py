"""resolve_user: Docker's user forms against the image's own /etc/passwd and /etc/group."""

import re
from pathlib import Path

import pytest

from runtime.errors import ContainerRuntimeError
from runtime.users import ResolvedUser, resolve_user

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment line
app:x:1001:1001:App,,,:/home/app:/bin/sh
homeless:x:1002:1002::
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
"""
GROUP = """\
root:x:0:
wheel:x:10:root,app
audio:x:29:app,daemon
app:x:1001:
homeless:x:1002:
nogroup:x:65534:
"""


def make_rootfs(directory: Path, passwd: str = PASSWD, group: str = GROUP) -> Path:
    (directory / "etc").mkdir(parents=True)
    (directory / "etc/passwd").write_text(passwd, encoding="utf-8")
    (directory / "etc/group").write_text(group, encoding="utf-8")
    return directory


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    return make_rootfs(tmp_path / "rootfs")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", ResolvedUser(0, 0, (10,), "/root")),
        ("root", ResolvedUser(0, 0, (10,), "/root")),
        ("0", ResolvedUser(0, 0, (10,), "/root")),
        ("app", ResolvedUser(1001, 1001, (10, 29), "/home/app")),
        ("1001", ResolvedUser(1001, 1001, (10, 29), "/home/app")),
        ("1000", ResolvedUser(1000, 0, (), "/")),
        ("1000:1000", ResolvedUser(1000, 1000, (), "/")),
        ("nobody:nogroup", ResolvedUser(65534, 65534, (), "/nonexistent")),
        ("0:65534", ResolvedUser(0, 65534, (10,), "/root")),
        ("root:nogroup", ResolvedUser(0, 65534, (10,), "/root")),
        ("app:wheel", ResolvedUser(1001, 10, (29,), "/home/app")),
        ("app:4242", ResolvedUser(1001, 4242, (10, 29), "/home/app")),
        ("daemon", ResolvedUser(1, 1, (29,), "/usr/sbin")),
        ("homeless", ResolvedUser(1002, 1002, (), "/")),
        ("app:", ResolvedUser(1001, 1001, (10, 29), "/home/app")),
    ],
)
def test_user_forms(rootfs: Path, spec: str, expected: ResolvedUser) -> None:
    assert resolve_user(spec, rootfs) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("ghost", "user 'ghost' is not in the image's /etc/passwd"),
        ("ghost:wheel", "user 'ghost' is not in the image's /etc/passwd"),
        ("Root", "user 'Root' is not in the image's /etc/passwd"),
        ("app:ghosts", "group 'ghosts' is not in the image's /etc/group"),
        ("1000:ghosts", "group 'ghosts' is not in the image's /etc/group"),
    ],
)
def test_unknown_names(rootfs: Path, spec: str, message: str) -> None:
    with pytest.raises(ContainerRuntimeError, match=f"^{re.escape(message)}$"):
        resolve_user(spec, rootfs)


def test_an_image_without_passwd_or_group(tmp_path: Path) -> None:
    empty = tmp_path / "rootfs"
    empty.mkdir()
    assert resolve_user("", empty) == ResolvedUser(0, 0, (), "/")
    assert resolve_user("1000:1000", empty) == ResolvedUser(1000, 1000, (), "/")
    with pytest.raises(
        ContainerRuntimeError, match=r"^user 'root' is not in the image's /etc/passwd$"
    ):
        resolve_user("root", empty)


def test_malformed_lines_are_skipped(tmp_path: Path) -> None:
    rootfs = make_rootfs(
        tmp_path / "rootfs",
        passwd="broken\nshort:x:5\n\napp:x:1001:1001::/home/app:/bin/sh\n",
        group="junk\nstaff:x:50:app\n",
    )
    assert resolve_user("app", rootfs) == ResolvedUser(1001, 1001, (50,), "/home/app")
    with pytest.raises(ContainerRuntimeError, match=r"^user 'short' is not"):
        resolve_user("short", rootfs)


def test_a_group_line_without_a_member_list(tmp_path: Path) -> None:
    rootfs = make_rootfs(tmp_path / "rootfs", group="legacy:x:50\nstaff:x:51:app\n")
    assert resolve_user("app", rootfs) == ResolvedUser(1001, 1001, (51,), "/home/app")
