"""The translated profiles, loaded by the real runtimes into a busybox
container made from Corral's own config.json."""

import ctypes
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from runtime.engine import Engine, become_subreaper
from runtime.isolation import DEFAULT_CAPABILITIES
from runtime.oci import ContainerConfig, render
from runtime.seccomp import DEFAULT_PROFILE, load_profile, oci_seccomp
from tests.integration.stack_helpers import REPO, RUNTIMES

pytestmark = [
    pytest.mark.root,
    pytest.mark.timeout(60),
    pytest.mark.skipif(not DEFAULT_PROFILE.exists(), reason=f"{DEFAULT_PROFILE} is missing"),
    pytest.mark.parametrize("runtime", RUNTIMES),
]

NAME = "corral-test-seccomp"
RENAME = ("unshare", "-U", "-r", "-u", "hostname", "renamed")
"""Set a host name in a new user and UTS namespace: the kernel allows it, a
filter that refuses sethostname without CAP_SYS_ADMIN does not."""
_PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("seccomp")
    tarball, root = base / "busybox.tar", base / "rootfs"
    subprocess.run([str(REPO / "specs/busybox-rootfs.sh"), str(tarball)], check=True, timeout=60)
    root.mkdir()
    subprocess.run(["tar", "-C", str(root), "-xf", str(tarball)], check=True, timeout=60)
    return root


@pytest.fixture
def subreaper() -> Iterator[None]:
    """The container's first process becomes ours to reap, for this test only."""
    become_subreaper()
    yield
    ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


async def run(
    runtime: str,
    tmp_path: Path,
    rootfs: Path,
    args: tuple[str, ...],
    seccomp: dict[str, Any] | None,
    capabilities: frozenset[str] = frozenset(DEFAULT_CAPABILITIES),
) -> tuple[int, str]:
    """Run `args` in a container to its exit: its exit code and output."""
    engine = Engine(tmp_path / "state", binary=runtime)
    config = ContainerConfig(
        args=args, env=("PATH=/bin",), cwd="/", uid=0, gid=0, additional_gids=(),
        hostname="seccomp", netns=Path("/unused"), cgroup_path=engine.cgroups_path(NAME),
    )  # fmt: skip
    document = render(config, rootfs)
    document["linux"]["namespaces"] = [
        {"type": kind} for kind in ("pid", "ipc", "uts", "mount", "cgroup", "network")
    ]
    document["process"]["capabilities"] = dict.fromkeys(
        ("bounding", "effective", "permitted"), sorted(capabilities)
    )
    if seccomp is not None:
        document["linux"]["seccomp"] = seccomp
    bundle = tmp_path / "bundle"
    bundle.mkdir(exist_ok=True)
    (bundle / "config.json").write_text(json.dumps(document))
    read_end, write_end = os.pipe()
    output = trio.lowlevel.FdStream(read_end)
    try:
        with trio.fail_after(30):
            try:
                process = await engine.run(NAME, bundle, stdout=write_end, stderr=write_end)
            finally:
                os.close(write_end)
            code = await process.wait()
            chunks = []
            while chunk := await output.receive_some():
                chunks.append(chunk)
    finally:
        await output.aclose()
        with trio.move_on_after(10) as cleanup:
            cleanup.shield = True
            await engine.delete(NAME)
    return code, b"".join(chunks).decode()


def default_filter(capabilities: frozenset[str] = frozenset(DEFAULT_CAPABILITIES)) -> Any:
    return oci_seccomp(load_profile(), capabilities)


@pytest.mark.usefixtures("subreaper")
async def test_a_container_runs_under_the_default_filter(
    runtime: str, tmp_path: Path, rootfs: Path
) -> None:
    script = "grep Seccomp: /proc/self/status && ls /bin/busybox && cat /proc/self/comm"
    result = await run(runtime, tmp_path, rootfs, ("sh", "-c", script), default_filter())
    assert result == (0, "Seccomp:\t2\n/bin/busybox\ncat\n")


@pytest.mark.usefixtures("subreaper")
async def test_the_default_filter_refuses_what_the_capabilities_do_not_allow(
    runtime: str, tmp_path: Path, rootfs: Path
) -> None:
    assert await run(runtime, tmp_path, rootfs, RENAME, None) == (0, "")
    assert await run(runtime, tmp_path, rootfs, RENAME, default_filter()) == (
        1,
        "hostname: sethostname: Operation not permitted\n",
    )
    admin = frozenset({*DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"})
    assert await run(runtime, tmp_path, rootfs, RENAME, default_filter(admin), admin) == (0, "")


@pytest.mark.usefixtures("subreaper")
async def test_a_profile_like_dockers_refuses_unshare_without_cap_sys_admin(
    runtime: str, tmp_path: Path, rootfs: Path
) -> None:
    """The default profile (Podman's) leaves unshare to the kernel; Docker's
    refuses it to a container without CAP_SYS_ADMIN, as this one does."""
    profile = tmp_path / "docker-like.json"
    profile.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{
            "names": ["unshare", "setns", "mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
            "excludes": {"caps": ["CAP_SYS_ADMIN"]},
        }],
    }))  # fmt: skip
    args = ("sh", "-c", "unshare -U -r true; echo $?")
    assert await run(runtime, tmp_path, rootfs, args, None) == (0, "0\n")
    docker = oci_seccomp(load_profile(profile), DEFAULT_CAPABILITIES)
    code, output = await run(runtime, tmp_path, rootfs, args, docker)
    assert (code, output.splitlines()[-1]) == (0, "1")
    assert "Operation not permitted" in output
    admin = frozenset({*DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"})
    with_admin = oci_seccomp(load_profile(profile), admin)
    assert await run(runtime, tmp_path, rootfs, args, with_admin, admin) == (0, "0\n")
