"""Service `volumes`, `tmpfs` and `devices`: short and long syntax as one form.

The short syntax follows compose-go's `format.ParseVolume`: a source that
starts with ".", "/" or "~" is a bind mount (and, for backward compatibility
with the legacy docker-compose, creates a missing host path), any other
source names a volume, and a lone path is an anonymous volume. Sources of
bind mounts are made absolute: "~" against the home directory, relative
paths against the project directory. Windows drive letters and named pipes
in the short syntax are not recognised: Corral runs on Linux.
"""

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from orchestrator.spec.normalize import values as _values
from orchestrator.spec.normalize._errors import NormalizeError
from orchestrator.spec.normalize.units import parse_size

VolumeType = Literal["bind", "volume", "tmpfs", "npipe", "cluster", "image"]
Propagation = Literal["rprivate", "private", "rshared", "shared", "rslave", "slave"]
SELinuxLabel = Literal["z", "Z"]
Recursive = Literal["enabled", "disabled", "writable", "readonly"]

_TYPES: tuple[VolumeType, ...] = ("bind", "volume", "tmpfs", "npipe", "cluster", "image")
_PROPAGATIONS: tuple[Propagation, ...] = (
    "rprivate", "private", "rshared", "shared", "rslave", "slave",
)  # fmt: skip
_SELINUX: tuple[SELinuxLabel, ...] = ("z", "Z")
_RECURSIVE: tuple[Recursive, ...] = ("enabled", "disabled", "writable", "readonly")
_CONSISTENCIES = ("consistent", "cached", "delegated")
_SHORT_OPTIONS = ("ro", "rw", "nocopy", *_SELINUX, *_PROPAGATIONS, *_CONSISTENCIES)

_LONG_KEYS = frozenset(
    {"type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs", "image"}
)
_BIND_KEYS = frozenset({"propagation", "create_host_path", "selinux", "recursive"})
_VOLUME_KEYS = frozenset({"nocopy", "subpath"})
_TMPFS_KEYS = frozenset({"size", "mode"})
_IMAGE_KEYS = frozenset({"subpath"})
_DEVICE_KEYS = frozenset({"source", "target", "permissions"})
_SOURCE_REQUIRED = frozenset({"bind", "npipe", "image"})


@dataclass(frozen=True)
class BindOptions:
    propagation: Propagation | None = None
    create_host_path: bool = False
    selinux: SELinuxLabel | None = None
    recursive: Recursive | None = None


@dataclass(frozen=True)
class VolumeOptions:
    nocopy: bool = False
    subpath: str | None = None


@dataclass(frozen=True)
class TmpfsOptions:
    size: int | None = None
    """Bytes."""
    mode: int | None = None
    """Permission bits, such as 0o1777."""


@dataclass(frozen=True)
class ImageOptions:
    subpath: str | None = None


@dataclass(frozen=True)
class ServiceVolume:
    """One mount of a service. The options of its own type are always set
    (`bind` for a bind mount, `volume` for a volume, `tmpfs`, `image`);
    a short entry may also carry SELinux or propagation options on a volume."""

    type: VolumeType
    source: str | None
    """An absolute host path for bind mounts; the volume's name; None for an
    anonymous volume or a tmpfs."""
    target: str
    read_only: bool = False
    consistency: str | None = None
    bind: BindOptions | None = None
    volume: VolumeOptions | None = None
    tmpfs: TmpfsOptions | None = None
    image: ImageOptions | None = None


@dataclass(frozen=True)
class DeviceMapping:
    source: str
    target: str
    permissions: str = "rwm"


def parse_service_volume(entry: object, *, project_dir: Path, home: Path) -> ServiceVolume:
    """One entry of a service's `volumes`: "[SOURCE:]TARGET[:MODES]" or a mapping."""
    if isinstance(entry, str):
        return _parse_short(entry, project_dir, home)
    if isinstance(entry, Mapping):
        return _parse_long(_values.mapping(entry, "a volume mapping"), project_dir, home)
    raise NormalizeError(f"{entry!r} is not a volume; expected a string or a mapping")


