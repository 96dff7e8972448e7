"""An OCI runtime-spec bundle (config.json) from plain container values.

The defaults are Docker's: its masked and read-only /proc paths, its /dev,
/dev/pts, /dev/shm and /dev/mqueue mounts, a read-only /sys, and fresh
mount, pid, uts, ipc and cgroup namespaces; the network namespace is one the
caller made, given as a path. What the container may do to the kernel
(capabilities, seccomp, devices, sysctls, limits) is its `Isolation`.
"""

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.isolation import UNLIMITED, Isolation, device_nodes, host_devices
from runtime.private import private_directory, write_private_file

OCI_VERSION = "1.0.2"

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
    isolation: Isolation = Isolation()


def _capabilities(uid: int, capabilities: tuple[str, ...]) -> dict[str, list[str]]:
    # As Docker does since 20.10: a non-root process keeps the bounding set
    # but starts with no effective or permitted capabilities.
    granted = list(capabilities) if uid == 0 else []
    return {"bounding": list(capabilities), "effective": granted, "permitted": granted}


def _kernel_mounts(privileged: bool) -> list[dict[str, Any]]:
    mounts = copy.deepcopy(list(_KERNEL_MOUNTS))
    if privileged:  # Docker's privileged containers get /sys and its cgroups writable
        for mount in mounts:
            if mount["type"] in ("sysfs", "cgroup"):
                mount["options"].remove("ro")
    return mounts


def _linux(config: ContainerConfig) -> dict[str, Any]:
    isolation = config.isolation
    privileged = isolation.privileged
    devices = host_devices() if privileged else ()
    nodes, rules = device_nodes((*devices, *isolation.devices))
    allowed = [{"allow": True, "access": "rwm"}] if privileged else []
    linux: dict[str, Any] = {
        "namespaces": [
            {"type": "pid"},
            {"type": "ipc"},
            {"type": "uts"},
            {"type": "mount"},
            {"type": "cgroup"},
            {"type": "network", "path": str(config.netns)},
        ],
        "cgroupsPath": config.cgroup_path,
        "resources": {
            "devices": [
                {"allow": False, "access": "rwm"},
                *allowed,
                *(rule.oci() for rule in (*rules, *isolation.device_rules)),
            ]
        },
        "devices": nodes,
        "maskedPaths": [] if isolation.unmasked_system_paths else list(MASKED_PATHS),
        "readonlyPaths": [] if isolation.unmasked_system_paths else list(READONLY_PATHS),
        "sysctl": dict(isolation.sysctls),
    }
    if isolation.seccomp is not None:
        linux["seccomp"] = dict(isolation.seccomp)
    return linux


def _process(config: ContainerConfig) -> dict[str, Any]:
    isolation = config.isolation
    process: dict[str, Any] = {
        "terminal": False,
        "user": {
            "uid": config.uid,
            "gid": config.gid,
            "additionalGids": list(config.additional_gids),
        },
        "args": list(config.args),
        "env": list(config.env),
        "cwd": config.cwd,
        "capabilities": _capabilities(config.uid, isolation.capabilities),
        "noNewPrivileges": isolation.no_new_privileges,
        "rlimits": [
            {"type": f"RLIMIT_{limit.name.upper()}", "soft": _limit(limit.soft),
             "hard": _limit(limit.hard)}
            for limit in isolation.rlimits
        ],  # fmt: skip
    }
    if isolation.oom_score_adj is not None:
        process["oomScoreAdj"] = isolation.oom_score_adj
    if isolation.apparmor_profile is not None:
        process["apparmorProfile"] = isolation.apparmor_profile
    return process


def _limit(value: int) -> int:
    """-1 (unlimited) as the runtime spec writes RLIM_INFINITY."""
    return 2**64 - 1 if value == UNLIMITED else value


def render(config: ContainerConfig, rootfs: Path) -> dict[str, Any]:
    """The config.json document for `config` with its root at `rootfs`.
    Reads the host's device nodes that the container is given."""
    bind_mounts = [
        {"destination": dest, "type": "bind", "source": str(src), "options": ["rbind", "rprivate"]}
        for dest, src in config.binds
    ]
    return {
        "ociVersion": OCI_VERSION,
        "process": _process(config),
        "root": {"path": str(rootfs), "readonly": False},
        "hostname": config.hostname,
        "mounts": [*_kernel_mounts(config.isolation.privileged), *bind_mounts],
        "linux": _linux(config),
    }


def write_bundle(config: ContainerConfig, bundle: Path, rootfs: Path) -> None:
    """Write bundle/config.json atomically, readable by root only: it holds
    the container's environment, and so its secrets."""
    private_directory(bundle)
    write_private_file(bundle / "config.json", json.dumps(render(config, rootfs)).encode())
