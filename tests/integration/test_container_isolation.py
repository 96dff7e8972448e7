"""What a process inside a container may do, probed from inside it, on
crun and runc: Docker's defaults, and each isolation key loosening or
tightening them."""

import os
import resource
import stat
import time
from pathlib import Path

import pytest

from runtime.isolation import KNOWN_CAPABILITIES, effective_capabilities, grantable_capabilities
from tests import log_file
from tests.integration.stack_helpers import RUNTIMES, Corral

pytestmark = pytest.mark.root

PROBE = (
    "grep -E '^(CapEff|CapBnd|Seccomp|NoNewPrivs):' /proc/self/status;"
    " echo nofile=$$(ulimit -n):$$(ulimit -Hn); echo nproc=$$(ulimit -Hu);"
    " unshare -U -r true 2>/dev/null && echo unshare=yes || echo unshare=no;"
    " mkdir -p /mnt/t && mount -t tmpfs none /mnt/t 2>/dev/null && echo mount=yes || echo mount=no;"
    " echo oom=$$(cat /proc/self/oom_score_adj); echo groups=$$(id -G);"
    " echo sysfs=$$(grep ' /sys sysfs ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1);"
    " echo ports=$$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start);"
    " {extra} echo probe-done; trap 'exit 0' TERM; sleep 1000 & wait"
)

STACK = """
services:
  plain:
    image: busybox
    command: ["sh", "-c", "{plain}"]
  tuned:
    image: busybox
    command: ["sh", "-c", "{tuned}"]
    cap_add: [NET_ADMIN, sys_time]
    cap_drop: [CAP_CHOWN]
    security_opt: ["no-new-privileges:true"]
    sysctls:
      net.core.somaxconn: "1234"
      kernel.shmmni: "2048"
    ulimits:
      nofile: {{soft: 2000, hard: 4000}}
      nproc: 777
    oom_score_adj: 500
    group_add: [nogroup, "4242"]
    userns_mode: host
    devices: ["{device}:/dev/probe"]
    device_cgroup_rules: ["c 10:229 rwm"]
  bare:
    image: busybox
    command: ["sh", "-c", "{plain}"]
    cap_drop: [ALL]
    security_opt: [seccomp=unconfined]
  privileged:
    image: busybox
    command: ["sh", "-c", "{privileged}"]
    privileged: true
"""

TUNED_EXTRA = (
    "echo somaxconn=$$(cat /proc/sys/net/core/somaxconn);"
    " echo shmmni=$$(cat /proc/sys/kernel/shmmni);"
    " echo probe=$$(head -c 2 /dev/probe | od -An -tx1 | tr -d ' ');"
    " echo x 2>/dev/null > /dev/probe && echo probe-write=yes || echo probe-write=no;"
    " mknod /tmp/fuse c 10 229 && (exec 3< /tmp/fuse) 2>/dev/null && echo rule=yes"
    " || echo rule=no;"
    " mknod /tmp/loop c 10 237 && (exec 3< /tmp/loop) 2>/dev/null && echo norule=yes"
    " || echo norule=no;"
)
PRIVILEGED_EXTRA = "test -c /dev/loop-control && echo loop=yes || echo loop=no;"


def _bits(names: tuple[str, ...] | list[str]) -> str:
    return f"{sum(1 << KNOWN_CAPABILITIES.index(name) for name in names):016x}"


def _limit_within(docker: int | None, which: int) -> str:
    """Docker's hard limit (None: unlimited) as the shell prints it, lowered to
    ours when this process cannot raise its own (no CAP_SYS_RESOURCE)."""
    own = resource.getrlimit(which)[1]
    if "CAP_SYS_RESOURCE" not in effective_capabilities() and own != resource.RLIM_INFINITY:
        docker = own if docker is None else min(docker, own)
    return "unlimited" if docker is None else str(docker)


