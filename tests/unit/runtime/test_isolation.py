"""Capabilities as Docker computes them, and an Isolation rendered into config.json."""

import os
import stat
from pathlib import Path

import pytest

from runtime.errors import ContainerRuntimeError
from runtime.isolation import (
    DEFAULT_CAPABILITIES,
    KNOWN_CAPABILITIES,
    Device,
    DeviceRule,
    Isolation,
    Rlimit,
    capability_name,
    capability_set,
    parse_device_rule,
    sysctl_problem,
)
from runtime.oci import ContainerConfig, render

EVERY = KNOWN_CAPABILITIES[:-1]  # a host whose bounding set lacks one


def _config(isolation: Isolation, uid: int = 0) -> ContainerConfig:
    return ContainerConfig(
        args=("sh",), env=(), cwd="/", uid=uid, gid=0, additional_gids=(), hostname="h",
        netns=Path("/run/netns/x"), cgroup_path="x", isolation=isolation,
    )  # fmt: skip


def test_capability_names_are_read_as_docker_spells_them() -> None:
    assert capability_name("net_admin") == "CAP_NET_ADMIN"
    assert capability_name("CAP_SYS_TIME") == "CAP_SYS_TIME"
    assert capability_name("all") == "ALL"
    with pytest.raises(ValueError, match=r"^'NET_ADMINN' is not a capability$"):
        capability_name("NET_ADMINN")


def test_added_and_dropped_capabilities_change_dockers_defaults() -> None:
    chosen = capability_set(["NET_ADMIN"], ["chown", "KILL"], False, EVERY)
    assert "CAP_NET_ADMIN" in chosen
    assert "CAP_CHOWN" not in chosen
    assert "CAP_KILL" not in chosen
    assert set(chosen) == (set(DEFAULT_CAPABILITIES) - {"CAP_CHOWN", "CAP_KILL"}) | {
        "CAP_NET_ADMIN"
    }


def test_drop_all_keeps_only_what_is_added() -> None:
    assert capability_set(["NET_BIND_SERVICE"], ["ALL"], False, EVERY) == (
        "CAP_NET_BIND_SERVICE",
    )


def test_add_all_and_privileged_give_what_this_host_can_grant() -> None:
    assert capability_set(["ALL"], ["SYS_ADMIN"], False, EVERY) == tuple(
        c for c in EVERY if c != "CAP_SYS_ADMIN"
    )
    assert capability_set([], ["ALL"], True, EVERY) == EVERY


def test_a_non_root_process_has_the_bounding_set_but_no_effective_capabilities() -> None:
    process = render(_config(Isolation(capabilities=("CAP_NET_ADMIN",)), uid=1000), Path("/r"))
    assert process["process"]["capabilities"] == {
        "bounding": ["CAP_NET_ADMIN"], "effective": [], "permitted": [],
    }  # fmt: skip


def test_isolation_is_rendered_into_the_process_and_linux_sections() -> None:
    isolation = Isolation(
        no_new_privileges=True,
        seccomp={"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []},
        sysctls=(("net.core.somaxconn", "1024"),),
        rlimits=(Rlimit("nofile", 10, 20), Rlimit("core", -1, -1)),
        device_rules=(DeviceRule("c", 10, 229, "rw"),),
        oom_score_adj=300,
    )
    document = render(_config(isolation), Path("/r"))
    process, linux = document["process"], document["linux"]
    assert process["noNewPrivileges"] is True
    assert process["oomScoreAdj"] == 300
    assert process["rlimits"] == [
        {"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20},
        {"type": "RLIMIT_CORE", "soft": 2**64 - 1, "hard": 2**64 - 1},
    ]
    assert linux["seccomp"] == {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []}
    assert linux["sysctl"] == {"net.core.somaxconn": "1024"}
    assert linux["resources"]["devices"] == [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"},
    ]
    assert linux["maskedPaths"]
    assert "ro" in next(m for m in document["mounts"] if m["type"] == "sysfs")["options"]


def test_without_a_profile_there_is_no_seccomp_section() -> None:
    assert "seccomp" not in render(_config(Isolation()), Path("/r"))["linux"]


def test_privileged_opens_sys_every_device_and_the_system_paths() -> None:
    document = render(_config(Isolation(privileged=True, unmasked_system_paths=True)), Path("/r"))
    linux = document["linux"]
    assert linux["maskedPaths"] == []
    assert linux["readonlyPaths"] == []
    assert {"allow": True, "access": "rwm"} in linux["resources"]["devices"]
    assert any(node["path"] == "/dev/null" for node in linux["devices"])
    sysfs = next(m for m in document["mounts"] if m["type"] == "sysfs")
    assert "ro" not in sysfs["options"]


def test_a_host_device_is_made_with_its_numbers_and_allowed(tmp_path: Path) -> None:
    node = tmp_path / "full"
    os.mknod(node, stat.S_IFCHR | 0o620, os.makedev(1, 7))
    node.chmod(0o620)  # past the umask
    isolation = Isolation(devices=(Device(str(node), "/dev/probe", "r"),))
    linux = render(_config(isolation), Path("/r"))["linux"]
    assert linux["devices"] == [{"path": "/dev/probe", "type": "c", "major": 1, "minor": 7,
                                 "fileMode": 0o620, "uid": 0, "gid": 0}]  # fmt: skip
    assert {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "r"} in linux[
        "resources"
    ]["devices"]


def test_a_path_that_is_no_device_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    isolation = Isolation(devices=(Device(str(tmp_path / "file"), "/dev/x"),))
    with pytest.raises(ContainerRuntimeError, match=r"is not a device node or a directory$"):
        render(_config(isolation), Path("/r"))
    missing = Isolation(devices=(Device(str(tmp_path / "none"), "/dev/x"),))
    with pytest.raises(ContainerRuntimeError, match=r"none: No such file or directory$"):
        render(_config(missing), Path("/r"))


def test_device_cgroup_rules_in_dockers_syntax() -> None:
    assert parse_device_rule("c 1:3 rwm") == DeviceRule("c", 1, 3, "rwm")
    assert parse_device_rule("b 8:* r") == DeviceRule("b", 8, None, "r")
    assert parse_device_rule("a *:* m") == DeviceRule("a", None, None, "m")
    for bad in ("c 1:3", "x 1:3 r", "c 1:3 rr", "c one:3 r"):
        with pytest.raises(ValueError, match=r"is not a device cgroup rule"):
            parse_device_rule(bad)


def test_only_namespaced_sysctls_may_be_set() -> None:
    assert sysctl_problem("net.ipv4.ip_forward") is None
    assert sysctl_problem("kernel.shmmax") is None
    assert sysctl_problem("fs.mqueue.msg_max") is None
    assert sysctl_problem("vm.swappiness") is not None
    assert sysctl_problem("kernel.hostname") is not None