def parse_tmpfs(value: object) -> tuple[str, ...]:
    """A service's `tmpfs`: one "/path[:options]" string or a list of them,
    kept as written; the options are the engine's (size=64m,mode=1777)."""
    entries = (value,) if isinstance(value, str) else _values.strings(value, "a list of paths")
    for index, entry in enumerate(entries):
        if not entry.startswith("/"):
            where = () if isinstance(value, str) else (index,)
            raise NormalizeError(f"{entry!r} is not an absolute path in the container", where)
    return entries


def parse_devices(entries: object) -> tuple[DeviceMapping, ...]:
    """A service's `devices`: "SOURCE[:TARGET][:PERMISSIONS]" strings, as
    Docker reads them, or mappings of source, target and permissions."""
    if not isinstance(entries, list | tuple):
        raise NormalizeError(f"{entries!r} is not a list of devices")
    return tuple(_values.at(index, _parse_device, entry) for index, entry in enumerate(entries))


def _parse_short(spec: str, project_dir: Path, home: Path) -> ServiceVolume:
    if not spec:
        raise NormalizeError("an empty string is not a volume")
    parts = spec.split(":")
    if len(parts) > 3:
        raise NormalizeError(f"{spec!r} has too many colons; expected SOURCE:TARGET:MODES")
    if "" in parts:
        raise NormalizeError(f"{spec!r} has an empty part; expected SOURCE:TARGET:MODES")
    if len(parts) == 1:
        return ServiceVolume("volume", None, _target(spec), volume=VolumeOptions())
    source, target = parts[0], _target(parts[1])
    read_only, nocopy = False, False
    propagation: Propagation | None = None
    selinux: SELinuxLabel | None = None
    consistency = None
    for option in parts[2].split(",") if len(parts) == 3 else ():
        if option in ("ro", "rw"):
            read_only = option == "ro"
        elif option == "nocopy":
            nocopy = True
        elif option in _CONSISTENCIES:
            consistency = option
        elif (label := _values.member(option, _SELINUX)) is not None:
            selinux = label
        elif (mode := _values.member(option, _PROPAGATIONS)) is not None:
            propagation = mode
        else:
            raise NormalizeError(
                f"{option!r} is not a volume mode; expected {', '.join(_SHORT_OPTIONS)}"
            )
    if source[0] in "./~":
        if nocopy:
            raise NormalizeError(f"{spec!r}: nocopy applies to volumes, not to bind mounts")
        return ServiceVolume(
            "bind",
            _host_path(source, project_dir, home),
            target,
            read_only,
            consistency,
            bind=BindOptions(propagation, create_host_path=True, selinux=selinux),
        )
    bind = None
    if propagation is not None or selinux is not None:
        bind = BindOptions(propagation, selinux=selinux)
    return ServiceVolume(
        "volume", source, target, read_only, consistency, bind=bind, volume=VolumeOptions(nocopy)
    )


def _parse_long(value: Mapping[str, object], project_dir: Path, home: Path) -> ServiceVolume:
    _values.check_keys(value, _LONG_KEYS, "a volume mapping")
    if value.get("type") is None:
        raise NormalizeError("a volume mapping needs 'type'")
    kind = _values.choice(value, "type", _TYPES, "volume")
    target = _values.required_text(value, "target", "a volume mapping")
    target = _values.at("target", _target, target)
    source = _values.text(value, "source") or None
    if source is None and kind in _SOURCE_REQUIRED:
        raise NormalizeError(f"a volume of type {kind} needs 'source'")
    if source is not None and kind == "tmpfs":
        raise NormalizeError("a volume of type tmpfs takes no 'source'", ("source",))
    for section in ("bind", "volume", "tmpfs", "image"):
        if value.get(section) is not None and section != kind:
            raise NormalizeError(
                f"{section!r} options apply to type {section}, not {kind}", (section,)
            )
    if kind == "bind" and source is not None:
        source = _host_path(source, project_dir, home)
    return ServiceVolume(
        kind,
        source,
        target,
        read_only=_values.flag(value, "read_only"),
        consistency=_values.text(value, "consistency"),
        bind=_values.at("bind", _bind_options, value.get("bind")) if kind == "bind" else None,
        volume=_values.at("volume", _volume_options, value.get("volume"))
        if kind == "volume"
        else None,
        tmpfs=_values.at("tmpfs", _tmpfs_options, value.get("tmpfs")) if kind == "tmpfs" else None,
        image=_values.at("image", _image_options, value.get("image")) if kind == "image" else None,
    )


