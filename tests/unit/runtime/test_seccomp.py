"""load_profile and oci_seccomp: Docker-format profiles read as moby's
setupSeccomp reads them, on small profiles and on the distribution's own."""

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from runtime import seccomp
from runtime.errors import ContainerRuntimeError, SeccompError
from runtime.isolation import DEFAULT_CAPABILITIES
from runtime.seccomp import DEFAULT_PROFILE, load_profile, oci_seccomp

DOCKER_CAPS = frozenset(DEFAULT_CAPABILITIES)
WITH_SYS_ADMIN = DOCKER_CAPS | {"CAP_SYS_ADMIN"}
ALLOW, ERRNO = "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"
needs_default = pytest.mark.skipif(
    not DEFAULT_PROFILE.exists(), reason=f"{DEFAULT_PROFILE} is not installed"
)


def write(tmp_path: Path, profile: Any, name: str = "profile.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(profile), encoding="utf-8")
    return path


def translate(
    tmp_path: Path, profile: dict[str, Any], caps: frozenset[str] = DOCKER_CAPS, **options: str
) -> dict[str, Any]:
    return oci_seccomp(load_profile(write(tmp_path, profile)), caps, **options)


def actions(oci: dict[str, Any], name: str) -> set[str]:
    """What the filter does with a call of `name` that no argument rule matches."""
    found = {
        rule["action"]
        for rule in oci.get("syscalls", ())
        if name in rule["names"] and "args" not in rule
    }
    return found or {oci["defaultAction"]}


def names(oci: dict[str, Any]) -> list[str]:
    return [name for rule in oci.get("syscalls", ()) for name in rule["names"]]


# The distribution's profile, with Docker's capabilities.


@needs_default
def test_default_profile_allows_the_ordinary_calls() -> None:
    oci = oci_seccomp(load_profile(), DOCKER_CAPS, machine="x86_64")
    assert oci["defaultAction"] == ERRNO
    assert oci["defaultErrnoRet"] == 38  # ENOSYS: a call the profile does not know
    for name in ("read", "write", "openat", "clone", "execve", "exit_group", "chroot"):
        assert actions(oci, name) == {ALLOW}, name


@needs_default
def test_default_profile_refuses_what_needs_capabilities_the_container_lacks() -> None:
    docker = oci_seccomp(load_profile(), DOCKER_CAPS, machine="x86_64")
    admin = oci_seccomp(load_profile(), WITH_SYS_ADMIN, machine="x86_64")
    for name in ("bpf", "perf_event_open", "sethostname", "setdomainname", "quotactl"):
        assert actions(docker, name) == {ERRNO}, name
        assert actions(admin, name) == {ALLOW}, name
    for name in ("kexec_load", "init_module", "acct", "settimeofday", "iopl", "kcmp"):
        assert actions(docker, name) == {ERRNO}, name
    refused = [rule for rule in docker["syscalls"] if "bpf" in rule["names"]]
    assert [rule.get("errnoRet") for rule in refused] == [1]  # EPERM


@needs_default
def test_default_profile_leaves_mount_and_unshare_to_capabilities() -> None:
    """Unlike Docker's, Podman's profile allows mount, unshare, setns and
    clone3 whatever the capabilities: a container may make a user namespace."""
    docker = oci_seccomp(load_profile(), DOCKER_CAPS, machine="x86_64")
    for name in ("mount", "umount2", "unshare", "clone3", "pivot_root"):
        assert actions(docker, name) == {ALLOW}, name
    assert actions(docker, "setns") == {ALLOW, ERRNO}  # listed both ways by the profile


@needs_default
def test_default_profile_socket_rules_follow_cap_audit_write() -> None:
    with_audit = oci_seccomp(load_profile(), DOCKER_CAPS, machine="x86_64")
    assert actions(with_audit, "socket") == {ALLOW}
    without = oci_seccomp(load_profile(), DOCKER_CAPS - {"CAP_AUDIT_WRITE"}, machine="x86_64")
    assert actions(without, "socket") == {ERRNO}  # only the argument rules are left
    audit_socket = [rule for rule in without["syscalls"] if rule["names"] == ["socket"]][0]
    assert audit_socket == {
        "names": ["socket"],
        "action": ERRNO,
        "errnoRet": 22,
        "args": [
            {"index": 0, "value": 16, "op": "SCMP_CMP_EQ"},  # AF_NETLINK
            {"index": 2, "value": 9, "op": "SCMP_CMP_EQ"},  # NETLINK_AUDIT
        ],
    }


@needs_default
def test_default_profile_keeps_personality_values_as_argument_rules() -> None:
    oci = oci_seccomp(load_profile(), DOCKER_CAPS, machine="x86_64")
    rules = [rule for rule in oci["syscalls"] if rule["names"] == ["personality"]]
    assert [rule["args"] for rule in rules] == [
        [{"index": 0, "value": value, "op": "SCMP_CMP_EQ"}]
        for value in (0, 8, 0x20000, 0x20008, 0xFFFFFFFF)
    ]
    assert actions(oci, "personality") == {ERRNO}


@needs_default
def test_default_profile_rules_for_one_architecture_appear_on_it_only() -> None:
    x86 = oci_seccomp(load_profile(), DOCKER_CAPS, machine="x86_64")
    arm = oci_seccomp(load_profile(), DOCKER_CAPS, machine="aarch64")
    assert x86["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert arm["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    for name in ("arch_prctl", "modify_ldt"):
        assert name in names(x86)
        assert name not in names(arm)
    for name in ("arm_fadvise64_64", "breakpoint", "set_tls", "sync_file_range2"):
        assert name in names(arm)
        assert name not in names(x86)
    for oci in (x86, arm):
        assert "s390_runtime_instr" not in names(oci)
    ppc = oci_seccomp(load_profile(), DOCKER_CAPS, machine="ppc64le")
    assert "sync_file_range2" in names(ppc)
    assert "arm_fadvise64_64" not in names(ppc)


@needs_default
def test_default_profile_output_is_oci_only() -> None:
    oci = oci_seccomp(load_profile(), DOCKER_CAPS, machine="x86_64")
    assert set(oci) == {"defaultAction", "defaultErrnoRet", "architectures", "syscalls"}
    for rule in oci["syscalls"]:
        assert set(rule) <= {"names", "action", "errnoRet", "args"}
        assert rule["names"]


# Small profiles, one feature each.


def test_names_and_the_legacy_name(tmp_path: Path) -> None:
    oci = translate(tmp_path, {
        "defaultAction": ERRNO,
        "syscalls": [
            {"names": ["read", "write"], "action": ALLOW, "comment": "ordinary", "args": None},
            {"name": "close", "action": ALLOW, "args": []},
            {"names": [], "action": ALLOW},
            {"action": ALLOW},
        ],
    })  # fmt: skip
    assert oci == {
        "defaultAction": ERRNO,
        "syscalls": [
            {"names": ["read", "write"], "action": ALLOW},
            {"names": ["close"], "action": ALLOW},
        ],
    }


def test_profile_level_fields_pass_through(tmp_path: Path) -> None:
    oci = translate(tmp_path, {
        "defaultAction": ERRNO, "defaultErrnoRet": 1, "defaultErrno": "EPERM",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "listenerPath": "/run/agent.sock", "listenerMetadata": "web",
        "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_NOTIFY"}],
    }, machine="aarch64")  # fmt: skip
    assert oci == {
        "defaultAction": ERRNO,
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "listenerPath": "/run/agent.sock",
        "listenerMetadata": "web",
        "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_NOTIFY"}],
    }


