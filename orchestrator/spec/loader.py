"""Validate the supported subset of the Compose Specification into the model.

Every problem of the files is collected and raised together in one
SpecError, each naming file, line and key path. A key the Compose
Specification defines but Corral does not run yet is named as such, so a
user can tell it from a typo; nothing is silently dropped.
"""

import re
import shlex
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from orchestrator.errors import Problem, SpecError
from orchestrator.spec.durations import parse_duration
from orchestrator.spec.located_yaml import LocatedDict, LocatedList, YamlSyntaxError, load_yaml
from orchestrator.spec.model import (
    Location,
    NetworkSpec,
    ProjectSpec,
    RestartMode,
    RestartPolicy,
    ServiceSpec,
)
from orchestrator.spec.project import project_name

SUPPORTED_TOP_LEVEL = {"name", "services", "networks", "version"}
COMPOSE_TOP_LEVEL = {"include", "volumes", "secrets", "configs", "models"}

SUPPORTED_SERVICE_KEYS = {
    "image", "command", "entrypoint", "environment", "working_dir", "user", "hostname",
    "restart", "depends_on", "networks", "stop_signal", "stop_grace_period",
}  # fmt: skip
COMPOSE_SERVICE_KEYS = {
    "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup",
    "cgroup_parent", "container_name", "cpu_count", "cpu_percent", "cpu_period", "cpu_quota",
    "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpus", "cpuset", "credential_spec",
    "deploy", "develop", "device_cgroup_rules", "devices", "dns", "dns_opt", "dns_search",
    "domainname", "driver_opts", "env_file", "expose", "extends", "external_links",
    "extra_hosts", "gpus", "group_add", "healthcheck", "init", "ipc", "isolation", "labels",
    "label_file", "links", "logging", "mac_address", "mem_limit", "mem_reservation",
    "mem_swappiness", "memswap_limit", "models", "network_mode", "oom_kill_disable",
    "oom_score_adj", "pid", "pids_limit", "platform", "ports", "post_start", "pre_stop",
    "privileged", "profiles", "provider", "pull_policy", "read_only", "runtime", "scale",
    "secrets", "security_opt", "shm_size", "stdin_open", "storage_opt", "sysctls", "tmpfs",
    "tty", "ulimits", "use_api_socket", "userns_mode", "uts", "volumes", "volumes_from",
    "configs",
}  # fmt: skip

_SERVICE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_ENV_NAME = re.compile(r"^[^=\s]+$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)


class _Collector:
    """Collects problems against one file, with the line of each key."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, line: int, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, line, key, message))


def _key_line(mapping: Any, key: Any) -> int:
    if isinstance(mapping, LocatedDict):
        return mapping.key_lines.get(key, mapping.line)
    return 0


def _check_keys(
    mapping: LocatedDict,
    path: str,
    supported: set[str],
    known: set[str],
    problems: _Collector,
) -> None:
    for key in mapping:
        if isinstance(key, str) and key.startswith("x-"):
            continue
        line = _key_line(mapping, key)
        if key in supported:
            continue
        if key in known:
            problems.add(line, f"{path}{key}", "is a Compose key that Corral does not run yet")
        else:
            problems.add(line, f"{path}{key}", "unknown key")


def _string_list(value: Any, line: int, key: str, problems: _Collector) -> tuple[str, ...] | None:
    """A command or entrypoint: a list of strings, or a string split as a shell would."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return tuple(shlex.split(value))
        except ValueError as exc:
            problems.add(line, key, f"cannot split {value!r} into words: {exc}")
            return None
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return tuple(str(v) for v in value)
    problems.add(line, key, "must be a string or a list of strings")
    return None


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _environment(
    value: Any, line: int, key: str, shell: Mapping[str, str], problems: _Collector
) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str | None]] = []
    if isinstance(value, LocatedDict):
        for name, item in value.items():
            if isinstance(item, dict | list):
                problems.add(_key_line(value, name), f"{key}.{name}", "must be a scalar")
                continue
            pairs.append((str(name), None if item is None else _scalar_text(item)))
    elif isinstance(value, LocatedList):
        for item, item_line in zip(value, value.item_lines, strict=True):
            if not isinstance(item, str):
                problems.add(item_line, key, f"entry {item!r} must be a string NAME=value")
                continue
            name, sep, text = item.partition("=")
            pairs.append((name, text if sep else None))
    else:
        problems.add(line, key, "must be a mapping or a list of NAME=value")
        return ()
    resolved: dict[str, str] = {}
    for name, value in pairs:
        if not _ENV_NAME.match(name):
            problems.add(line, key, f"{name!r} is not a valid variable name")
        elif value is not None:
            resolved[name] = value
        elif name in shell:
            resolved[name] = shell[name]
    return tuple(resolved.items())


