"""parse_service_volume, parse_tmpfs and parse_devices."""

from pathlib import Path

import pytest

from orchestrator.spec.normalize import (
    BindOptions,
    DeviceMapping,
    ImageOptions,
    ServiceVolume,
    TmpfsOptions,
    VolumeOptions,
    parse_devices,
    parse_service_volume,
    parse_tmpfs,
)
from tests.unit.orchestrator.normalize.expect import normalize_error

PROJECT = Path("/srv/app")
HOME = Path("/home/ann")
SHORT_BIND = BindOptions(create_host_path=True)
V = ServiceVolume


def parse(entry: object) -> ServiceVolume:
    return parse_service_volume(entry, project_dir=PROJECT, home=HOME)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param("/data", V("volume", None, "/data", volume=VolumeOptions()), id="anonymous"),
        pytest.param(
            "db:/var/lib/db", V("volume", "db", "/var/lib/db", volume=VolumeOptions()), id="named"
        ),
        pytest.param(
            "db:/var/lib/db:ro",
            V("volume", "db", "/var/lib/db", read_only=True, volume=VolumeOptions()),
            id="named-read-only",
        ),
        pytest.param(
            "db:/data:nocopy",
            V("volume", "db", "/data", volume=VolumeOptions(nocopy=True)),
            id="named-nocopy",
        ),
        pytest.param(
            "db:/data:z",
            V("volume", "db", "/data", bind=BindOptions(selinux="z"), volume=VolumeOptions()),
            id="named-selinux",
        ),
        pytest.param(
            "./conf:/etc/app",
            V("bind", "/srv/app/conf", "/etc/app", bind=SHORT_BIND),
            id="relative",
        ),
        pytest.param(".:/code", V("bind", "/srv/app", "/code", bind=SHORT_BIND), id="dot"),
        pytest.param(
            "../shared/./x:/x", V("bind", "/srv/shared/x", "/x", bind=SHORT_BIND), id="parent"
        ),
        pytest.param(
            "/etc/hosts:/h", V("bind", "/etc/hosts", "/h", bind=SHORT_BIND), id="absolute"
        ),
        pytest.param(
            "~/.ssh:/ssh", V("bind", "/home/ann/.ssh", "/ssh", bind=SHORT_BIND), id="home"
        ),
        pytest.param("~:/h", V("bind", "/home/ann", "/h", bind=SHORT_BIND), id="home-itself"),
        pytest.param("./a:/b:rw", V("bind", "/srv/app/a", "/b", bind=SHORT_BIND), id="read-write"),
        pytest.param(
            "./a:/b:ro,Z",
            V("bind", "/srv/app/a", "/b", True, bind=BindOptions(None, True, "Z")),
            id="read-only-selinux-private",
        ),
        pytest.param(
            "./a:/b:z",
            V("bind", "/srv/app/a", "/b", bind=BindOptions(None, True, "z")),
            id="selinux-shared",
        ),
        pytest.param(
            "./a:/b:rslave",
            V("bind", "/srv/app/a", "/b", bind=BindOptions("rslave", True)),
            id="propagation",
        ),
        pytest.param(
            "./a:/b:cached",
            V("bind", "/srv/app/a", "/b", consistency="cached", bind=SHORT_BIND),
            id="cached",
        ),
        pytest.param(
            "./a:/b:ro,delegated",
            V("bind", "/srv/app/a", "/b", True, "delegated", bind=SHORT_BIND),
            id="read-only-delegated",
        ),
        pytest.param(
            "./a:/b:consistent",
            V("bind", "/srv/app/a", "/b", consistency="consistent", bind=SHORT_BIND),
            id="consistent",
        ),
        pytest.param(
            "./a:/b/", V("bind", "/srv/app/a", "/b", bind=SHORT_BIND), id="target-cleaned"
        ),
    ],
)
def test_short_syntax(entry: str, expected: ServiceVolume) -> None:
    assert parse(entry) == expected


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param(
            {"type": "volume", "source": "db", "target": "/data"},
            V("volume", "db", "/data", volume=VolumeOptions()),
            id="volume",
        ),
        pytest.param(
            {"type": "volume", "target": "/data"},
            V("volume", None, "/data", volume=VolumeOptions()),
            id="anonymous-volume",
        ),
        pytest.param(
            {
                "type": "volume",
                "source": "db",
                "target": "/data",
                "read_only": True,
                "volume": {"nocopy": True, "subpath": "sub"},
            },
            V("volume", "db", "/data", True, volume=VolumeOptions(True, "sub")),
            id="volume-options",
        ),
        pytest.param(
            {"type": "bind", "source": "./static", "target": "/static"},
            V("bind", "/srv/app/static", "/static", bind=BindOptions()),
            id="bind-without-options-creates-nothing",
        ),
        pytest.param(
            {"type": "bind", "source": "~/x", "target": "/x", "bind": {"selinux": "z"}},
            V("bind", "/home/ann/x", "/x", bind=BindOptions(None, True, "z")),
            id="bind-section-creates-host-path",
        ),
        pytest.param(
            {
                "type": "bind",
                "source": "/var/run/docker.sock",
                "target": "/var/run/docker.sock",
                "read_only": "true",
                "consistency": "cached",
                "bind": {
                    "propagation": "rshared",
                    "create_host_path": False,
                    "recursive": "readonly",
                },
            },
            V(
                "bind",
                "/var/run/docker.sock",
                "/var/run/docker.sock",
                True,
                "cached",
                bind=BindOptions("rshared", False, None, "readonly"),
            ),
            id="bind-options",
        ),
        pytest.param(
            {"type": "tmpfs", "target": "/tmp"},
            V("tmpfs", None, "/tmp", tmpfs=TmpfsOptions()),
            id="tmpfs",
        ),
        pytest.param(
            {"type": "tmpfs", "target": "/tmp", "tmpfs": {"size": "64m", "mode": 0o1777}},
            V("tmpfs", None, "/tmp", tmpfs=TmpfsOptions(64 << 20, 0o1777)),
            id="tmpfs-options",
        ),
        pytest.param(
            {"type": "tmpfs", "target": "/tmp", "tmpfs": {"size": 1024, "mode": "1777"}},
            V("tmpfs", None, "/tmp", tmpfs=TmpfsOptions(1024, 0o1777)),
            id="tmpfs-mode-as-octal-text",
        ),
        pytest.param(
            {"type": "image", "source": "alpine", "target": "/mnt", "image": {"subpath": "etc"}},
            V("image", "alpine", "/mnt", image=ImageOptions("etc")),
            id="image",
        ),
        pytest.param(
            {"type": "npipe", "source": "pipe", "target": "/p"},
            V("npipe", "pipe", "/p"),
            id="npipe",
        ),
        pytest.param(
            {"type": "cluster", "source": "c", "target": "/c"},
            V("cluster", "c", "/c"),
            id="cluster",
        ),
    ],
)
def test_long_syntax(entry: object, expected: ServiceVolume) -> None:
    assert parse(entry) == expected