def test_arguments_and_errno(tmp_path: Path) -> None:
    """Docker's clone rule: no new namespaces without CAP_SYS_ADMIN."""
    clone = {
        "names": ["clone"], "action": ALLOW,
        "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
        "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]},
    }  # fmt: skip
    ranged = {
        "names": ["ioctl"], "action": ERRNO, "errnoRet": 95, "errno": "EOPNOTSUPP",
        "args": [{"index": 1, "value": 0xFF00, "valueTwo": 0x5400, "op": "SCMP_CMP_MASKED_EQ"}],
    }  # fmt: skip
    profile = {"defaultAction": ERRNO, "syscalls": [clone, ranged]}
    oci = translate(tmp_path, profile)
    assert oci["syscalls"] == [
        {"names": ["clone"], "action": ALLOW,
         "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["ioctl"], "action": ERRNO, "errnoRet": 95,
         "args": [{"index": 1, "value": 0xFF00, "op": "SCMP_CMP_MASKED_EQ", "valueTwo": 0x5400}]},
    ]  # fmt: skip
    assert names(translate(tmp_path, profile, WITH_SYS_ADMIN)) == ["ioctl"]
    assert names(translate(tmp_path, profile, machine="s390x")) == ["ioctl"]


def test_includes_caps_needs_every_cap_and_excludes_caps_any(tmp_path: Path) -> None:
    profile = {"defaultAction": ERRNO, "syscalls": [
        {"names": ["both"], "action": ALLOW, "includes": {"caps": ["CAP_A", "CAP_B"]}},
        {"names": ["neither"], "action": ALLOW, "excludes": {"caps": ["CAP_A", "CAP_B"]}},
        {"names": ["always"], "action": ALLOW, "includes": {}, "excludes": {"caps": []}},
    ]}  # fmt: skip
    assert names(translate(tmp_path, profile, frozenset())) == ["neither", "always"]
    assert names(translate(tmp_path, profile, frozenset({"CAP_A"}))) == ["always"]
    assert names(translate(tmp_path, profile, frozenset({"CAP_B"}))) == ["always"]
    assert names(translate(tmp_path, profile, frozenset({"CAP_A", "CAP_B"}))) == [
        "both", "always",
    ]  # fmt: skip


