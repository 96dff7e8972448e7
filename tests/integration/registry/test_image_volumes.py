"""An image's Volumes: each path gets an anonymous volume, filled from the
image, mounted in the container, and removed with the container."""

from pathlib import Path

import pytest

from tests.integration.registry.conftest import Registry, needs_registry
from tests.integration.registry.oci_builder import Layout, layer_tar
from tests.integration.stack_helpers import Corral

pytestmark = [needs_registry, pytest.mark.timeout(120)]


def test_each_image_volume_is_a_mount_filled_from_the_image(
    corral: Corral, registry: Registry, busybox_layer: bytes, tmp_path: Path
) -> None:
    layout = Layout(tmp_path / "layout")
    layers = [busybox_layer, layer_tar({"srv/data/seed": b"seeded\n"}, dirs=("srv", "srv/data"))]
    config = {"Cmd": ["sleep", "1000"], "Volumes": {"/srv/data": {}, "/cache": {}}}
    layout.tag(layout.image(layers, config=config), "v1")
    reference = f"{registry.repository('volumes')}:v1"
    registry.push(layout, "v1", reference)
    corral.write(f"services:\n  app:\n    image: {reference}\n")

    started = corral("up", "-d")
    assert started.returncode == 0, started.stderr
    try:
        script = (
            "awk '{print $5}' /proc/self/mountinfo | grep -E '^/(srv/data|cache)$' | sort;"
            " cat /srv/data/seed; ls -A /cache; echo written > /srv/data/new"
        )
        shown = corral("exec", "app", "sh", "-c", script)
        assert (shown.returncode, shown.stdout) == (0, "/cache\n/srv/data\nseeded\n")
        volumes = corral.data_root / "containers" / corral.project / f"{corral.project}-app-1"
        [data] = [v for v in (volumes / "volumes").iterdir() if v.name.startswith("srv-data-")]
        assert (data / "new").read_text() == "written\n"
        assert not (volumes / "upper/srv/data/new").exists()  # not in the overlay
    finally:
        assert corral("down").returncode == 0
