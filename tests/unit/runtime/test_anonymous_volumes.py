"""Anonymous volumes for an image's Volumes: filled from the image once,
reused across starts, and never reaching outside the root filesystem."""

import os
from pathlib import Path, PurePosixPath

import pytest

from runtime.errors import ContainerRuntimeError
from runtime.volumes import prepare_volumes, resolve_in_root

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    data = root / "srv/data"
    data.mkdir(parents=True)
    (data / "seed.txt").write_text("seed\n")
    (data / "link").symlink_to("seed.txt")
    (root / "etc").mkdir()
    (root / "etc/secret").write_text("of the image\n")
    return root


@needs_root
def test_a_new_volume_holds_the_images_content_with_its_ownership(
    rootfs: Path, tmp_path: Path
) -> None:
    data = rootfs / "srv/data"
    os.chown(data / "seed.txt", 1000, 1001)
    os.chown(data, 70, 70)
    data.chmod(0o700)

    [(inside, volume)] = prepare_volumes(["/srv/data"], rootfs, tmp_path / "volumes")

    assert inside == "/srv/data"
    assert volume.parent == tmp_path / "volumes"
    assert (volume / "seed.txt").read_text() == "seed\n"
    assert os.readlink(volume / "link") == "seed.txt"
    seed = (volume / "seed.txt").stat()
    assert (seed.st_uid, seed.st_gid) == (1000, 1001)
    status = volume.stat()
    assert (status.st_uid, status.st_gid, status.st_mode & 0o777) == (70, 70, 0o700)


def test_a_volume_is_reused_as_it_is_on_the_next_start(rootfs: Path, tmp_path: Path) -> None:
    [(_, volume)] = prepare_volumes(["/srv/data"], rootfs, tmp_path / "volumes")
    (volume / "seed.txt").unlink()
    (volume / "written-by-the-container").write_text("kept\n")

    [(_, again)] = prepare_volumes(["/srv/data"], rootfs, tmp_path / "volumes")

    assert again == volume
    assert sorted(p.name for p in again.iterdir()) == ["link", "written-by-the-container"]


def test_a_path_missing_from_the_image_gets_an_empty_volume(rootfs: Path, tmp_path: Path) -> None:
    [(inside, volume)] = prepare_volumes(["/var/cache/app"], rootfs, tmp_path / "volumes")
    assert inside == "/var/cache/app"
    assert list(volume.iterdir()) == []


def test_a_symlink_in_the_image_is_followed_inside_the_root(rootfs: Path, tmp_path: Path) -> None:
    (rootfs / "data").symlink_to("/etc")  # absolute: the container's /etc, not the host's
    (rootfs / "up").symlink_to("../../../../etc")

    assert resolve_in_root(rootfs, "/data") == PurePosixPath("/etc")
    assert resolve_in_root(rootfs, "/up/../srv/./data") == PurePosixPath("/srv/data")
    [(inside, volume)] = prepare_volumes(["/data"], rootfs, tmp_path / "volumes")
    assert inside == "/etc"
    assert sorted(p.name for p in volume.iterdir()) == ["secret"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("srv/data", "image volume 'srv/data' is not an absolute path"),
        ("/etc/secret", "image volume '/etc/secret' is not a directory in the image"),
        ("/loop", "image volume '/loop': too many symbolic links"),
    ],
)
def test_paths_that_cannot_be_volumes_are_refused(
    rootfs: Path, tmp_path: Path, path: str, message: str
) -> None:
    (rootfs / "loop").symlink_to("/loop")
    with pytest.raises(ContainerRuntimeError) as caught:
        prepare_volumes([path], rootfs, tmp_path / "volumes")
    assert str(caught.value) == message
    assert not (tmp_path / "volumes").exists() or list((tmp_path / "volumes").iterdir()) == []
