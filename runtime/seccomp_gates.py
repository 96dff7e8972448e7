"""Docker's gates on namespaces, mounts and the keyring, applied on top of
the distribution's profile.

The containers-common profile Corral starts from lets every container call
`unshare`, `setns`, `mount` and `clone` with namespace flags, so a process
with no capabilities can make a user namespace, become root in it and mount
there (containers/common#1988). Docker's default profile allows those only
with CAP_SYS_ADMIN, refuses `clone3` with ENOSYS (so that libc falls back to
`clone`, whose flags a filter can read) and never lets a container use the
kernel keyring, which is not namespaced. `gate` makes a translated profile
do the same, so Corral's default is Docker's isolation or tighter.
"""

from collections.abc import Collection, Mapping
from typing import Any

MOUNT_AND_NAMESPACE_CALLS = (
    "unshare", "setns", "mount", "umount", "umount2", "pivot_root", "fsconfig", "fsmount",
    "fsopen", "fspick", "move_mount", "open_tree", "mount_setattr",
)  # fmt: skip
KEYRING_CALLS = ("keyctl", "add_key", "request_key")
CLONE_NAMESPACE_FLAGS = 0x7E020000
"""CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID and NEWNET."""
_EPERM, _ENOSYS = 1, 38


def gate(seccomp: Mapping[str, Any], capabilities: Collection[str], machine: str) -> dict[str, Any]:
    """`seccomp` (an OCI linux.seccomp object) with Docker's gates for a
    container with these bounding capabilities."""
    admin = "CAP_SYS_ADMIN" in capabilities
    refused = set(KEYRING_CALLS) | (set() if admin else set(MOUNT_AND_NAMESPACE_CALLS))
    replaced = refused | (set() if admin else {"clone", "clone3"})
    rules = []
    for rule in seccomp.get("syscalls", ()):
        names = [name for name in rule["names"] if name not in replaced]
        if names:
            rules.append({**rule, "names": names})
    rules.append({"names": sorted(refused), "action": "SCMP_ACT_ERRNO", "errnoRet": _EPERM})
    if not admin:
        flags = 1 if machine.startswith("s390") else 0  # s390 swaps clone's first two arguments
        rules.append({"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": flags, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0,
             "op": "SCMP_CMP_MASKED_EQ"}]})  # fmt: skip
        rules.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": _ENOSYS})
    return {**seccomp, "syscalls": rules}