def _bind_options(section: object) -> BindOptions:
    """A bind mount's options. compose-go defaults create_host_path to true
    when a `bind` section is written and leaves it false when there is none."""
    if section is None:
        return BindOptions()
    value = _values.mapping(section, "bind options")
    _values.check_keys(value, _BIND_KEYS, "bind options")
    return BindOptions(
        propagation=_values.optional_choice(value, "propagation", _PROPAGATIONS),
        create_host_path=_values.flag(value, "create_host_path", default=True),
        selinux=_values.optional_choice(value, "selinux", _SELINUX),
        recursive=_values.optional_choice(value, "recursive", _RECURSIVE),
    )


def _volume_options(section: object) -> VolumeOptions:
    if section is None:
        return VolumeOptions()
    value = _values.mapping(section, "volume options")
    _values.check_keys(value, _VOLUME_KEYS, "volume options")
    return VolumeOptions(_values.flag(value, "nocopy"), _values.text(value, "subpath"))


def _tmpfs_options(section: object) -> TmpfsOptions:
    if section is None:
        return TmpfsOptions()
    value = _values.mapping(section, "tmpfs options")
    _values.check_keys(value, _TMPFS_KEYS, "tmpfs options")
    size = value.get("size")
    return TmpfsOptions(
        size=None if size is None else _values.at("size", parse_size, size),
        mode=_values.octal_mode(value.get("mode"), "mode"),
    )


def _image_options(section: object) -> ImageOptions:
    if section is None:
        return ImageOptions()
    value = _values.mapping(section, "image options")
    _values.check_keys(value, _IMAGE_KEYS, "image options")
    return ImageOptions(_values.text(value, "subpath"))


def _target(path: str) -> str:
    """A container path, cleaned as compose-go does ("/data/" is "/data")."""
    if not path.startswith("/"):
        raise NormalizeError(f"{path!r} is not an absolute path in the container")
    return posixpath.normpath(path).replace("//", "/")


def _host_path(source: str, project_dir: Path, home: Path) -> str:
    """An absolute, cleaned host path: "~" is the home directory (as in
    compose-go, "~name" is taken as "~/name"), a relative path is relative to
    the project directory."""
    if source.startswith("~"):
        source = str(home) + "/" + source[1:]
    return posixpath.normpath(posixpath.join(project_dir, source)).replace("//", "/")


def _parse_device(entry: object) -> DeviceMapping:
    if isinstance(entry, str):
        parts = entry.split(":")
        if len(parts) > 3 or "" in parts:
            raise NormalizeError(
                f"{entry!r} is not a device; expected SOURCE[:TARGET][:PERMISSIONS]"
            )
        permissions = "rwm"
        if len(parts) == 3:
            permissions = parts[2]
        elif len(parts) == 2 and _is_permissions(parts[1]):
            permissions = parts.pop()
        if not _is_permissions(permissions):
            raise NormalizeError(f"{permissions!r} is not device permissions (r, w, m, as rwm)")
        return DeviceMapping(parts[0], parts[1] if len(parts) > 1 else parts[0], permissions)
    if not isinstance(entry, Mapping):
        raise NormalizeError(f"{entry!r} is not a device; expected a string or a mapping")
    value = _values.mapping(entry, "a device mapping")
    _values.check_keys(value, _DEVICE_KEYS, "a device mapping")
    source = _values.required_text(value, "source", "a device mapping")
    permissions = _values.text(value, "permissions") or "rwm"
    if not _is_permissions(permissions):
        raise NormalizeError(
            f"{permissions!r} is not device permissions (r, w, m, as rwm)", ("permissions",)
        )
    return DeviceMapping(source, _values.text(value, "target") or source, permissions)


def _is_permissions(text: str) -> bool:
    """Docker's rule: one to three of r, w and m, none twice."""
    return 0 < len(text) <= 3 and set(text) <= {"r", "w", "m"} and len(set(text)) == len(text)