def test_architectures_from_the_arch_map(tmp_path: Path) -> None:
    profile = {
        "defaultAction": ERRNO,
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": None},
            {"architecture": "SCMP_ARCH_RISCV64"},
        ],
        "syscalls": [
            {"names": ["x86_only"], "action": ALLOW, "includes": {"arches": ["amd64", "x86"]}},
            {"names": ["not_arm"], "action": ALLOW, "excludes": {"arches": ["arm", "arm64"]}},
        ],
    }
    x86 = translate(tmp_path, profile, machine="x86_64")
    assert x86["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
    assert names(x86) == ["x86_only", "not_arm"]
    arm = translate(tmp_path, profile, machine="aarch64")
    assert arm["architectures"] == ["SCMP_ARCH_AARCH64"]
    assert names(arm) == []
    assert translate(tmp_path, profile, machine="riscv64")["architectures"] == ["SCMP_ARCH_RISCV64"]
    # A machine the map lacks: the runtime takes the native architecture, as with Docker.
    ppc = translate(tmp_path, profile, machine="ppc64le")
    assert "architectures" not in ppc
    assert names(ppc) == ["not_arm"]


def test_min_kernel(tmp_path: Path) -> None:
    profile = {"defaultAction": ERRNO, "syscalls": [
        {"names": ["new"], "action": ALLOW, "includes": {"minKernel": "5.8"}},
        {"names": ["old"], "action": ERRNO, "excludes": {"minKernel": "5.8"}},
        {"names": ["any"], "action": ALLOW, "includes": {"minKernel": ""}},
    ]}  # fmt: skip
    assert names(translate(tmp_path, profile, kernel_release="5.4.0-150-generic")) == [
        "old", "any",
    ]  # fmt: skip
    assert names(translate(tmp_path, profile, kernel_release="5.8.0")) == ["new", "any"]
    assert names(translate(tmp_path, profile, kernel_release="6.1-1-amd64")) == ["new", "any"]
    assert names(translate(tmp_path, profile, kernel_release="5.10.0")) == ["new", "any"]


def test_min_kernel_compares_with_the_running_kernel(tmp_path: Path) -> None:
    kernel, major = (int(part) for part in os.uname().release.split(".")[:2])
    profile = {"defaultAction": ERRNO, "syscalls": [
        {"names": ["this"], "action": ALLOW, "includes": {"minKernel": f"{kernel}.{major}"}},
        {"names": ["next"], "action": ALLOW, "includes": {"minKernel": f"{kernel}.{major + 1}"}},
    ]}  # fmt: skip
    assert names(translate(tmp_path, profile)) == ["this"]


def test_a_kernel_release_without_a_version_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, {"defaultAction": ALLOW})
    with pytest.raises(
        ContainerRuntimeError, match=r"^kernel release 'unknown' has no version to compare$"
    ):
        oci_seccomp(load_profile(path), DOCKER_CAPS, kernel_release="unknown")


# Profiles that cannot be used.


def expect_error(path: Path, message: str) -> None:
    with pytest.raises(SeccompError, match=f"^{re.escape(message)}$"):
        load_profile(path)


def test_missing_unreadable_and_malformed_files(tmp_path: Path) -> None:
    expect_error(
        tmp_path / "gone.json",
        f"seccomp profile {tmp_path}/gone.json: cannot read it: No such file or directory",
    )
    expect_error(tmp_path, f"seccomp profile {tmp_path}: cannot read it: Is a directory")
    bad = tmp_path / "bad.json"
    bad.write_text('{"defaultAction": "SCMP_ACT_ERRNO",\n  "syscalls": [}\n')
    expect_error(bad, f"seccomp profile {bad}: not JSON: Expecting value at line 2 column 16")
    bad.write_bytes(b'{"defaultAction": "\xff"}')
    expect_error(bad, f"seccomp profile {bad}: not UTF-8 text: invalid start byte")


def test_the_default_profile_missing_names_its_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "seccomp.json"
    monkeypatch.setattr(seccomp, "DEFAULT_PROFILE", missing)
    expect_error(
        missing,
        f"seccomp profile {missing}: cannot read it: No such file or directory"
        " (it is installed by the Debian package golang-github-containers-common)",
    )
    missing.write_text("[]")
    expect_error(
        missing,
        f"seccomp profile {missing}: expected an object, got a list"
        " (it is installed by the Debian package golang-github-containers-common)",
    )


