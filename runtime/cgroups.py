"""Find and remove cgroups by name, on cgroup v1 and v2 alike.

The OCI runtime removes a container's cgroup when the container is deleted;
this is for what a crash left behind, and for tests proving nothing did.
"""

import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
_MAX_DEPTH = 6


def cgroups_named(prefix: str, root: Path = CGROUP_ROOT) -> list[Path]:
    """Cgroup directories whose name starts with `prefix`, deepest first."""
    found: list[Path] = []
    root_depth = len(root.parts)
    for directory, subdirs, _ in os.walk(root):
        path = Path(directory)
        if len(path.parts) - root_depth >= _MAX_DEPTH:
            subdirs.clear()
        if path.name.startswith(prefix):
            found.append(path)
            subdirs.clear()
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def remove_cgroups(prefix: str, root: Path = CGROUP_ROOT) -> None:
    """rmdir every cgroup named with `prefix` (with its children); an empty
    cgroup is all the kernel lets one remove."""
    for top in cgroups_named(prefix, root):
        for directory, _, _ in sorted(os.walk(top), key=lambda w: -len(Path(w[0]).parts)):
            try:
                os.rmdir(directory)
            except FileNotFoundError:
                pass
