"""Short and long syntaxes of the Compose Specification, normalized into one
typed, frozen form, as Docker Compose v2 (compose-go) normalizes them.

Each `parse_*` function takes a value as YAML gives it (str, int, float, bool,
None, dict, list) and returns frozen dataclasses whose collections are
tuples; ordered maps are tuples of pairs. A bad value raises NormalizeError
with a one-line message and the path of the bad part inside the value.

Layering: `_errors` and `values` (shared checks, also used by the loader) at the bottom; `units`
(sizes, cpus) and `mappings` (key-value forms) on them; `ports`, `volumes`,
`relations` (depends_on, networks, secrets, configs), `healthcheck` and
`build` on those.

The names below are imported on first use, as in `orchestrator.spec`: the
supervisor unpickles a loaded model and needs only the modules of the
values it holds, not every parser.
"""

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.spec.normalize._errors import NormalizeError
    from orchestrator.spec.normalize.build import BuildConfig, parse_build
    from orchestrator.spec.normalize.healthcheck import Healthcheck, parse_healthcheck
    from orchestrator.spec.normalize.mappings import (
        Ulimit,
        parse_extra_hosts,
        parse_key_values,
        parse_ulimits,
        scalar_text,
        string_or_list,
    )
    from orchestrator.spec.normalize.ports import (
        PortConfig,
        PortMode,
        PortProtocol,
        parse_expose,
        parse_ports,
    )
    from orchestrator.spec.normalize.relations import (
        Condition,
        Dependency,
        FileKind,
        FileReference,
        ServiceNetwork,
        parse_depends_on,
        parse_file_references,
        parse_service_networks,
    )
    from orchestrator.spec.normalize.units import parse_cpus, parse_size
    from orchestrator.spec.normalize.volumes import (
        BindOptions,
        DeviceMapping,
        ImageOptions,
        Propagation,
        Recursive,
        SELinuxLabel,
        ServiceVolume,
        TmpfsOptions,
        VolumeOptions,
        VolumeType,
        parse_devices,
        parse_service_volume,
        parse_tmpfs,
    )

_HOMES = {
    "BindOptions": "volumes",
    "BuildConfig": "build",
    "Condition": "relations",
    "Dependency": "relations",
    "DeviceMapping": "volumes",
    "FileKind": "relations",
    "FileReference": "relations",
    "Healthcheck": "healthcheck",
    "ImageOptions": "volumes",
    "NormalizeError": "_errors",
    "PortConfig": "ports",
    "PortMode": "ports",
    "PortProtocol": "ports",
    "Propagation": "volumes",
    "Recursive": "volumes",
    "SELinuxLabel": "volumes",
    "ServiceNetwork": "relations",
    "ServiceVolume": "volumes",
    "TmpfsOptions": "volumes",
    "Ulimit": "mappings",
    "VolumeOptions": "volumes",
    "VolumeType": "volumes",
    "parse_build": "build",
    "parse_cpus": "units",
    "parse_depends_on": "relations",
    "parse_devices": "volumes",
    "parse_expose": "ports",
    "parse_extra_hosts": "mappings",
    "parse_file_references": "relations",
    "parse_healthcheck": "healthcheck",
    "parse_key_values": "mappings",
    "parse_ports": "ports",
    "parse_service_networks": "relations",
    "parse_service_volume": "volumes",
    "parse_size": "units",
    "parse_tmpfs": "volumes",
    "parse_ulimits": "mappings",
    "scalar_text": "mappings",
    "string_or_list": "mappings",
}

__all__ = [
    "BindOptions",
    "BuildConfig",
    "Condition",
    "Dependency",
    "DeviceMapping",
    "FileKind",
    "FileReference",
    "Healthcheck",
    "ImageOptions",
    "NormalizeError",
    "PortConfig",
    "PortMode",
    "PortProtocol",
    "Propagation",
    "Recursive",
    "SELinuxLabel",
    "ServiceNetwork",
    "ServiceVolume",
    "TmpfsOptions",
    "Ulimit",
    "VolumeOptions",
    "VolumeType",
    "parse_build",
    "parse_cpus",
    "parse_depends_on",
    "parse_devices",
    "parse_expose",
    "parse_extra_hosts",
    "parse_file_references",
    "parse_healthcheck",
    "parse_key_values",
    "parse_ports",
    "parse_service_networks",
    "parse_service_volume",
    "parse_size",
    "parse_tmpfs",
    "parse_ulimits",
    "scalar_text",
    "string_or_list",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)