@pytest.mark.parametrize(
    ("entry", "message", "path"),
    [
        pytest.param("", "an empty string is not a volume", (), id="empty"),
        pytest.param("data", "'data' is not an absolute path in the container", (), id="relative"),
        pytest.param(
            "a:/b:ro:z",
            "'a:/b:ro:z' has too many colons; expected SOURCE:TARGET:MODES",
            (),
            id="too-many-colons",
        ),
        pytest.param(
            "a::/b", "'a::/b' has an empty part; expected SOURCE:TARGET:MODES", (), id="empty-part"
        ),
        pytest.param(
            "a:b", "'b' is not an absolute path in the container", (), id="relative-target"
        ),
        pytest.param(
            "./a:/b:rx",
            "'rx' is not a volume mode; expected ro, rw, nocopy, z, Z, rprivate, private,"
            " rshared, shared, rslave, slave, consistent, cached, delegated",
            (),
            id="unknown-mode",
        ),
        pytest.param(
            "./a:/b:nocopy",
            "'./a:/b:nocopy': nocopy applies to volumes, not to bind mounts",
            (),
            id="nocopy-bind",
        ),
        pytest.param(42, "42 is not a volume; expected a string or a mapping", (), id="wrong-type"),
        pytest.param({"target": "/x"}, "a volume mapping needs 'type'", (), id="no-type"),
        pytest.param(
            {"type": "disk", "target": "/x"},
            "'disk' is not one of bind, volume, tmpfs, npipe, cluster, image",
            ("type",),
            id="bad-type",
        ),
        pytest.param({"type": "volume"}, "a volume mapping needs 'target'", (), id="no-target"),
        pytest.param(
            {"type": "volume", "target": "x"},
            "'x' is not an absolute path in the container",
            ("target",),
            id="relative-target-long",
        ),
        pytest.param(
            {"type": "bind", "target": "/x"},
            "a volume of type bind needs 'source'",
            (),
            id="bind-no-source",
        ),
        pytest.param(
            {"type": "tmpfs", "source": "t", "target": "/x"},
            "a volume of type tmpfs takes no 'source'",
            ("source",),
            id="tmpfs-source",
        ),
        pytest.param(
            {"type": "volume", "target": "/x", "bind": {}},
            "'bind' options apply to type bind, not volume",
            ("bind",),
            id="options-of-another-type",
        ),
        pytest.param(
            {"type": "bind", "source": ".", "target": "/x", "bind": {"propagation": "up"}},
            "'up' is not one of rprivate, private, rshared, shared, rslave, slave",
            ("bind", "propagation"),
            id="propagation",
        ),
        pytest.param(
            {"type": "bind", "source": ".", "target": "/x", "bind": {"selinux": "y"}},
            "'y' is not one of z, Z",
            ("bind", "selinux"),
            id="selinux",
        ),
        pytest.param(
            {"type": "bind", "source": ".", "target": "/x", "bind": {"create_host_path": 2}},
            "2 is not a boolean (true or false)",
            ("bind", "create_host_path"),
            id="create-host-path",
        ),
        pytest.param(
            {"type": "tmpfs", "target": "/x", "tmpfs": {"size": "lots"}},
            "'lots' is not a size such as 512m, 1gb or 1024",
            ("tmpfs", "size"),
            id="tmpfs-size",
        ),
        pytest.param(
            {"type": "tmpfs", "target": "/x", "tmpfs": {"mode": "rwx"}},
            "'rwx' is not a file mode such as 0440",
            ("tmpfs", "mode"),
            id="tmpfs-mode",
        ),
        pytest.param(
            {"type": "volume", "target": "/x", "volume": {"nocopy": "maybe"}},
            "'maybe' is not a boolean (true or false)",
            ("volume", "nocopy"),
            id="nocopy",
        ),
        pytest.param(
            {"type": "volume", "target": "/x", "size": 1},
            "unknown key 'size' in a volume mapping; expected bind, consistency, image,"
            " read_only, source, target, tmpfs, type, volume",
            ("size",),
            id="unknown-key",
        ),
    ],
)
def test_errors(entry: object, message: str, path: tuple[str | int, ...]) -> None:
    with normalize_error(message, path):
        parse(entry)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("/run", ("/run",), id="string"),
        pytest.param(
            ["/run", "/tmp:size=64m,mode=1777"], ("/run", "/tmp:size=64m,mode=1777"), id="list"
        ),  # fmt: skip
    ],
)
def test_tmpfs(value: object, expected: tuple[str, ...]) -> None:
    assert parse_tmpfs(value) == expected


