"""A service's references to other parts of the project: `depends_on`,
`networks`, and the `secrets` and `configs` it mounts."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

from orchestrator.spec.normalize import values as _values
from orchestrator.spec.normalize._errors import NormalizeError
from orchestrator.spec.normalize.mappings import parse_key_values, scalar_text

Condition = Literal["service_started", "service_healthy", "service_completed_successfully"]
FileKind = Literal["secret", "config"]

_CONDITIONS: tuple[Condition, ...] = (
    "service_started",
    "service_healthy",
    "service_completed_successfully",
)
_DEPENDENCY_KEYS = frozenset({"condition", "restart", "required"})
_NETWORK_KEYS = frozenset(
    {
        "aliases", "ipv4_address", "ipv6_address", "link_local_ips", "mac_address",
        "priority", "gw_priority", "driver_opts", "interface_name",
    }
)  # fmt: skip
_FILE_KEYS = frozenset({"source", "target", "uid", "gid", "mode"})
_FILE_DIRECTORY: dict[FileKind, str] = {"secret": "/run/secrets/", "config": "/"}
_T = TypeVar("_T")


@dataclass(frozen=True)
class Dependency:
    service: str
    condition: Condition = "service_started"
    restart: bool = False
    """Restart this service when `service` is restarted by a Compose command."""
    required: bool = True
    """False: a missing or disabled `service` is only warned about."""


@dataclass(frozen=True)
class ServiceNetwork:
    name: str
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    link_local_ips: tuple[str, ...] = ()
    mac_address: str | None = None
    priority: int = 0
    gw_priority: int = 0
    driver_opts: tuple[tuple[str, str], ...] = ()
    interface_name: str | None = None


@dataclass(frozen=True)
class FileReference:
    """A secret or config mounted into a service's containers."""

    source: str
    target: str
    """Absolute path in the container."""
    uid: str | None = None
    gid: str | None = None
    mode: int | None = None


def parse_depends_on(value: object) -> tuple[Dependency, ...]:
    """A list of service names, or a mapping of names to {condition, restart,
    required}; compose-go's defaults fill what is left out (service_started,
    restart false, required true)."""
    return _named(value, "service", Dependency, _dependency)


def _dependency(named: tuple[str, object]) -> Dependency:
    name, item = named
    value = _values.mapping(item, "condition, restart and required")
    _values.check_keys(value, _DEPENDENCY_KEYS, "a dependency")
    return Dependency(
        name,
        condition=_values.choice(value, "condition", _CONDITIONS, "service_started"),
        restart=_values.flag(value, "restart"),
        required=_values.flag(value, "required", default=True),
    )


def parse_service_networks(value: object) -> tuple[ServiceNetwork, ...]:
    """A list of network names, or a mapping of names to their options or null."""
    return _named(value, "network", ServiceNetwork, _network)


def _network(named: tuple[str, object]) -> ServiceNetwork:
    name, item = named
    if item is None:
        return ServiceNetwork(name)
    value = _values.mapping(item, "network options")
    _values.check_keys(value, _NETWORK_KEYS, "network options")
    driver_opts = value.get("driver_opts")
    return ServiceNetwork(
        name,
        aliases=_values.at("aliases", _strings, value.get("aliases", ())),
        ipv4_address=_values.text(value, "ipv4_address"),
        ipv6_address=_values.text(value, "ipv6_address"),
        link_local_ips=_values.at("link_local_ips", _strings, value.get("link_local_ips", ())),
        mac_address=_values.text(value, "mac_address"),
        priority=_values.integer(value, "priority", minimum=-(2**31)) or 0,
        gw_priority=_values.integer(value, "gw_priority", minimum=-(2**31)) or 0,
        driver_opts=()
        if driver_opts is None
        else _values.at("driver_opts", _driver_opts, driver_opts),
        interface_name=_values.text(value, "interface_name"),
    )


def _strings(value: object) -> tuple[str, ...]:
    return () if value is None else _values.strings(value, "a list of strings")


def _driver_opts(value: object) -> tuple[tuple[str, str], ...]:
    return parse_key_values(value, allow_none=False)


def parse_file_references(entries: object, *, kind: FileKind) -> tuple[FileReference, ...]:
    """A service's `secrets` or `configs`: names, or mappings of source,
    target, uid, gid and mode. A secret's target defaults to
    /run/secrets/<source> (compose-go) and a relative one is placed there
    (Docker Compose); a config's defaults to /<source>."""
    if not isinstance(entries, list | tuple):
        raise NormalizeError(f"{entries!r} is not a list of {kind}s")
    references = []
    for index, entry in enumerate(entries):
        if isinstance(entry, str):
            references.append(FileReference(entry, _FILE_DIRECTORY[kind] + entry))
        elif isinstance(entry, Mapping):
            references.append(_values.at(index, _file_reference, (kind, entry)))
        else:
            raise NormalizeError(
                f"{entry!r} is not a {kind}; expected a name or a mapping", (index,)
            )
    return tuple(references)


def _file_reference(entry: tuple[FileKind, object]) -> FileReference:
    kind, item = entry
    value = _values.mapping(item, f"a {kind} mapping")
    _values.check_keys(value, _FILE_KEYS, f"a {kind} mapping")
    source = _values.required_text(value, "source", f"a {kind} mapping")
    target = _values.text(value, "target") or source
    if not target.startswith("/"):
        target = _FILE_DIRECTORY[kind] + target
    return FileReference(
        source,
        target,
        uid=_owner(value, "uid"),
        gid=_owner(value, "gid"),
        mode=_values.octal_mode(value.get("mode"), "mode"),
    )


def _owner(value: Mapping[str, object], key: str) -> str | None:
    """A uid or gid, written as a number or a string."""
    item = value.get(key)
    return None if item is None else _values.at(key, scalar_text, item)


def _named(
    value: object,
    what: str,
    from_name: Callable[[str], _T],
    from_item: Callable[[tuple[str, object]], _T],
) -> tuple[_T, ...]:
    """A list of names, or a mapping of names to their options."""
    if isinstance(value, Mapping):
        return tuple(
            _values.at(name, from_item, (name, item))
            for name, item in _values.mapping(value, f"a mapping of {what}s").items()
        )
    return tuple(from_name(name) for name in _names(value, what))


def _names(value: object, what: str) -> tuple[str, ...]:
    names = _values.strings(value, f"a list or a mapping of {what}s")
    for index, name in enumerate(names):
        if name in names[:index]:
            raise NormalizeError(f"{what} {name!r} is listed twice", (index,))
    return names