RULE = {"names": ["read"], "action": ALLOW}


@pytest.mark.parametrize(
    ("profile", "field", "problem"),
    [
        ({}, "defaultAction", "missing: a profile must say what to do by default"),
        ({"defaultAction": None, "syscalls": [RULE]}, "defaultAction",
         "missing: a profile must say what to do by default"),
        ({"defaultAction": "SCMP_ACT_DENY"}, "defaultAction", "unknown action 'SCMP_ACT_DENY'"),
        ({"defaultAction": ALLOW, "defaultErrnoRet": -1}, "defaultErrnoRet",
         "expected an integer from 0 to 4294967295, got -1"),
        ({"defaultAction": ALLOW, "defaultErrnoRet": True}, "defaultErrnoRet",
         "expected an integer from 0 to 4294967295, got True"),
        ({"defaultAction": ALLOW, "syscalls": {"read": ALLOW}}, "syscalls",
         "expected a list, got an object"),
        ({"defaultAction": ALLOW, "syscalls": [RULE, "read"]}, "syscalls[1]",
         "expected an object, got a string"),
        ({"defaultAction": ALLOW, "syscalls": [{"names": ["read"]}]}, "syscalls[0].action",
         "missing"),
        ({"defaultAction": ALLOW, "syscalls": [{**RULE, "action": "ALLOW"}]},
         "syscalls[0].action", "unknown action 'ALLOW'"),
        ({"defaultAction": ALLOW, "syscalls": [{**RULE, "name": "write"}]}, "syscalls[0].name",
         "a rule takes either name or names"),
        ({"defaultAction": ALLOW, "syscalls": [{**RULE, "names": "read"}]}, "syscalls[0].names",
         "expected a list, got a string"),
        ({"defaultAction": ALLOW, "syscalls": [{**RULE, "names": ["read", ""]}]},
         "syscalls[0].names[1]", "empty"),
        ({"defaultAction": ALLOW, "syscalls": [{**RULE, "exclude": {"caps": ["CAP_SYS_ADMIN"]}}]},
         "syscalls[0].exclude", "unknown key"),
        ({"defaultAction": ALLOW, "syscalls": [
            {**RULE, "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                              {"index": 1, "value": 1, "op": "SCMP_CMP_MASKED"}]}]},
         "syscalls[0].args[1].op", "unknown operator 'SCMP_CMP_MASKED'"),
        ({"defaultAction": ALLOW, "syscalls": [
            {**RULE, "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]},
         "syscalls[0].args[0].index", "6 is not an argument: a system call has 6"),
        ({"defaultAction": ALLOW, "syscalls": [{**RULE, "args": [{"index": 0, "value": 1}]}]},
         "syscalls[0].args[0].op", "missing"),
        ({"defaultAction": ALLOW, "syscalls": [
            {**RULE, "args": [{"index": 0, "value": 1 << 64, "op": "SCMP_CMP_EQ"}]}]},
         "syscalls[0].args[0].value",
         "expected an integer from 0 to 18446744073709551615, got 18446744073709551616"),
        ({"defaultAction": ALLOW, "syscalls": [{**RULE, "includes": {"minKernel": "4.8.1"}}]},
         "syscalls[0].includes.minKernel", "'4.8.1' is not a kernel version \"<kernel>.<major>\""),
        ({"defaultAction": ALLOW, "syscalls": [{**RULE, "excludes": {"minKernel": "0.0"}}]},
         "syscalls[0].excludes.minKernel", "'0.0' is not a kernel version \"<kernel>.<major>\""),
        ({"defaultAction": ALLOW, "syscalls": [{**RULE, "includes": {"caps": "CAP_SYS_ADMIN"}}]},
         "syscalls[0].includes.caps", "expected a list, got a string"),
        ({"defaultAction": ALLOW, "architectures": ["SCMP_ARCH_X86_64"],
          "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]},
         "architectures", "a profile takes either architectures or archMap"),
        ({"defaultAction": ALLOW, "archMap": [{"architecture": "SCMP_ARCH_AMD64"}]},
         "archMap[0].architecture", "unknown architecture 'SCMP_ARCH_AMD64'"),
        ({"defaultAction": ALLOW, "flags": ["SECCOMP_FILTER_FLAG_NONE"]}, "flags[0]",
         "unknown flag 'SECCOMP_FILTER_FLAG_NONE'"),
        ({"defaultAction": ALLOW, "defaultErrorRet": 1}, "defaultErrorRet", "unknown key"),
    ],
)  # fmt: skip
def test_invalid_profiles_name_the_field(
    tmp_path: Path, profile: dict[str, Any], field: str, problem: str
) -> None:
    path = write(tmp_path, profile)
    expect_error(path, f"seccomp profile {path}, {field}: {problem}")
