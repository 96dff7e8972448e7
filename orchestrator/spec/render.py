"""The model as plain data, for `corral config` and the service hash.

The model's field names are Compose keys, so rendering is mostly generic:
a dataclass becomes a mapping, tuples of pairs become mappings, durations
are written as Go durations (`1m30s`). A top-level field equal to its
default is left out; in nested structures only empty values are, so the
defaults the loader filled in (a port's protocol, a dependency's condition)
are shown, as `docker compose config` shows them.
"""

import dataclasses
import enum
import hashlib
import json
from typing import Any

from orchestrator.spec.model import (
    ProjectSpec,
    RestartPolicy,
    ServiceSpec,
)

_DURATIONS = {
    "stop_grace_period", "interval", "timeout", "start_period", "start_interval", "delay",
    "window", "monitor",
}  # fmt: skip
_NOT_RENDERED = {"location", "image_location", "key_locations"}
_KEYED_BY = {"networks": "name", "depends_on": "service", "ulimits": "name"}
"""Service fields that Compose writes as a mapping keyed by one field."""
_NOT_HASHED = {"build", "pull_policy", "scale", "depends_on", "profiles"}
"""What does not change a running container (as Compose's service hash)."""


def go_duration(seconds: float) -> str:
    """Seconds as Go writes a time.Duration: 1m30s, 500ms, 0s."""
    if seconds == 0:
        return "0s"
    nanoseconds = round(seconds * 1e9)
    if nanoseconds < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if nanoseconds >= size:
                return f"{_trim(nanoseconds / size)}{unit}"
    hours, rest = divmod(nanoseconds, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    text = f"{hours}h" if hours else ""
    if hours or minutes:
        text += f"{minutes}m"
    return f"{text}{_trim(rest / 1e9)}s"


def _trim(number: float) -> str:
    return f"{number:.9f}".rstrip("0").rstrip(".")


def _is_pairs(value: tuple[Any, ...]) -> bool:
    return bool(value) and all(
        isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) for item in value
    )


def _empty(value: Any) -> bool:
    """Left out of nested structures, as Go's omitempty does."""
    return value is None or value is False or value == () or (type(value) is int and value == 0)


def to_data(value: Any, key: str = "") -> Any:
    """Any model value as YAML-ready plain data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if isinstance(value, RestartPolicy):
            return str(value)
        return {
            f.name: to_data(getattr(value, f.name), f.name)
            for f in dataclasses.fields(value)
            if not (_empty(getattr(value, f.name)) and getattr(value, f.name) == f.default)
            and getattr(value, f.name) is not None
        }
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, float) and key in _DURATIONS:
        return go_duration(value)
    if isinstance(value, tuple):
        if key in _KEYED_BY:
            field = _KEYED_BY[key]
            return {
                getattr(item, field): {k: v for k, v in to_data(item).items() if k != field} or None
                for item in value
            }
        if _is_pairs(value):
            return {k: to_data(v, k) for k, v in value}
        return [to_data(item, key) for item in value]
    return value


def service_data(service: ServiceSpec) -> dict[str, Any]:
    """One service as Compose writes it: keys sorted, those at their default left out."""
    data: dict[str, Any] = {}
    for field in sorted(dataclasses.fields(service), key=lambda f: f.name):
        value = getattr(service, field.name)
        if field.name in _NOT_RENDERED or field.name == "name" or value == field.default:
            continue
        if _empty(value):
            continue
        data[field.name] = to_data(value, field.name)
    return data


def _section(items: tuple[Any, ...]) -> dict[str, Any]:
    return {item.key: {k: v for k, v in to_data(item).items() if k != "key"} for item in items}


def project_data(project: ProjectSpec) -> dict[str, Any]:
    """The whole resolved project, in the order `docker compose config` uses."""
    data: dict[str, Any] = {
        "name": project.name,
        "services": {s.name: service_data(s) for s in sorted(project.services, key=_name)},
    }
    for section in ("networks", "volumes", "secrets", "configs"):
        items = getattr(project, section)
        if items:
            data[section] = _section(items)
    return data


def _name(service: ServiceSpec) -> str:
    return service.name


def service_hash(service: ServiceSpec) -> str:
    """A stable digest of what makes up the service's containers: equal when
    nothing that matters to a running container changed."""
    data = {k: v for k, v in service_data(service).items() if k not in _NOT_HASHED}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
