"""The isolation keys are checked while loading: a value Docker would refuse
when it creates the container is a problem of the file, with its line."""

import json
import re
from pathlib import Path

import pytest

from orchestrator.errors import SpecError
from tests.unit.orchestrator.test_spec_loader import load, load_service, write


@pytest.mark.parametrize(
    ("key", "value", "where", "message"),
    [
        ("cap_add", "[NET_ADMINN]", "cap_add[0]", "'NET_ADMINN' is not a capability"),
        ("cap_drop", "[chown, bogus]", "cap_drop[1]", "'bogus' is not a capability"),
        (
            "sysctls",
            "{vm.swappiness: '10'}",
            "sysctls.vm.swappiness",
            "sysctl 'vm.swappiness' is not namespaced: it would change the host; a container "
            "may set only kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.* and net.*",
        ),
        (
            "device_cgroup_rules",
            "['c 1:3 rwm', 'c 1:3']",
            "device_cgroup_rules[1]",
            "'c 1:3' is not a device cgroup rule (TYPE MAJOR:MINOR ACCESS, e.g. 'c 1:3 rwm')",
        ),
        (
            "security_opt",
            "[seccomp=unconfined, 'label-disable']",
            "security_opt[1]",
            "'label-disable' is not a security option (seccomp=..., "
            "no-new-privileges[:true|false], apparmor=..., label=..., systempaths=unconfined)",
        ),
        (
            "security_opt",
            "['no-new-privileges:maybe']",
            "security_opt[0]",
            "'no-new-privileges:maybe': no-new-privileges takes true or false",
        ),
        (
            "userns_mode",
            "private",
            "userns_mode",
            "'private': only 'host' is a user namespace mode (Corral runs containers in the "
            "host's user namespace)",
        ),
    ],
)
def test_values_docker_refuses_are_problems(
    tmp_path: Path, key: str, value: str, where: str, message: str
) -> None:
    path = write(tmp_path, f"services:\n  web:\n    image: alpine\n    {key}: {value}\n")
    with pytest.raises(SpecError) as raised:
        load(path)
    # The column is the item's own, or the key's for a scalar.
    assert re.fullmatch(rf"{re.escape(str(path))}:4:\d+: services\.web\.{re.escape(where)}: "
                        + re.escape(message), str(raised.value)), str(raised.value)  # fmt: skip


def test_an_unknown_ulimit_is_a_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path, "services:\n  web:\n    image: alpine\n    ulimits:\n      nofiles: 10\n"
    )
    with pytest.raises(
        SpecError, match=r"services\.web\.ulimits\.nofiles: 'nofiles' is not a ulimit"
    ):
        load(path)


def test_a_missing_seccomp_profile_is_found_before_anything_starts(tmp_path: Path) -> None:
    path = write(
        tmp_path, "services:\n  web:\n    image: alpine\n    security_opt: [seccomp=nope.json]\n"
    )
    expected = r":4:20: services\.web\.security_opt\[0\]: seccomp profile .*nope\.json: cannot read"
    with pytest.raises(SpecError, match=expected + " it: No such file or directory$"):
        load(path)


def test_a_seccomp_profile_path_is_made_absolute(tmp_path: Path) -> None:
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}
    (tmp_path / "profile.json").write_text(json.dumps(profile))
    service = load_service(tmp_path, "security_opt: ['seccomp:profile.json', no-new-privileges]")
    assert service.security_opt == (f"seccomp={tmp_path / 'profile.json'}", "no-new-privileges")


def test_isolation_keys_run_without_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        services:
          web:
            image: alpine
            cap_add: [NET_ADMIN]
            cap_drop: [ALL]
            privileged: false
            security_opt: [no-new-privileges:true]
            sysctls: [net.core.somaxconn=1024]
            ulimits: {nofile: 1024}
            devices: [/dev/fuse]
            device_cgroup_rules: ['c 10:229 rwm']
            group_add: [audio]
            userns_mode: host
            oom_score_adj: 100
        """,
    )
    warnings: list[str] = []
    load(path, warnings=warnings, strict=True)
    assert warnings == []


def test_a_label_on_a_host_without_selinux_is_a_warning_even_when_strict(tmp_path: Path) -> None:
    if Path("/sys/fs/selinux/enforce").exists():
        pytest.skip("this host has SELinux")
    path = write(
        tmp_path, "services:\n  web:\n    image: alpine\n    security_opt: [label=type:x]\n"
    )
    warnings: list[str] = []
    load(path, warnings=warnings, strict=True)
    assert warnings == [
        f"{path}:4:5: services.web.security_opt: this host has no SELinux; the label option "
        "is ignored"
    ]
