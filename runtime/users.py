"""Resolve a `user` string against a container's own /etc/passwd and /etc/group.

The forms are Docker's: "", "name", "uid", "name:group", "uid:gid". A name
must exist in the container's files; a number need not (Docker allows
arbitrary ids). Supplementary groups are those listing the user by name.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import ContainerRuntimeError


@dataclass(frozen=True)
class ResolvedUser:
    uid: int
    gid: int
    additional_gids: tuple[int, ...]
    home: str


def _read_table(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def resolve_user(spec: str, rootfs: Path) -> ResolvedUser:
    """The ids `spec` names inside `rootfs`; ContainerRuntimeError if unknown."""
    passwd = [row for row in _read_table(rootfs / "etc/passwd") if len(row) >= 6]
    groups = [row for row in _read_table(rootfs / "etc/group") if len(row) >= 3]
    user_part, _, group_part = (spec or "0").partition(":")

    entry = next((row for row in passwd if row[0] == user_part), None)
    if entry is None and user_part.isdigit():
        entry = next((row for row in passwd if row[2] == user_part), None)
        uid, gid, name, home = int(user_part), 0, "", "/"
        if entry is not None:
            gid, name, home = int(entry[3]), entry[0], entry[5]
    elif entry is None:
        raise ContainerRuntimeError(f"user {user_part!r} is not in the image's /etc/passwd")
    else:
        uid, gid, name, home = int(entry[2]), int(entry[3]), entry[0], entry[5]

    if group_part:
        group = next((row for row in groups if row[0] == group_part), None)
        if group is not None:
            gid = int(group[2])
        elif group_part.isdigit():
            gid = int(group_part)
        else:
            raise ContainerRuntimeError(f"group {group_part!r} is not in the image's /etc/group")

    additional = tuple(
        int(row[2])
        for row in groups
        if name and len(row) > 3 and name in row[3].split(",") and int(row[2]) != gid
    )
    return ResolvedUser(uid, gid, additional, home or "/")


def resolve_groups(names: Sequence[str], rootfs: Path) -> tuple[int, ...]:
    """`group_add`: each a group name of the container's /etc/group or a
    gid; ContainerRuntimeError for a name it does not have."""
    groups = [row for row in _read_table(rootfs / "etc/group") if len(row) >= 3]
    gids = []
    for name in names:
        group = next((row for row in groups if row[0] == name), None)
        if group is not None:
            gids.append(int(group[2]))
        elif name.isdigit():
            gids.append(int(name))
        else:
            raise ContainerRuntimeError(f"group {name!r} is not in the image's /etc/group")
    return tuple(dict.fromkeys(gids))