@pytest.mark.parametrize(
    ("value", "message", "path"),
    [
        pytest.param("run", "'run' is not an absolute path in the container", (), id="string"),
        pytest.param(
            ["/run", "tmp"], "'tmp' is not an absolute path in the container", (1,), id="list"
        ),
        pytest.param(
            ["/run", 1], "'1' is not an absolute path in the container", (1,), id="number"
        ),
        pytest.param(
            {"/run": 1}, "{'/run': 1} is not a list; expected a list of paths", (), id="mapping"
        ),  # fmt: skip
    ],
)
def test_tmpfs_errors(value: object, message: str, path: tuple[str | int, ...]) -> None:
    with normalize_error(message, path):
        parse_tmpfs(value)


D = DeviceMapping


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param("/dev/fuse", D("/dev/fuse", "/dev/fuse"), id="source"),
        pytest.param("/dev/a:/dev/b", D("/dev/a", "/dev/b"), id="source-target"),
        pytest.param("/dev/a:r", D("/dev/a", "/dev/a", "r"), id="source-permissions"),
        pytest.param("/dev/a:/dev/b:rw", D("/dev/a", "/dev/b", "rw"), id="all-three"),
        pytest.param(
            "nvidia.com/gpu=all", D("nvidia.com/gpu=all", "nvidia.com/gpu=all"), id="cdi-name"
        ),  # fmt: skip
        pytest.param({"source": "/dev/a"}, D("/dev/a", "/dev/a"), id="long-source"),
        pytest.param(
            {"source": "/dev/a", "target": "/dev/b", "permissions": "mr"},
            D("/dev/a", "/dev/b", "mr"),
            id="long-all",
        ),
    ],
)
def test_devices(entry: object, expected: DeviceMapping) -> None:
    assert parse_devices([entry]) == (expected,)


@pytest.mark.parametrize(
    ("entries", "message", "path"),
    [
        pytest.param(
            ["/dev/a", "/dev/a:/dev/b:rwx"],
            "'rwx' is not device permissions (r, w, m, as rwm)",
            (1,),
            id="permissions",
        ),
        pytest.param(
            ["/dev/a:/dev/b:rw:x"],
            "'/dev/a:/dev/b:rw:x' is not a device; expected SOURCE[:TARGET][:PERMISSIONS]",
            (0,),
            id="too-many-parts",
        ),
        pytest.param(
            [{"target": "/dev/b"}], "a device mapping needs 'source'", (0,), id="long-no-source"
        ),
        pytest.param(
            [{"source": "/dev/a", "permissions": "rr"}],
            "'rr' is not device permissions (r, w, m, as rwm)",
            (0, "permissions"),
            id="long-permissions",
        ),
        pytest.param(
            [7], "7 is not a device; expected a string or a mapping", (0,), id="wrong-type"
        ),
        pytest.param("/dev/a", "'/dev/a' is not a list of devices", (), id="not-a-list"),
    ],
)
def test_device_errors(entries: object, message: str, path: tuple[str | int, ...]) -> None:
    with normalize_error(message, path):
        parse_devices(entries)