def _probe_results(corral: Corral, service: str) -> dict[str, str]:
    deadline = time.monotonic() + 30
    while "probe-done" not in (text := corral.log_text(service)):
        assert time.monotonic() < deadline, text
        time.sleep(0.1)
    results = {}
    for _, message in log_file.lines(text):
        for separator in (":\t", "="):
            if separator in message:
                key, _, value = message.partition(separator)
                results[key.strip()] = value.strip()
                break
    return results


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_isolation_keys_from_inside(corral: Corral, tmp_path: Path) -> None:
    device = tmp_path / "full"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 7))  # reads zeros, refuses writes
    plain = PROBE.format(extra="")
    corral.write(STACK.format(
        plain=plain, tuned=PROBE.format(extra=TUNED_EXTRA),
        privileged=PROBE.format(extra=PRIVILEGED_EXTRA), device=device,
    ))  # fmt: skip
    result = corral("up", "-d")
    assert result.returncode == 0, result.stderr
    try:
        defaults = _probe_results(corral, "plain")
        tuned = _probe_results(corral, "tuned")
        bare = _probe_results(corral, "bare")
        privileged = _probe_results(corral, "privileged")
    finally:
        assert corral("down").returncode == 0

    docker_default = _bits(["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
                            "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
                            "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                            "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"])  # fmt: skip
    assert defaults["CapEff"] == defaults["CapBnd"] == docker_default
    assert defaults["Seccomp"] == "2"
    assert defaults["NoNewPrivs"] == "0"
    assert defaults["unshare"] == "no"
    assert defaults["mount"] == "no"
    # Docker's limits, or this sandbox's own hard limits where it may not raise them.
    nofile, nproc = _limit_within(524288, resource.RLIMIT_NOFILE), _limit_within(
        None, resource.RLIMIT_NPROC)  # fmt: skip
    assert defaults["nofile"] == f"{min(1024, int(nofile))}:{nofile}"
    assert defaults["nproc"] == nproc
    assert defaults["sysfs"] == "ro"
    assert defaults["ports"] == "0"

    default_set = int(docker_default, 16)
    expected = [
        c for bit, c in enumerate(KNOWN_CAPABILITIES)
        if c != "CAP_CHOWN" and (c in ("CAP_NET_ADMIN", "CAP_SYS_TIME") or default_set >> bit & 1)
    ]  # fmt: skip
    assert tuned["CapEff"] == _bits(expected)
    assert tuned["NoNewPrivs"] == "1"
    assert tuned["Seccomp"] == "2"
    assert tuned["nofile"] == "2000:4000"
    assert tuned["nproc"] == "777"
    assert tuned["oom"] == "500"
    assert set(tuned["groups"].split()) >= {"0", "65534", "4242"}
    assert tuned["somaxconn"] == "1234"
    assert tuned["shmmni"] == "2048"
    assert tuned["probe"] == "0000"
    assert tuned["probe-write"] == "no"
    assert tuned["rule"] == "yes"
    assert tuned["norule"] == "no"

    assert bare["CapEff"] == bare["CapBnd"] == "0" * 16
    assert bare["Seccomp"] == "0"

    assert privileged["CapEff"] == _bits(list(grantable_capabilities()))
    assert privileged["Seccomp"] == "0"
    assert privileged["sysfs"] == "rw"
    assert privileged["mount"] == "yes"
    assert privileged["loop"] == "yes"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_cgroup_parent_places_the_container_below_it(corral: Corral) -> None:
    parent = f"{corral.project}-parent"
    corral.write(f"""
services:
  absolute:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
    cgroup_parent: /{parent}
  relative:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
    cgroup_parent: nested/deeper
""")
    memory = Path("/sys/fs/cgroup/memory")
    if not memory.is_dir():
        memory = Path("/sys/fs/cgroup")  # the unified hierarchy
    try:
        result = corral("up", "-d")
        assert result.returncode == 0, result.stderr
        corral.wait_for(lambda rows: all(r["State"] == "running" for r in rows.values()))
        placed = {path.name: path for path in memory.rglob(f"corral-{corral.project}.*")}
        absolute = placed[f"corral-{corral.project}.absolute-1"]
        relative = placed[f"corral-{corral.project}.relative-1"]
        assert absolute.parent == memory / parent
        assert relative.parent.name == "deeper"
        assert relative.parent.parent.name == "nested"
        assert (absolute / "cgroup.procs").read_text().split()
        assert corral("down").returncode == 0
        assert not absolute.exists()
        assert not relative.exists()
    finally:
        for hierarchy in Path("/sys/fs/cgroup").iterdir():
            for made in (*hierarchy.rglob("nested/deeper"), hierarchy / parent):
                for directory in (made, made.parent) if made.name == "deeper" else (made,):
                    if directory.is_dir():
                        directory.rmdir()