def _restart(value: Any, line: int, key: str, problems: _Collector) -> RestartPolicy:
    if value is False:  # YAML 1.1 reads a bare `no` as false
        return RestartPolicy(RestartMode.NO)
    if not isinstance(value, str):
        problems.add(line, key, "must be one of no, always, on-failure[:N], unless-stopped")
        return RestartPolicy()
    mode_text, _, retries_text = value.partition(":")
    try:
        mode = RestartMode(mode_text)
    except ValueError:
        problems.add(
            line, key, f"{value!r} is not one of no, always, on-failure[:N], unless-stopped"
        )
        return RestartPolicy()
    if not retries_text:
        return RestartPolicy(mode)
    if mode is not RestartMode.ON_FAILURE or not retries_text.isdigit():
        problems.add(line, key, f"{value!r}: only on-failure takes a count, as on-failure:3")
        return RestartPolicy(mode)
    return RestartPolicy(mode, int(retries_text))


def _stop_signal(value: Any, line: int, key: str, problems: _Collector) -> str:
    text = str(value).upper()
    name = text if text.startswith("SIG") else f"SIG{text}"
    number = int(value) if isinstance(value, str) and value.isdigit() else value
    if isinstance(number, int) and not isinstance(number, bool):
        try:
            return signal.Signals(number).name
        except ValueError:
            pass
    elif name in signal.Signals.__members__:
        return name
    problems.add(line, key, f"{value!r} is not a signal name such as SIGTERM")
    return "SIGTERM"


def _name_list(value: Any, line: int, key: str, problems: _Collector) -> tuple[str, ...]:
    if isinstance(value, LocatedList) and all(isinstance(v, str) for v in value):
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            problems.add(line, key, f"lists {', '.join(map(repr, repeated))} more than once")
        return tuple(dict.fromkeys(value))
    if isinstance(value, LocatedDict):
        problems.add(line, key, "the long (mapping) form is not supported yet; use a list")
    else:
        problems.add(line, key, "must be a list of names")
    return ()


def _service(
    name: str,
    body: Any,
    line: int,
    shell: Mapping[str, str],
    problems: _Collector,
) -> ServiceSpec | None:
    path = f"services.{name}"
    if not _SERVICE_NAME.match(name):
        problems.add(line, path, "a service name may hold only letters, digits, '_', '.', '-'")
    if not isinstance(body, LocatedDict):
        problems.add(line, path, "must be a mapping")
        return None
    _check_keys(body, f"{path}.", SUPPORTED_SERVICE_KEYS, COMPOSE_SERVICE_KEYS, problems)

    def at(key: str) -> tuple[Any, int, str]:
        return body.get(key), _key_line(body, key), f"{path}.{key}"

    image, image_line, image_key = at("image")
    if not isinstance(image, str) or not image:
        problems.add(image_line, image_key, "every service needs an image (build is not supported)")
        image = ""
    fields: dict[str, Any] = {}
    for key in ("command", "entrypoint"):
        value, key_line, key_path = at(key)
        fields[key] = _string_list(value, key_line, key_path, problems)
    for key in ("working_dir", "user", "hostname"):
        value, key_line, key_path = at(key)
        if value is not None and not isinstance(value, str | int):
            problems.add(key_line, key_path, "must be a string")
        elif value is not None:
            fields[key] = str(value)
    if "hostname" in fields and not _HOSTNAME.match(fields["hostname"]):
        problems.add(
            _key_line(body, "hostname"), f"{path}.hostname",
            f"{fields['hostname']!r} is not a valid host name (RFC 1123)",
        )  # fmt: skip
    if "environment" in body:
        fields["environment"] = _environment(*at("environment"), shell, problems)
    if "restart" in body:
        fields["restart"] = _restart(*at("restart"), problems)
    if "stop_signal" in body:
        fields["stop_signal"] = _stop_signal(*at("stop_signal"), problems)
    if "stop_grace_period" in body:
        value, key_line, key_path = at("stop_grace_period")
        try:
            fields["stop_grace_period"] = parse_duration(value)
        except ValueError as exc:
            problems.add(key_line, key_path, str(exc))
    for key in ("depends_on", "networks"):
        if key in body:
            fields[key] = _name_list(*at(key), problems)
    location = Location(problems.file, line)
    image_location = Location(problems.file, image_line)
    return ServiceSpec(
        name=name, image=image, location=location, image_location=image_location, **fields
    )


