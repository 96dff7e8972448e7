"""Find kernel objects and processes Corral made and did not remove."""

import os
from pathlib import Path

from netplug.netns import NETNS_DIR
from runtime.cgroups import cgroups_named


def _links() -> list[str]:
    return sorted(name for name in os.listdir("/sys/class/net") if name.startswith("cr"))


def _mounts(marker: str) -> list[str]:
    with open("/proc/self/mountinfo", encoding="utf-8") as mountinfo:
        return [line.split()[4] for line in mountinfo if marker in line.split()[4]]


def _processes(state_root: Path) -> list[str]:
    """Processes running runc or crun on `state_root`, or started with
    CORRAL_RUN_ROOT under it (not another test run's, on a shared host)."""
    marker = f"CORRAL_RUN_ROOT={state_root}".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        program = os.path.basename(cmdline[0].decode(errors="replace"))
        on_root = any(str(state_root).encode() in arg for arg in cmdline)
        if (program in ("runc", "crun") and on_root) or marker in environ:
            found.append(f"pid {pid}: {b' '.join(cmdline).decode(errors='replace')}")
    return found


def leftovers(state_root: Path, name_marker: str) -> list[str]:
    """Everything that looks like Corral's and is still there: netns,
    cgroups and mounts named with `name_marker`, links named cr* (in this
    network namespace), mounts under `state_root`, runtime processes, and
    processes started with CORRAL_RUN_ROOT under `state_root`."""
    found = (
        [f"netns {n}" for n in sorted(os.listdir(NETNS_DIR)) if name_marker in n]
        if (NETNS_DIR.exists())
        else []
    )
    found += [f"link {name}" for name in _links()]
    found += [f"mount {m}" for m in _mounts(name_marker)]
    found += [f"mount {m}" for m in _mounts(str(state_root)) if name_marker not in m]
    found += [f"cgroup {c}" for c in cgroups_named(name_marker)]
    found += _processes(state_root)
    return found
