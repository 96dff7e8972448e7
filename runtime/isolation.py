"""What a container's processes may do to the kernel, as plain values.

Docker's defaults, and its rules for loosening them: the capability set
from its 14 defaults with `cap_add`/`cap_drop` applied as Docker applies
them, `privileged`, no_new_privileges (off unless asked, as in Docker), the
seccomp filter (see `runtime.seccomp`), namespaced sysctls, resource limits,
host devices and device cgroup rules, the OOM score. `runtime.oci` renders
an `Isolation` into config.json.
"""

import os
import re
import resource
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.errors import ContainerRuntimeError

DEFAULT_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)  # fmt: skip

KNOWN_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)  # fmt: skip
"""Every capability, in the kernel's numbering (the index is the bit)."""

_NAMESPACED_SYSCTLS = frozenset({
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
    "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
})  # fmt: skip
_NAMESPACED_PREFIXES = ("fs.mqueue.", "net.")

DEFAULT_SYSCTLS = (
    ("net.ipv4.ip_unprivileged_port_start", "0"),
    ("net.ipv4.ping_group_range", "0 2147483647"),
)
"""What Docker sets in a container with a network namespace of its own:
any user may bind low ports and send pings."""

UNLIMITED = -1


@dataclass(frozen=True)
class Rlimit:
    name: str
    """The limit without its prefix, as Compose writes it: "nofile"."""
    soft: int
    hard: int
    """UNLIMITED (-1) for no limit."""


DEFAULT_RLIMITS = (
    Rlimit("nofile", 1024, 524288),
    Rlimit("nproc", UNLIMITED, UNLIMITED),
    Rlimit("core", UNLIMITED, UNLIMITED),
)
"""What a Docker container gets when its service sets none: the limits of
Docker's daemons as their systemd units start them, rather than whatever
the shell that ran `corral` had."""

def default_rlimits() -> tuple[Rlimit, ...]:
    """DEFAULT_RLIMITS, each within this process's own hard limit when it
    cannot raise it (no CAP_SYS_RESOURCE, as in some sandboxes): a default
    never makes a container fail to start."""
    if "CAP_SYS_RESOURCE" in effective_capabilities():
        return DEFAULT_RLIMITS
    limits = []
    for limit in DEFAULT_RLIMITS:
        _, own = resource.getrlimit(getattr(resource, f"RLIMIT_{limit.name.upper()}"))
        own = UNLIMITED if own == resource.RLIM_INFINITY else own
        hard = _at_most(limit.hard, own)
        limits.append(Rlimit(limit.name, _at_most(limit.soft, hard), hard))
    return tuple(limits)


def _at_most(value: int, bound: int) -> int:
    if bound == UNLIMITED:
        return value
    return bound if value == UNLIMITED else min(value, bound)


RLIMIT_NAMES = frozenset({
    "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
    "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
})  # fmt: skip


@dataclass(frozen=True)
class DeviceRule:
    """A device cgroup rule: type a, b or c; major and minor (None: any); access."""

    type: str
    major: int | None
    minor: int | None
    access: str

    def oci(self, allow: bool = True) -> dict[str, Any]:
        rule: dict[str, Any] = {"allow": allow, "type": self.type, "access": self.access}
        if self.major is not None:
            rule["major"] = self.major
        if self.minor is not None:
            rule["minor"] = self.minor
        return rule


@dataclass(frozen=True)
class Device:
    """A host device node made in the container."""

    host_path: str
    container_path: str
    permissions: str = "rwm"


@dataclass(frozen=True)
class Isolation:
    capabilities: tuple[str, ...] = DEFAULT_CAPABILITIES
    """The bounding set; a root process also starts with them effective."""
    privileged: bool = False
    """Writable /sys and its cgroups, every host device."""
    unmasked_system_paths: bool = False
    """No masked or read-only /proc and /sys paths (privileged, or
    `systempaths=unconfined`)."""
    no_new_privileges: bool = False
    seccomp: Mapping[str, Any] | None = None
    """The OCI linux.seccomp object; None runs unconfined."""
    sysctls: tuple[tuple[str, str], ...] = ()
    """Set in the container's own namespaces (DEFAULT_SYSCTLS are Docker's)."""
    rlimits: tuple[Rlimit, ...] = ()
    """Limits set in the container; the others are the supervisor's own
    (`default_rlimits` are Docker's)."""
    devices: tuple[Device, ...] = ()
    device_rules: tuple[DeviceRule, ...] = ()
    oom_score_adj: int | None = None
    apparmor_profile: str | None = None


def capability_name(name: str) -> str:
    """Docker's spellings ("net_admin", "CAP_NET_ADMIN", "ALL") -> "CAP_NET_ADMIN" or "ALL";
    ValueError for a name the kernel does not have."""
    upper = name.strip().upper()
    if upper == "ALL":
        return upper
    full = upper if upper.startswith("CAP_") else f"CAP_{upper}"
    if full not in KNOWN_CAPABILITIES:
        raise ValueError(f"{name!r} is not a capability")
    return full


def _own_capabilities(field: str) -> tuple[str, ...]:
    status = Path("/proc/self/status").read_text(encoding="ascii")
    bits = next(int(line.split()[1], 16) for line in status.splitlines()
                if line.startswith(f"{field}:"))  # fmt: skip
    return tuple(name for bit, name in enumerate(KNOWN_CAPABILITIES) if bits >> bit & 1)


