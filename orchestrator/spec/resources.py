"""The top-level networks, volumes, secrets and configs of a project.

Each is named `<project>_<key>` on the host unless it sets `name` or is
`external` (then the key itself, as Compose does).
"""

from collections.abc import Mapping
from typing import Any

from orchestrator.spec.model import Ipam, IpamPool, NetworkSpec, SecretSpec, VolumeSpec
from orchestrator.spec.normalize import NormalizeError, parse_key_values
from orchestrator.spec.normalize.values import at, check_keys, flag, mapping, text

_NETWORK_KEYS = (
    "name", "driver", "driver_opts", "attachable", "enable_ipv4", "enable_ipv6", "external",
    "internal", "ipam", "labels",
)  # fmt: skip
_VOLUME_KEYS = ("name", "driver", "driver_opts", "external", "labels")
_SECRET_KEYS = (
    "name", "file", "environment", "external", "labels", "driver", "driver_opts",
    "template_driver",
)  # fmt: skip
_CONFIG_KEYS = (*_SECRET_KEYS, "content")


def _body(value: Any, what: str, keys: tuple[str, ...]) -> Mapping[str, object]:
    if value is None:
        return {}
    body = mapping(value, what)
    check_keys(body, keys, what)
    return body


def _optional_flag(body: Mapping[str, object], key: str) -> bool | None:
    return flag(body, key) if body.get(key) is not None else None


def _pairs(body: Mapping[str, object], key: str) -> tuple[tuple[str, str], ...]:
    if body.get(key) is None:
        return ()
    return at(key, lambda v: parse_key_values(v, allow_none=False), body[key])


def _external(body: Mapping[str, object]) -> tuple[bool | None, str | None]:
    """`external: true`, or the obsolete `external: {name: ...}` form."""
    external = body.get("external")
    if isinstance(external, Mapping):
        return True, at("external", lambda v: text(v, "name"), external)
    return _optional_flag(body, "external"), None


def _host_name(key: str, project: str, body: Mapping[str, object], external: bool | None) -> str:
    written = text(body, "name")
    if written:
        return written
    return key if external else f"{project}_{key}"


def _ipam_pool(value: object) -> Mapping[str, object]:
    return _body(value, "an ipam pool", ("subnet", "ip_range", "gateway", "aux_addresses"))


def _ipam(value: object) -> Ipam:
    body = _body(value, "an ipam mapping", ("driver", "config", "options"))
    pools = []
    entries = body.get("config") or []
    if not isinstance(entries, list):
        raise NormalizeError(f"{entries!r} is not a list of pools", ("config",))
    for index, entry in enumerate(entries):
        pool = at(index, _ipam_pool, entry)
        pools.append(
            IpamPool(
                subnet=text(pool, "subnet"),
                ip_range=text(pool, "ip_range"),
                gateway=text(pool, "gateway"),
                aux_addresses=_pairs(pool, "aux_addresses"),
            )
        )
    return Ipam(driver=text(body, "driver"), config=tuple(pools), options=_pairs(body, "options"))


def parse_network(key: str, value: Any, project: str) -> NetworkSpec:
    body = _body(value, "a network mapping", _NETWORK_KEYS)
    external, old_name = _external(body)
    return NetworkSpec(
        key=key,
        name=old_name or _host_name(key, project, body, external),
        driver=text(body, "driver"),
        driver_opts=_pairs(body, "driver_opts"),
        attachable=_optional_flag(body, "attachable"),
        enable_ipv4=_optional_flag(body, "enable_ipv4"),
        enable_ipv6=_optional_flag(body, "enable_ipv6"),
        external=external,
        internal=_optional_flag(body, "internal"),
        ipam=at("ipam", _ipam, body["ipam"]) if body.get("ipam") is not None else None,
        labels=_pairs(body, "labels"),
    )


def parse_volume(key: str, value: Any, project: str) -> VolumeSpec:
    body = _body(value, "a volume mapping", _VOLUME_KEYS)
    external, old_name = _external(body)
    return VolumeSpec(
        key=key,
        name=old_name or _host_name(key, project, body, external),
        driver=text(body, "driver"),
        driver_opts=_pairs(body, "driver_opts"),
        external=external,
        labels=_pairs(body, "labels"),
    )


def _file_resource(key: str, value: Any, project: str, keys: tuple[str, ...]) -> SecretSpec:
    body = _body(value, "a mapping with file, environment or external", keys)
    external, old_name = _external(body)
    sources = [k for k in ("file", "environment", "content") if body.get(k) is not None]
    if external:
        sources.append("external")
    if len(sources) != 1:
        found = ", ".join(sources) or "none of them"
        raise NormalizeError(f"needs exactly one of {', '.join(keys[1:3])}, external ({found})")
    return SecretSpec(
        key=key,
        name=old_name or _host_name(key, project, body, external),
        file=text(body, "file"),
        environment=text(body, "environment"),
        content=text(body, "content"),
        external=external,
        labels=_pairs(body, "labels"),
        driver=text(body, "driver"),
        driver_opts=_pairs(body, "driver_opts"),
        template_driver=text(body, "template_driver"),
    )


def parse_secret(key: str, value: Any, project: str) -> SecretSpec:
    return _file_resource(key, value, project, _SECRET_KEYS)


def parse_config(key: str, value: Any, project: str) -> SecretSpec:
    return _file_resource(key, value, project, _CONFIG_KEYS)
