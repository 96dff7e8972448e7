"""Find, make and remove cgroups by name, on cgroup v1 and v2 alike.

The OCI runtime removes a container's cgroup when the container is deleted;
`remove_cgroups` is for what a crash left behind, and for tests proving
nothing did.

On cgroup v1, runc nests a container's cgroup under the runtime's own cgroup
in each hierarchy, which may differ from one hierarchy to the next; crun takes
one path for all of them. So with crun on v1, Corral places the container
itself (`prepare_cgroups`, and `runtime.spawn` to start crun inside) the
way runc would, devices rules included, and runs crun with its cgroup
manager disabled.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
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


# What a container may use of the host's devices: nothing but mknod and the
# standard character devices, runc's defaults (null, zero, full, random,
# urandom, tty, ptmx, /dev/pts/*, /dev/net/tun). (type, major, minor, access),
# with -1 for "any".
DEVICE_RULES: tuple[tuple[str, int, int, str], ...] = (
    ("c", -1, -1, "m"), ("b", -1, -1, "m"), ("c", 1, 3, "rwm"), ("c", 1, 5, "rwm"),
    ("c", 1, 7, "rwm"), ("c", 1, 8, "rwm"), ("c", 1, 9, "rwm"), ("c", 5, 0, "rwm"),
    ("c", 5, 2, "rwm"), ("c", 10, 200, "rwm"), ("c", 136, -1, "rwm"),
)  # fmt: skip

HYBRID_V2 = "unified"


@dataclass(frozen=True)
class Hierarchy:
    """One mounted cgroup hierarchy and this process's cgroup in it."""

    mount_point: Path
    own: str
    """This process's cgroup, relative to the mount point ("" at its root)."""
    controllers: frozenset[str]
    """Its v1 controllers (or `name=...`); empty for the cgroup v2 hierarchy."""

    def cgroup(self, name: str) -> Path:
        """Cgroup `name`: from the hierarchy's root when absolute, else under ours."""
        if name.startswith("/"):
            return self.mount_point / name.lstrip("/")
        return self.mount_point / self.own / name


def own_hierarchies(proc_cgroup: str, mountinfo: str) -> list[Hierarchy]:
    """The mounted hierarchies and where this process sits in each, from the
    texts of /proc/self/cgroup and /proc/self/mountinfo (a hierarchy mounted
    twice counts once)."""
    own: dict[frozenset[str], str] = {}
    for line in proc_cgroup.splitlines():
        number, controllers, path = line.split(":", 2)
        own[frozenset(controllers.split(",")) if number != "0" else frozenset()] = path
    hierarchies: dict[frozenset[str], Hierarchy] = {}
    for line in mountinfo.splitlines():
        fields = line.split()
        separator = fields.index("-")
        fstype, options = fields[separator + 1], set(fields[separator + 3].split(","))
        if fstype == "cgroup2":
            matches = [frozenset[str]()] if frozenset() in own else []
        elif fstype == "cgroup":
            matches = [key for key in own if key and key <= options]
        else:
            continue
        for key in matches:
            root = fields[3]
            path = own[key].removeprefix(root) if root != "/" else own[key]
            point = Path(fields[4].replace("\\040", " "))
            hierarchies.setdefault(key, Hierarchy(point, path.strip("/"), key))
    return list(hierarchies.values())


def current_hierarchies() -> list[Hierarchy]:
    with open("/proc/self/cgroup", encoding="utf-8") as cgroup:
        proc_cgroup = cgroup.read()
    with open("/proc/self/mountinfo", encoding="utf-8") as mountinfo:
        return own_hierarchies(proc_cgroup, mountinfo.read())


def is_unified(root: Path = CGROUP_ROOT) -> bool:
    """Whether `root` is a cgroup v2 mount (no v1 hierarchies at all)."""
    return (root / "cgroup.controllers").exists()


def hybrid_with_controllers(root: Path = CGROUP_ROOT) -> bool:
    """Whether v1 hierarchies sit beside a v2 one that holds controllers, the
    hybrid layout crun refuses ("cgroups in hybrid mode not supported")."""
    controllers = root / HYBRID_V2 / "cgroup.controllers"
    try:
        return bool(controllers.read_text().strip())
    except OSError:
        return False


def device_rule_lines() -> list[str]:
    """DEVICE_RULES as the v1 devices controller writes them."""

    def number(value: int) -> str:
        return "*" if value < 0 else str(value)

    return [f"{kind} {number(major)}:{number(minor)} {access}"
            for kind, major, minor, access in DEVICE_RULES]  # fmt: skip


def prepare_cgroups(
    name: str, hierarchies: Sequence[Hierarchy], allowed_devices: Sequence[str] = ()
) -> None:
    """Make cgroup `name` under our own in each hierarchy, the devices one
    limited to DEVICE_RULES and the `allowed_devices` lines ("c 10:229 rwm")."""
    for hierarchy in hierarchies:
        cgroup = hierarchy.cgroup(name)
        missing = [cgroup, *(p for p in cgroup.parents if not p.exists())]
        for directory in reversed(missing):  # a cgroup_parent may be new too
            directory.mkdir(exist_ok=True)
            if "cpuset" in hierarchy.controllers:
                # A new v1 cpuset has no CPUs and no memory nodes: nobody could join it.
                for knob in ("cpuset.cpus", "cpuset.mems"):
                    if not (directory / knob).read_text().strip():
                        (directory / knob).write_text((directory.parent / knob).read_text())
        if "devices" in hierarchy.controllers:
            (cgroup / "devices.deny").write_text("a")
            for rule in (*device_rule_lines(), *allowed_devices):
                (cgroup / "devices.allow").write_text(rule)


def _write_procs(path: Path, pid: int) -> None:
    """Move process `pid` (0: the caller) into the cgroup of `path`, its cgroup.procs."""
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, str(pid).encode())
    finally:
        os.close(fd)


def prime_cgroup_moves(hierarchies: Sequence[Hierarchy]) -> None:
    """Move this process to the cgroup it is already in, for a side effect:
    the next moves into cgroups, about to come, are fast.

    Each write to `cgroup.procs` takes the kernel's global
    cgroup_threadgroup_rwsem for writing; taking it when nobody did lately
    waits for a full RCU grace period (12-15 ms on this kind of machine), and
    it stays cheap to take until about one grace period after. A container's
    process is moved into its cgroups just before it starts, on the cold-start
    path (by runc itself; with crun, by the shell that joins the hybrid
    layout's v2 cgroup, see `runtime.spawn`); this
    no-op move, made while the container's network is set up, pays that
    wait alongside instead. Best effort: a failure only forgoes the gain."""
    hierarchy = next((h for h in hierarchies if h.controllers), None)
    if hierarchy is None:
        return
    try:
        _write_procs(hierarchy.cgroup("") / "cgroup.procs", os.getpid())
    except OSError:
        pass


def remove_cgroup(name: str, hierarchies: Sequence[Hierarchy]) -> None:
    """rmdir cgroup `name` in each hierarchy; a missing or still busy one is left."""
    for hierarchy in hierarchies:
        try:
            os.rmdir(hierarchy.cgroup(name))
        except OSError:
            pass
