"""Merging Compose files the way the Compose Specification's merge rules say.

Applied to the located YAML trees, after interpolation and before the model
is built:

- mappings merge key by key; a scalar of the later file replaces the earlier;
- sequences append, except the shell commands (`command`, `entrypoint`,
  `healthcheck.test`) which the later file replaces;
- keys a service may write as a list or a mapping (environment, labels,
  depends_on, networks, ...) are turned into mappings first, then merged;
- ports, volumes, secrets and configs are unique resources: an entry whose key
  (ports: host ip, target, published, protocol; the others: target) matches an
  earlier one merges with it, the others are appended;
- lists of plain values such as dns or cap_add append without repeats;
- `!override` replaces the earlier value whole; `!reset` removes it, and
  `strip_resets` drops what is left of those markers at the end.
"""

from collections.abc import Callable, Hashable
from typing import Any

from orchestrator.spec.located_yaml import (
    RESET,
    LocatedDict,
    LocatedList,
    Reset,
    located_dict,
    located_list,
)
from orchestrator.spec.normalize import NormalizeError, parse_ports

KeyPath = tuple[str, ...]
"""A key path with every service, network, ... name replaced by "*"."""

_REPLACED: set[KeyPath] = {
    ("services", "*", "command"),
    ("services", "*", "entrypoint"),
    ("services", "*", "healthcheck", "test"),
}
_AS_MAPPING: dict[KeyPath, str] = {
    # path -> how a list item names its key and value: "=" for KEY=VALUE,
    # "host" for HOST:IP or HOST=IP, "name" for a bare name whose value is
    # null, "name-mapping" for one whose value is an empty mapping.
    ("services", "*", "environment"): "=",
    ("services", "*", "labels"): "=",
    ("services", "*", "annotations"): "=",
    ("services", "*", "sysctls"): "=",
    ("services", "*", "extra_hosts"): "host",
    ("services", "*", "build", "args"): "=",
    ("services", "*", "build", "labels"): "=",
    ("services", "*", "build", "extra_hosts"): "host",
    ("services", "*", "deploy", "labels"): "=",
    ("services", "*", "depends_on"): "name-mapping",
    ("services", "*", "networks"): "name",
    ("networks", "*", "labels"): "=",
    ("volumes", "*", "labels"): "=",
}
_UNIQUE_VALUES: set[KeyPath] = {
    ("services", "*", key)
    for key in (
        "cap_add", "cap_drop", "dns", "dns_opt", "dns_search", "security_opt", "tmpfs",
        "group_add", "profiles", "expose", "external_links", "links", "volumes_from",
        "device_cgroup_rules", "env_file", "label_file",
    )
}  # fmt: skip


def _port_key(entry: Any) -> Hashable:
    """Host ip, target, published and protocol of each port the entry maps;
    an entry that does not parse is its own key (validation reports it)."""
    try:
        ports = parse_ports([entry])
    except NormalizeError:
        return repr(entry)
    return tuple((p.host_ip, p.target, p.published, p.protocol) for p in ports)


def _volume_key(entry: Any) -> Hashable:
    if isinstance(entry, dict):
        return entry.get("target")
    parts = str(entry).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _file_reference_key(default_dir: str) -> Callable[[Any], Hashable]:
    def key(entry: Any) -> Hashable:
        if isinstance(entry, dict):
            target = entry.get("target")
            if target:
                return target if str(target).startswith("/") else f"{default_dir}{target}"
            return f"{default_dir}{entry.get('source')}"
        return f"{default_dir}{entry}"

    return key


_UNIQUE_RESOURCES: dict[KeyPath, Callable[[Any], Hashable]] = {
    ("services", "*", "ports"): _port_key,
    ("services", "*", "volumes"): _volume_key,
    ("services", "*", "secrets"): _file_reference_key("/run/secrets/"),
    ("services", "*", "configs"): _file_reference_key("/"),
}


