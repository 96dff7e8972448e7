"""Docker's gates on top of the distribution's profile: no namespaces,
mounts or keyring without CAP_SYS_ADMIN (the keyring not even with it)."""

from typing import Any

import pytest

from runtime.isolation import DEFAULT_CAPABILITIES
from runtime.seccomp import DEFAULT_PROFILE, load_profile, oci_seccomp
from runtime.seccomp_gates import (
    CLONE_NAMESPACE_FLAGS,
    KEYRING_CALLS,
    MOUNT_AND_NAMESPACE_CALLS,
    gate,
)

pytestmark = pytest.mark.skipif(not DEFAULT_PROFILE.exists(), reason="no containers-common")


def _filter(capabilities: tuple[str, ...]) -> dict[str, Any]:
    translated = oci_seccomp(load_profile(), capabilities, machine="x86_64")
    return gate(translated, capabilities, "x86_64")


def _rules_for(seccomp: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [rule for rule in seccomp["syscalls"] if name in rule["names"]]


@pytest.mark.parametrize("name", ["unshare", "setns", "mount", "umount2", "pivot_root", "keyctl"])
def test_without_sys_admin_namespaces_and_mounts_are_refused(name: str) -> None:
    rules = _rules_for(_filter(DEFAULT_CAPABILITIES), name)
    assert rules == [{"names": rules[0]["names"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]


def test_clone_may_not_ask_for_a_namespace_and_clone3_falls_back() -> None:
    seccomp = _filter(DEFAULT_CAPABILITIES)
    assert _rules_for(seccomp, "clone") == [{"names": ["clone"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0,
                  "op": "SCMP_CMP_MASKED_EQ"}]}]  # fmt: skip
    assert _rules_for(seccomp, "clone3") == [
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
    ]


def test_sys_admin_gets_the_profiles_rules_back_but_never_the_keyring() -> None:
    seccomp = _filter((*DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"))
    for name in ("unshare", "mount", "clone", "clone3"):
        assert {rule["action"] for rule in _rules_for(seccomp, name)} == {"SCMP_ACT_ALLOW"}, name
    assert [rule["action"] for rule in _rules_for(seccomp, "keyctl")] == ["SCMP_ACT_ERRNO"]


def test_the_rest_of_the_profile_is_kept() -> None:
    translated = oci_seccomp(load_profile(), DEFAULT_CAPABILITIES, machine="x86_64")
    gated = gate(translated, DEFAULT_CAPABILITIES, "x86_64")

    def unconditional(seccomp: dict[str, Any]) -> set[str]:
        return {name for rule in seccomp["syscalls"] if rule["action"] == "SCMP_ACT_ALLOW"
                and not rule.get("args") for name in rule["names"]}  # fmt: skip

    gated_names = {*MOUNT_AND_NAMESPACE_CALLS, *KEYRING_CALLS, "clone", "clone3"}
    assert gated["defaultAction"] == translated["defaultAction"]
    assert "read" in unconditional(gated)
    assert unconditional(gated) == unconditional(translated) - gated_names


def test_s390_reads_clone_flags_from_its_second_argument() -> None:
    translated = oci_seccomp(load_profile(), DEFAULT_CAPABILITIES, machine="s390x")
    clone = _rules_for(gate(translated, DEFAULT_CAPABILITIES, "s390x"), "clone")
    assert clone[0]["args"][0]["index"] == 1
