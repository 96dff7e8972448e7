import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.errors import MountError
from runtime.rootfs import mount_overlay, mounts_under, unmount

pytestmark = [pytest.mark.root, pytest.mark.timeout(30)]


@pytest.fixture
def base(tmp_path: Path) -> Iterator[Path]:
    """A test directory that holds no mount once the test is over."""
    yield tmp_path
    for point in mounts_under(tmp_path):
        unmount(point)
    assert mounts_under(tmp_path) == []
    assert f" {tmp_path}" not in Path("/proc/self/mountinfo").read_text()


def make_layers(base: Path) -> list[Path]:
    """Two layers, lowest first."""
    lower, higher = base / "layers/lower", base / "layers/higher"
    for layer in (lower, higher):
        (layer / "dir").mkdir(parents=True)
    (lower / "only-lower").write_text("lower")
    (lower / "shared").write_text("from lower")
    (lower / "dir/one").write_text("1")
    (higher / "only-higher").write_text("higher")
    (higher / "shared").write_text("from higher")
    (higher / "dir/two").write_text("2")
    return [lower, higher]


def snapshot(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): path.read_text()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def mount_count(target: Path) -> int:
    """How many mounts sit on `target` (mountinfo escapes spaces as \\040)."""
    escaped = str(target).replace(" ", "\\040")
    return sum(
        line.split(" ")[4] == escaped
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
    )


def test_overlay_merges_layers_and_writes_to_upper(base: Path) -> None:
    layers = make_layers(base)
    before = [snapshot(layer) for layer in layers]
    upper, work, target = base / "c/upper", base / "c/work", base / "c/rootfs"

    mount_overlay(layers, upper, work, target)

    assert os.path.ismount(target)
    assert snapshot(target) == {
        "dir/one": "1",
        "dir/two": "2",
        "only-higher": "higher",
        "only-lower": "lower",
        "shared": "from higher",
    }
    (target / "new").write_text("written")
    (target / "only-lower").write_text("changed")
    (target / "dir/two").unlink()
    assert snapshot(upper) == {"new": "written", "only-lower": "changed"}
    assert [snapshot(layer) for layer in layers] == before


def test_mount_overlay_twice_mounts_once(base: Path) -> None:
    layers = make_layers(base)
    target = base / "rootfs"

    mount_overlay(layers, base / "upper", base / "work", target)
    mount_overlay(layers, base / "upper", base / "work", target)

    assert mount_count(target) == 1


def test_mounts_under_lists_mounts_deepest_first(base: Path) -> None:
    layers = make_layers(base)
    # Characters that mountinfo escapes, and that overlay options escape.
    top = base / "odd name:with,commas\\"
    mount_overlay(layers, top / "upper", top / "work", top / "rootfs")
    nested = top / "rootfs/dir/nested"
    mount_overlay(layers, base / "n/upper", base / "n/work", nested)

    assert (nested / "only-lower").read_text() == "lower"
    assert mounts_under(base) == [nested, top / "rootfs"]
    assert mounts_under(nested) == [nested]
    assert mounts_under(top / "upper") == []
    assert (top / "upper/dir/nested").is_dir()


def test_unmount_removes_the_mount_and_is_idempotent(base: Path) -> None:
    layers = make_layers(base)
    target = base / "rootfs"
    mount_overlay(layers, base / "upper", base / "work", target)

    unmount(target)

    assert not os.path.ismount(target)
    assert mounts_under(base) == []
    assert list(target.iterdir()) == []
    unmount(target)
    unmount(base / "missing")
    unmount(base / "missing/below")


def test_unmount_detaches_a_busy_mount(base: Path) -> None:
    target = base / "rootfs"
    mount_overlay(make_layers(base), base / "upper", base / "work", target)

    with (target / "shared").open() as busy:
        unmount(target)
        assert mounts_under(base) == []
        assert busy.read() == "from higher"


def test_unmount_removes_stacked_mounts(base: Path) -> None:
    target = base / "rootfs"
    mount_overlay(make_layers(base), base / "upper", base / "work", target)
    subprocess.run(["mount", "-t", "tmpfs", "corral-test", str(target)], check=True, timeout=10)
    assert mount_count(target) == 2

    unmount(target)

    assert mount_count(target) == 0


def test_mount_overlay_errors_name_the_target(base: Path) -> None:
    target = base / "rootfs"
    missing = f"cannot mount overlay on {target}: No such file or directory"
    with pytest.raises(MountError, match=f"^{re.escape(missing)}$"):
        mount_overlay([base / "no-such-layer"], base / "upper", base / "work", target)
    with pytest.raises(MountError, match=f"^cannot mount overlay on {target}: no layers given$"):
        mount_overlay([], base / "upper", base / "work", target)
    many = [base / f"layer-{n:04}-{'x' * 40}" for n in range(100)]
    with pytest.raises(
        MountError,
        match=rf"^cannot mount overlay on {target}: its options take \d+ bytes,"
        rf" more than the \d+ mount\(2\) accepts$",
    ):
        mount_overlay(many, base / "upper", base / "work", target)
    assert mounts_under(base) == []


def test_unmount_error_names_the_target(base: Path) -> None:
    """Only EINVAL and ENOENT mean "nothing to unmount"; other failures are errors."""
    target = base / ("x" * 300)  # a path component longer than NAME_MAX
    with pytest.raises(MountError, match=f"^cannot unmount {target}: File name too long$"):
        unmount(target)
