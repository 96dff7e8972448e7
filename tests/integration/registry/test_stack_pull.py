"""A stack whose images come from a registry: `up` pulls what is missing,
`corral pull` refreshes, `pull_policy` and `--pull` decide, and a container
started from a pulled image sees exactly the files its layers describe."""

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.registry.conftest import Registry, needs_registry
from tests.integration.registry.oci_builder import Layout, layer_tar
from tests.integration.stack_helpers import Corral

pytestmark = [needs_registry, pytest.mark.timeout(180)]


def push_app(
    registry: Registry,
    layout_dir: Path,
    busybox_layer: bytes,
    tag: str,
    motd: bytes,
    config: dict[str, Any] | None = None,
) -> str:
    """A three-layer image: busybox; /srv with two files; a layer deleting one."""
    layout = Layout(layout_dir)
    layers = [
        busybox_layer,
        layer_tar({"srv/keep": b"kept\n", "srv/gone": b"x"}, dirs=("srv",)),
        layer_tar({"srv/.wh.gone": None, "etc/motd": motd}),
    ]
    layout.tag(layout.image(layers, config={"Cmd": ["sleep", "1000"], **(config or {})}), tag)
    reference = f"{registry.repository('stack')}:{tag}"
    registry.push(layout, tag, reference)
    return reference


def up_and_down(corral: Corral, *args: str) -> str:
    """`up -d` then the web container's /etc/motd, then `down`."""
    started = corral("up", "-d", *args)
    assert started.returncode == 0, started.stderr
    try:
        shown = corral("exec", "web", "cat", "/etc/motd")
        assert shown.returncode == 0, shown.stderr
        return shown.stdout
    finally:
        assert corral("down").returncode == 0


def test_up_pulls_a_missing_image_and_the_container_sees_its_layers(
    corral: Corral, registry: Registry, busybox_layer: bytes, tmp_path: Path
) -> None:
    reference = push_app(registry, tmp_path / "layout", busybox_layer, "v1", b"hello\n")
    corral.write(f"services:\n  web:\n    image: {reference}\n")

    started = corral("up", "-d")
    assert started.returncode == 0, started.stderr
    try:
        # Layers other tests pulled into the shared store are reported as present.
        done = started.stdout.count(": pull complete")
        assert done >= 1  # the top layer (this test's motd) is new
        assert done + started.stdout.count(": already exists") == 3
        listing = corral("exec", "web", "ls", "-A", "/srv")
        assert (listing.returncode, listing.stdout) == (0, "keep\n")
        assert corral("exec", "web", "cat", "/srv/keep", "/etc/motd").stdout == "kept\nhello\n"
    finally:
        assert corral("down").returncode == 0
    images = corral("images")
    assert any(line.startswith(reference) for line in images.stdout.splitlines())


def test_corral_pull_pulls_each_image_once_and_skips_never(
    corral: Corral, registry: Registry, busybox_layer: bytes, tmp_path: Path
) -> None:
    reference = push_app(registry, tmp_path / "layout", busybox_layer, "v1", b"hi\n")
    absent = f"{registry.repository('absent')}:v1"
    corral.write(
        "services:\n"
        f"  a:\n    image: {reference}\n"
        f"  b:\n    image: {reference}\n"
        f"  c:\n    image: {absent}\n    pull_policy: never\n"
    )
    pulled = corral("pull", "-q")
    assert pulled.returncode == 0, pulled.stderr
    [line] = pulled.stdout.splitlines()
    assert line.startswith(f"{reference} sha256:")
    assert corral("image", "inspect", absent).returncode == 1


