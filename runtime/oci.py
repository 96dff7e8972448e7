"""An OCI runtime-spec bundle (config.json) from plain container values.

The defaults are Docker's: its 14 capabilities, its masked and read-only
/proc paths, its /dev, /dev/pts, /dev/shm and /dev/mqueue mounts, a
read-only /sys, no_new_privileges, and fresh mount, pid, uts, ipc and cgroup
namespaces; the network namespace is one the caller made, given as a path.
"""

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.private import private_directory, write_private_file

OCI_VERSION = "1.0.2"

DEFAULT_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)  # fmt: skip

MASKED_PATHS = (
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
)  # fmt: skip
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

_KERNEL_MOUNTS: tuple[dict[str, Any], ...] = (
    {"destination": "/proc", "type": "proc", "source": "proc",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
)  # fmt: skip


@dataclass(frozen=True)
class ContainerConfig:
    """What one container runs and where; no Compose in sight."""

    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str
    uid: int
    gid: int
    additional_gids: tuple[int, ...]
    hostname: str
    netns: Path
    cgroup_path: str
    """Relative to the supervisor's own cgroup, so a stack stays inside the
    slice or unit that runs Corral."""
    binds: tuple[tuple[str, Path], ...] = ()
    """(path in the container, host path) pairs bind-mounted over the image's
    content: /etc/hosts, /etc/hostname, /etc/resolv.conf, and the image's
    volumes (see runtime.volumes)."""


def _capabilities(uid: int) -> dict[str, list[str]]:
    # As Docker does since 20.10: a non-root process keeps the bounding set
    # but starts with no effective or permitted capabilities.
    granted = list(DEFAULT_CAPABILITIES) if uid == 0 else []
    return {
        "bounding": list(DEFAULT_CAPABILITIES),
        "effective": granted,
        "permitted": granted,
    }


def render(config: ContainerConfig, rootfs: Path) -> dict[str, Any]:
    """The config.json document for `config` with its root at `rootfs`."""
    bind_mounts = [
        {"destination": dest, "type": "bind", "source": str(src), "options": ["rbind", "rprivate"]}
        for dest, src in config.binds
    ]
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": False,
            "user": {
                "uid": config.uid,
                "gid": config.gid,
                "additionalGids": list(config.additional_gids),
            },
            "args": list(config.args),
            "env": list(config.env),
            "cwd": config.cwd,
            "capabilities": _capabilities(config.uid),
            "noNewPrivileges": True,
        },
        "root": {"path": str(rootfs), "readonly": False},
        "hostname": config.hostname,
        "mounts": [*copy.deepcopy(_KERNEL_MOUNTS), *bind_mounts],
        "linux": {
            "namespaces": [
                {"type": "pid"},
                {"type": "ipc"},
                {"type": "uts"},
                {"type": "mount"},
                {"type": "cgroup"},
                {"type": "network", "path": str(config.netns)},
            ],
            "cgroupsPath": config.cgroup_path,
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
        },
    }


def write_bundle(config: ContainerConfig, bundle: Path, rootfs: Path) -> None:
    """Write bundle/config.json atomically, readable by root only: it holds
    the container's environment, and so its secrets."""
    private_directory(bundle)
    write_private_file(bundle / "config.json", json.dumps(render(config, rootfs)).encode())