def grantable_capabilities() -> tuple[str, ...]:
    """The capabilities this process can give a container: those in its own
    bounding set (a sandbox may lack some), in the kernel's order."""
    return _own_capabilities("CapBnd")


def effective_capabilities() -> tuple[str, ...]:
    return _own_capabilities("CapEff")


def capability_set(
    add: Iterable[str], drop: Iterable[str], privileged: bool, grantable: Iterable[str]
) -> tuple[str, ...]:
    """The bounding set as Docker computes it: every grantable capability
    when privileged or with `add: [ALL]` (less `drop`); none but `add` with
    `drop: [ALL]`; else the defaults with `add` added and `drop` dropped."""
    added = [capability_name(name) for name in add]
    dropped = [capability_name(name) for name in drop]
    everything = tuple(grantable)
    if privileged:
        return everything
    if "ALL" in added:
        base = list(everything)
    elif "ALL" in dropped:
        base = []
    else:
        base = list(DEFAULT_CAPABILITIES)
    chosen = [cap for cap in base if cap not in dropped]
    chosen += [cap for cap in added if cap != "ALL" and cap not in chosen]
    return tuple(chosen)


def sysctl_problem(name: str) -> str | None:
    """Why a sysctl cannot be set in a container (it is host-wide), or None."""
    if name in _NAMESPACED_SYSCTLS or name.startswith(_NAMESPACED_PREFIXES):
        return None
    return (
        f"sysctl {name!r} is not namespaced: it would change the host; a container may set "
        "only kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.* and net.*"
    )


_DEVICE_RULE = re.compile(r"^([abc]) (\d+|\*):(\d+|\*) ([rwm]{1,3})$")


def parse_device_rule(text: str) -> DeviceRule:
    """Docker's device cgroup rule syntax: "c 1:3 rwm", "b 8:* r", "a *:* m"."""
    match = _DEVICE_RULE.match(text.strip())
    if match is None or len(set(match[4])) != len(match[4]):
        raise ValueError(f"{text!r} is not a device cgroup rule (TYPE MAJOR:MINOR ACCESS, "
                         "e.g. 'c 1:3 rwm')")  # fmt: skip
    kind, major, minor, access = match.groups()
    return DeviceRule(kind, None if major == "*" else int(major),
                      None if minor == "*" else int(minor), access)  # fmt: skip


def device_nodes(devices: Iterable[Device]) -> tuple[list[dict[str, Any]], list[DeviceRule]]:
    """The OCI linux.devices entries and cgroup rules for host devices; a
    directory stands for every device under it, as in Docker.
    ContainerRuntimeError for a path that is no device."""
    nodes: list[dict[str, Any]] = []
    rules: list[DeviceRule] = []
    for device in devices:
        for host, inside in _expand(Path(device.host_path), device.container_path):
            info = host.stat()
            kind = "c" if stat.S_ISCHR(info.st_mode) else "b"
            major, minor = os.major(info.st_rdev), os.minor(info.st_rdev)
            nodes.append({
                "path": inside, "type": kind, "major": major, "minor": minor,
                "fileMode": stat.S_IMODE(info.st_mode), "uid": info.st_uid, "gid": info.st_gid,
            })  # fmt: skip
            rules.append(DeviceRule(kind, major, minor, device.permissions))
    return nodes, rules


def _expand(host: Path, inside: str) -> list[tuple[Path, str]]:
    try:
        info = host.stat()
    except OSError as exc:
        raise ContainerRuntimeError(f"device {host}: {exc.strerror}") from exc
    if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
        return [(host, inside)]
    if not stat.S_ISDIR(info.st_mode):
        raise ContainerRuntimeError(f"device {host} is not a device node or a directory")
    found = []
    for directory, _, files in os.walk(host):
        for name in sorted(files):
            path = Path(directory, name)
            mode = path.lstat().st_mode
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                found.append((path, f"{inside.rstrip('/')}/{path.relative_to(host)}"))
    return found


def apparmor_enabled() -> bool:
    """Whether this kernel enforces AppArmor profiles."""
    try:
        return Path("/sys/module/apparmor/parameters/enabled").read_text().strip() == "Y"
    except OSError:
        return False


def selinux_enabled() -> bool:
    return Path("/sys/fs/selinux/enforce").exists()


_SKIPPED_HOST_DEVICES = ("pts", "shm", "fd", "mqueue", "console")


def host_devices(root: Path = Path("/dev")) -> tuple[Device, ...]:
    """Every device node of the host, for a privileged container, as Docker
    gives them (not /dev/pts, /dev/shm, /dev/mqueue or the console)."""
    found = []
    for directory, subdirs, files in os.walk(root):
        if Path(directory) == root:
            subdirs[:] = [d for d in subdirs if d not in _SKIPPED_HOST_DEVICES]
        for name in files:
            path = Path(directory, name)
            if path.parent == root and name in _SKIPPED_HOST_DEVICES:
                continue
            mode = path.lstat().st_mode
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                found.append(Device(str(path), str(path)))
    return tuple(sorted(found, key=lambda d: d.host_path))