def _generalize(path: KeyPath) -> KeyPath:
    """("services", "web", "ports") -> ("services", "*", "ports")."""
    if len(path) >= 2 and path[0] in ("services", "networks", "volumes", "secrets", "configs"):
        return (path[0], "*", *path[2:])
    return path


def as_mapping(value: Any, style: str) -> Any:
    """A list form of a list-or-mapping key as the equivalent mapping."""
    if not isinstance(value, LocatedList):
        return value
    mapping = located_dict(value.mark)
    entry: Any
    for item, mark in zip(value, value.item_marks, strict=True):
        if not isinstance(item, str):
            return value  # left for validation to report
        if style == "name":
            key, entry = item, None
        elif style == "name-mapping":
            key, entry = item, located_dict(mark)
        elif style == "host":
            separator = min((i for i in (item.find("="), item.find(":")) if i > 0), default=-1)
            key, entry = (
                (item[:separator], item[separator + 1 :]) if separator > 0 else (item, None)
            )
        else:
            key, sep, text = item.partition("=")
            entry = text if sep else None
        mapping[key] = entry
        mapping.key_marks[key] = mark
    return mapping


def merge(base: Any, override: Any, path: KeyPath = ()) -> Any:
    """`override` (a later file's value at `path`) merged onto `base`."""
    general = _generalize(path)
    if isinstance(override, Reset):
        return RESET
    if getattr(override, "override", False) or general in _REPLACED:
        return override
    if general in _AS_MAPPING:
        base = as_mapping(base, _AS_MAPPING[general])
        override = as_mapping(override, _AS_MAPPING[general])
    if isinstance(base, LocatedDict) and isinstance(override, LocatedDict):
        return _merge_mappings(base, override, path, keep_base_on_none=general in _AS_MAPPING)
    if isinstance(base, LocatedList) and isinstance(override, LocatedList):
        if general in _UNIQUE_RESOURCES:
            return _merge_unique(base, override, _UNIQUE_RESOURCES[general], path)
        if general in _UNIQUE_VALUES:
            return _merge_unique(base, override, _hashable, path)
        merged = located_list(base.mark, [*base, *override])
        merged.item_marks = [*base.item_marks, *override.item_marks]
        return merged
    return override


def _hashable(entry: Any) -> Hashable:
    return entry if isinstance(entry, Hashable) else repr(entry)


def _merge_mappings(
    base: LocatedDict, override: LocatedDict, path: KeyPath, *, keep_base_on_none: bool
) -> LocatedDict:
    merged = located_dict(base.mark, dict(base))
    merged.key_marks = dict(base.key_marks)
    for key, value in override.items():
        if key in base and not (keep_base_on_none and value is None):
            merged[key] = merge(base[key], value, (*path, str(key)))
        elif key not in base:
            merged[key] = value
        merged.key_marks[key] = override.key_mark(key)
    return merged


def _merge_unique(
    base: LocatedList, override: LocatedList, key_of: Callable[[Any], Hashable], path: KeyPath
) -> LocatedList:
    merged = located_list(base.mark)
    positions: dict[Hashable, int] = {}
    for item, mark in [
        *zip(base, base.item_marks, strict=True),
        *zip(override, override.item_marks, strict=True),
    ]:
        key = key_of(item)
        if key in positions:
            index = positions[key]
            merged[index] = merge(merged[index], item, (*path, "[]"))
            merged.item_marks[index] = mark
        else:
            positions[key] = len(merged)
            merged.append(item)
            merged.item_marks.append(mark)
    return merged


def strip_resets(value: Any) -> Any:
    """`value` without the keys and items whose value is still RESET."""
    if isinstance(value, LocatedDict):
        for key in [k for k, v in value.items() if isinstance(v, Reset)]:
            del value[key]
        for item in value.values():
            strip_resets(item)
    elif isinstance(value, LocatedList):
        kept = [(v, m) for v, m in zip(value, value.item_marks, strict=True) if v is not RESET]
        value[:] = [v for v, _ in kept]
        value.item_marks = [m for _, m in kept]
        for item in value:
            strip_resets(item)
    return value
