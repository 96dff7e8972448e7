"""render and write_bundle: a config.json with Docker's defaults."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from runtime import oci
from runtime.oci import ContainerConfig, render, write_bundle

DOCKER_CAPABILITIES = {
    "CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP",
    "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
}  # fmt: skip
ROOTFS = Path("/run/corral/shop/containers/shop-web-1/rootfs")


def config(**changes: Any) -> ContainerConfig:
    values: dict[str, Any] = {
        "args": ("nginx", "-g", "daemon off;"),
        "env": ("PATH=/usr/bin:/bin", "HOSTNAME=www"),
        "cwd": "/srv",
        "uid": 0,
        "gid": 0,
        "additional_gids": (10, 29),
        "hostname": "www",
        "netns": Path("/run/netns/corral-shop.web-1"),
        "cgroup_path": "corral-shop.web-1",
        "binds": (
            ("/etc/hosts", Path("/run/corral/shop/containers/shop-web-1/etc/hosts")),
            ("/etc/hostname", Path("/run/corral/shop/containers/shop-web-1/etc/hostname")),
            ("/etc/resolv.conf", Path("/run/corral/shop/containers/shop-web-1/etc/resolv.conf")),
        ),
    }
    values.update(changes)
    return ContainerConfig(**values)


def test_process_runs_what_the_config_says() -> None:
    process = render(config(), ROOTFS)["process"]
    assert process["args"] == ["nginx", "-g", "daemon off;"]
    assert process["env"] == ["PATH=/usr/bin:/bin", "HOSTNAME=www"]
    assert process["cwd"] == "/srv"
    assert process["user"] == {"uid": 0, "gid": 0, "additionalGids": [10, 29]}
    assert process["terminal"] is False
    assert process["noNewPrivileges"] is False  # Docker's default


def test_root_gets_exactly_dockers_14_capabilities() -> None:
    capabilities = render(config(uid=0), ROOTFS)["process"]["capabilities"]
    assert set(capabilities) == {"bounding", "effective", "permitted"}
    for kind in ("bounding", "effective", "permitted"):
        assert len(capabilities[kind]) == 14
        assert set(capabilities[kind]) == DOCKER_CAPABILITIES


@pytest.mark.parametrize("uid", [1, 1000, 65534])
def test_a_non_root_user_starts_without_capabilities_but_keeps_the_bounding_set(
    uid: int,
) -> None:
    process = render(config(uid=uid, gid=uid), ROOTFS)["process"]
    assert process["capabilities"]["effective"] == []
    assert process["capabilities"]["permitted"] == []
    assert set(process["capabilities"]["bounding"]) == DOCKER_CAPABILITIES
    assert process["user"]["uid"] == uid
    assert process["noNewPrivileges"] is False  # Docker's default


def test_root_hostname_and_cgroup() -> None:
    document = render(config(), ROOTFS)
    assert document["ociVersion"] == "1.0.2"
    assert document["root"] == {"path": str(ROOTFS), "readonly": False}
    assert document["hostname"] == "www"
    assert document["linux"]["cgroupsPath"] == "corral-shop.web-1"


def test_namespaces_are_fresh_except_the_given_network() -> None:
    namespaces = render(config(), ROOTFS)["linux"]["namespaces"]
    assert sorted(namespaces, key=lambda n: n["type"]) == [
        {"type": "cgroup"},
        {"type": "ipc"},
        {"type": "mount"},
        {"type": "network", "path": "/run/netns/corral-shop.web-1"},
        {"type": "pid"},
        {"type": "uts"},
    ]


def test_no_user_namespace_and_no_host_namespace_shared_by_path() -> None:
    namespaces = render(config(), ROOTFS)["linux"]["namespaces"]
    assert "user" not in {n["type"] for n in namespaces}
    assert [n["type"] for n in namespaces if "path" in n] == ["network"]


def test_dockers_masked_and_readonly_paths() -> None:
    linux = render(config(), ROOTFS)["linux"]
    assert set(linux["maskedPaths"]) >= {
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
        "/sys/firmware",
    }  # fmt: skip
    assert set(linux["readonlyPaths"]) == {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    }  # fmt: skip


def test_no_device_is_allowed_by_default() -> None:
    assert render(config(), ROOTFS)["linux"]["resources"]["devices"] == [
        {"allow": False, "access": "rwm"}
    ]


def test_kernel_mounts() -> None:
    mounts = {m["destination"]: m for m in render(config(), ROOTFS)["mounts"]}
    assert mounts["/proc"]["type"] == "proc"
    assert mounts["/dev"]["type"] == "tmpfs"
    assert mounts["/dev/pts"]["type"] == "devpts"
    assert mounts["/dev/shm"]["type"] == "tmpfs"
    assert "size=67108864" in mounts["/dev/shm"]["options"]
    assert mounts["/dev/mqueue"]["type"] == "mqueue"
    assert mounts["/sys"]["type"] == "sysfs"
    assert "ro" in mounts["/sys"]["options"]
    assert "ro" in mounts["/sys/fs/cgroup"]["options"]
    for destination in ("/proc", "/dev/shm", "/dev/mqueue", "/sys"):
        assert {"nosuid", "noexec", "nodev"} <= set(mounts[destination]["options"])


def test_etc_files_are_bind_mounted_after_the_kernel_mounts() -> None:
    mounts = render(config(), ROOTFS)["mounts"]
    destinations = [m["destination"] for m in mounts]
    assert destinations[-3:] == ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"]
    assert destinations.index("/dev") < destinations.index("/dev/pts")
    assert mounts[-3] == {
        "destination": "/etc/hosts",
        "type": "bind",
        "source": "/run/corral/shop/containers/shop-web-1/etc/hosts",
        "options": ["rbind", "rprivate"],
    }


def test_no_file_mounts_when_none_are_given() -> None:
    mounts = render(config(binds=()), ROOTFS)["mounts"]
    assert [m for m in mounts if m["type"] == "bind"] == []


def test_capabilities_of_one_render_do_not_leak_into_the_next() -> None:
    first = render(config(), ROOTFS)
    first["process"]["capabilities"]["bounding"].append("CAP_SYS_ADMIN")
    first["process"]["capabilities"]["effective"].append("CAP_SYS_ADMIN")
    second = render(config(), ROOTFS)["process"]["capabilities"]
    assert "CAP_SYS_ADMIN" not in second["bounding"]
    assert "CAP_SYS_ADMIN" not in second["effective"]


def test_mounts_of_one_render_do_not_leak_into_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    # a private copy, so that the damage this test shows ends with the test
    monkeypatch.setattr(oci, "_KERNEL_MOUNTS", copy.deepcopy(oci._KERNEL_MOUNTS))
    first = render(config(), ROOTFS)
    first["mounts"][0]["options"].append("rw")
    first["mounts"][1]["source"] = "changed"
    second = render(config(), ROOTFS)
    assert "rw" not in second["mounts"][0]["options"]
    assert second["mounts"][1]["source"] == "tmpfs"


def test_write_bundle_writes_the_rendered_document(tmp_path: Path) -> None:
    bundle = tmp_path / "containers" / "shop-web-1"
    write_bundle(config(), bundle, ROOTFS)
    assert sorted(p.name for p in bundle.iterdir()) == ["config.json"]
    written = json.loads((bundle / "config.json").read_text(encoding="utf-8"))
    assert written == render(config(), ROOTFS)


def test_write_bundle_replaces_an_old_config(tmp_path: Path) -> None:
    write_bundle(config(hostname="old"), tmp_path, ROOTFS)
    write_bundle(config(hostname="new"), tmp_path, ROOTFS)
    written = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))
    assert written["hostname"] == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]