def _merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key; anything else is replaced by the later file."""
    if isinstance(base, LocatedDict) and isinstance(override, LocatedDict):
        merged = LocatedDict(base)
        merged.line = base.line
        merged.key_lines = dict(base.key_lines)
        for key, value in override.items():
            merged[key] = _merge(base[key], value) if key in base else value
            merged.key_lines[key] = override.key_lines[key]
        return merged
    return override


def _check_references(
    services: Sequence[ServiceSpec], networks: set[str], problems: _Collector
) -> None:
    names = {s.name for s in services}
    for service in services:
        line = service.location.line if service.location else 0
        for dependency in service.depends_on:
            if dependency not in names:
                problems.add(
                    line, f"services.{service.name}.depends_on",
                    f"depends on undefined service {dependency!r}",
                )  # fmt: skip
        for network in service.networks:
            if network not in networks:
                problems.add(
                    line, f"services.{service.name}.networks",
                    f"network {network!r} is not defined under the top-level networks",
                )  # fmt: skip
    cycle = _find_cycle({s.name: s.depends_on for s in services if set(s.depends_on) <= names})
    if cycle:
        problems.add(0, "depends_on", "dependency cycle: " + " -> ".join(cycle))


def _find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str]:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str]:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return []
        visiting.append(node)
        for child in graph.get(node, ()):
            cycle = visit(child)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return []

    for start in graph:
        found = visit(start)
        if found:
            return found
    return []


def load_project(
    files: Sequence[Path],
    *,
    project_flag: str | None,
    shell: Mapping[str, str],
    warn: Callable[[str], None],
) -> ProjectSpec:
    """Read, merge and validate `files` into a ProjectSpec; raise SpecError."""
    problems = _Collector(files[-1])
    document: Any = None
    for file in files:
        file_problems = _Collector(file)
        try:
            loaded = load_yaml(file)
        except OSError as exc:
            file_problems.add(0, "", f"cannot read: {exc.strerror}")
            raise SpecError(file_problems.problems) from exc
        except YamlSyntaxError as exc:
            file_problems.add(exc.line, "", exc.message)
            raise SpecError(file_problems.problems) from exc
        if not isinstance(loaded, LocatedDict):
            file_problems.add(1, "", "a Compose file must be a mapping with a services key")
            raise SpecError(file_problems.problems)
        _check_keys(loaded, "", SUPPORTED_TOP_LEVEL, COMPOSE_TOP_LEVEL, file_problems)
        if "version" in loaded:
            warn(f"{file}:{_key_line(loaded, 'version')}: version is obsolete and ignored")
        problems.problems.extend(file_problems.problems)
        document = loaded if document is None else _merge(document, loaded)

    services_raw = document.get("services")
    if not isinstance(services_raw, LocatedDict) or not services_raw:
        problems.add(_key_line(document, "services"), "services", "must name at least one service")
        raise SpecError(problems.problems)

    networks_raw = document.get("networks") or LocatedDict()
    networks: list[NetworkSpec] = []
    if not isinstance(networks_raw, dict):
        problems.add(_key_line(document, "networks"), "networks", "must be a mapping")
    else:
        for name, body in networks_raw.items():
            if body not in (None, {}):
                problems.add(
                    _key_line(networks_raw, name), f"networks.{name}",
                    "network options are not supported yet; leave the entry empty",
                )  # fmt: skip
            networks.append(NetworkSpec(str(name)))
    if "default" not in {n.name for n in networks}:
        networks.insert(0, NetworkSpec("default"))

    services = [
        service
        for name, body in services_raw.items()
        if (service := _service(str(name), body, _key_line(services_raw, name), shell, problems))
    ]
    _check_references(services, {n.name for n in networks}, problems)
    if problems.problems:
        raise SpecError(problems.problems)

    used = {network for service in services for network in service.networks}
    top_name = document.get("name")
    return ProjectSpec(
        name=project_name(
            project_flag, shell, str(top_name) if top_name is not None else None, files[0]
        ),
        files=tuple(files),
        services=tuple(services),
        networks=tuple(n for n in networks if n.name in used),
    )