def test_up_pull_always_takes_the_moved_tag_and_missing_does_not(
    corral: Corral, registry: Registry, busybox_layer: bytes, tmp_path: Path
) -> None:
    repository = registry.repository("moving")
    first = push_app(registry, tmp_path / "one", busybox_layer, "v1", b"first\n")
    second = push_app(registry, tmp_path / "two", busybox_layer, "v1", b"second\n")
    _retag(registry, first, f"{repository}:v1")
    corral.write(f"services:\n  web:\n    image: {repository}:v1\n")
    assert up_and_down(corral) == "first\n"

    _retag(registry, second, f"{repository}:v1")
    assert up_and_down(corral) == "first\n"  # missing: the stored image is used
    assert up_and_down(corral, "--pull", "always") == "second\n"


def _retag(registry: Registry, source: str, target: str) -> None:
    subprocess.run(
        ["skopeo", "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false",
         f"docker://{source}", f"docker://{target}"],
        check=True, timeout=60, capture_output=True,
    )  # fmt: skip


def test_pull_policy_never_names_the_file_and_line_and_starts_nothing(
    corral: Corral, registry: Registry
) -> None:
    absent = f"{registry.repository('absent')}:v1"
    file = corral.write(f"services:\n  web:\n    image: {absent}\n    pull_policy: never\n")
    refused = corral("up", "-d")
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"corral: {file}:3:5: services.web.image: ")
    assert "pull_policy is never" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert corral.ps() == {}


def test_an_unknown_tag_names_the_reference_and_starts_nothing(
    corral: Corral, registry: Registry, busybox_layer: bytes, tmp_path: Path
) -> None:
    reference = push_app(registry, tmp_path / "layout", busybox_layer, "v1", b"hi\n")
    unknown = reference.replace(":v1", ":v9")
    file = corral.write(
        f"services:\n  web:\n    image: {reference}\n  api:\n    image: {unknown}\n"
    )
    refused = corral("up", "-d")
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"corral: {file}:5:5: services.api.image: ")
    assert unknown in refused.stderr
    assert "Traceback" not in refused.stderr
    assert corral.ps() == {}


def test_the_images_stop_signal_stops_the_container(
    corral: Corral, registry: Registry, busybox_layer: bytes, tmp_path: Path
) -> None:
    config = {"StopSignal": "SIGUSR1"}
    reference = push_app(registry, tmp_path / "layout", busybox_layer, "v1", b"hi\n", config)
    corral.write(
        f"services:\n  polite:\n    image: {reference}\n"
        "    command: [sh, -c, \"trap 'echo got-usr1; exit 0' USR1; sleep 1000 & wait\"]\n"
    )
    pulled = corral("pull", "-q")
    assert pulled.returncode == 0, pulled.stderr
    code, stdout, stderr = corral.run_foreground_until_interrupted(services=1)
    assert code == 0, stderr
    assert re.search(rf"^{corral.project}-polite-1 +\| got-usr1$", stdout, re.MULTILINE)
    assert "grace period over" not in stderr


def test_the_images_healthcheck_runs_under_what_the_spec_says(
    corral: Corral, registry: Registry, busybox_layer: bytes, tmp_path: Path
) -> None:
    second = 1_000_000_000  # Docker stores durations in nanoseconds
    config = {"Healthcheck": {"Test": ["CMD", "true"], "Interval": second, "Retries": 1}}
    reference = push_app(registry, tmp_path / "layout", busybox_layer, "v1", b"hi\n", config)
    idle = "    command: [sh, -c, \"trap 'exit 0' TERM; sleep 1000 & wait\"]\n"
    corral.write(
        f"services:\n  imaged:\n    image: {reference}\n{idle}"
        f"  disabled:\n    image: {reference}\n{idle}    healthcheck: {{disable: true}}\n"
        f"  failing:\n    image: {reference}\n{idle}"
        "    healthcheck: {test: [CMD-SHELL, exit 1]}\n"  # the image's interval and retries
    )
    started = corral("up", "-d")
    assert started.returncode == 0, started.stderr
    try:
        rows = corral.wait_for(
            lambda r: (r["imaged"]["Health"], r["failing"]["Health"]) == ("healthy", "unhealthy")
        )
        assert rows["disabled"]["Health"] == ""
    finally:
        assert corral("down").returncode == 0
