"""Compose files in, one frozen, validated ProjectSpec out.

The steps, as Docker Compose v2 takes them: the project's environment (shell
over env files), each file parsed and interpolated, extends and include
applied, the files merged (`documents`); then, here, profiles select the
services and every key is validated and normalized into the model. Every
problem is collected and raised together in one SpecError, each naming file,
line, column and key path. A key the Compose Specification defines but Corral
does not run yet is reported through `warn` (an error with `strict`): never
silently dropped.
"""

import dataclasses
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import Problem
from orchestrator.spec.documents import DocumentLoader
from orchestrator.spec.environment import project_environment, read_service_env_file
from orchestrator.spec.isolation_fields import host_option_warnings
from orchestrator.spec.located_yaml import LocatedDict, LocatedList, Mark
from orchestrator.spec.model import (
    EnvFile,
    Location,
    NetworkSpec,
    ProjectSpec,
    SecretSpec,
    ServiceSpec,
)
from orchestrator.spec.normalize import NormalizeError, ServiceNetwork
from orchestrator.spec.problems import Problems
from orchestrator.spec.profiles import select_services
from orchestrator.spec.project import name_problem, project_name
from orchestrator.spec.references import check_references
from orchestrator.spec.resources import parse_config, parse_network, parse_secret, parse_volume
from orchestrator.spec.service_fields import SERVICE_FIELDS, FieldContext

SUPPORTED_TOP_LEVEL = {"name", "services", "networks"}
IGNORED_TOP_LEVEL = {"version", "include"}  # version: obsolete; include: applied already
COMPOSE_TOP_LEVEL = {"volumes", "secrets", "configs", "models"}

SUPPORTED_SERVICE_KEYS = {
    "image", "command", "entrypoint", "environment", "env_file", "working_dir", "user",
    "hostname", "restart", "depends_on", "networks", "stop_signal", "stop_grace_period",
    "profiles", "pull_policy", "healthcheck", "cap_add", "cap_drop", "privileged",
    "security_opt", "sysctls", "ulimits", "devices", "device_cgroup_rules", "group_add",
    "userns_mode", "oom_score_adj", "cgroup_parent",
}  # fmt: skip

_SERVICE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)


@dataclass(frozen=True)
class LoadOptions:
    """What the command line adds to the files."""

    project_flag: str | None = None
    profiles: Sequence[str] = ()
    services: Sequence[str] = ()
    """Services named on the command line: their profiles are enabled."""
    env_files: Sequence[Path] = ()
    project_dir: Path | None = None
    interpolate: bool = True
    strict: bool = False
    home: Path = field(default_factory=Path.home)


def _report_key(
    mark: Mark, key: str, message: str, problems: Problems, warnings: list[str], strict: bool
) -> None:
    if strict:
        problems.add(mark, key, message)
    else:
        warnings.append(str(Problem(mark.file, mark.line, key, message, mark.column)))


NOT_RUN = "Corral does not run this key yet; it is ignored"


def key_suffix(path: tuple[str | int, ...]) -> str:
    """(2, "target") -> "[2].target", to append to a key path."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def mark_within(value: Any, path: tuple[str | int, ...], default: Mark) -> Mark:
    """The mark of the innermost key or item along `path` inside `value`."""
    mark = default
    for part in path:
        if isinstance(value, LocatedDict) and part in value:
            mark, value = value.key_mark(part), value[part]
        elif isinstance(value, LocatedList) and isinstance(part, int) and part < len(value):
            mark, value = value.item_marks[part], value[part]
        else:
            break
    return mark


def _partly_run(key: str, value: Any) -> list[tuple[str, str]]:
    """What Corral ignores inside a key it runs: (key path suffix, message)."""
    ignored: list[tuple[str, str]] = []
    if key == "networks":
        for network in value:
            for field in dataclasses.fields(network):
                if field.name != "name" and getattr(network, field.name) != field.default:
                    ignored.append((f".{network.name}.{field.name}", NOT_RUN))
    elif key == "depends_on":
        for dependency in value:
            if dependency.condition != "service_started":
                ignored.append((f".{dependency.service}.condition",
                                f"Corral does not wait for {dependency.condition} yet; it only "
                                "waits for the service to start"))  # fmt: skip
    elif key == "pull_policy" and value == "build":
        ignored.append(("", "Corral cannot build images yet; it runs the image the store holds"))
    return ignored


def _top_level_name(document: LocatedDict, problems: Problems) -> str | None:
    """The file's `name` (the caller asks only when -p or COMPOSE_PROJECT_NAME
    does not override it); a bad one is a problem like any other, and the
    rest of the files is still checked, under a stand-in name."""
    if "name" not in document or document["name"] is None:
        return None
    value = document["name"]
    if not isinstance(value, str):
        problems.add(document.key_mark("name"), "name", "must be a string")
        return "invalid-name"
    if problem := name_problem(value):
        problems.add(document.key_mark("name"), "name", problem)
        return "invalid-name"
    return value


def _check_top_level(
    document: LocatedDict, problems: Problems, warnings: list[str], strict: bool
) -> None:
    for key in document:
        mark = document.key_mark(key)
        if not isinstance(key, str):
            problems.add(mark, str(key), "a top-level key must be a string")
        elif key.startswith("x-") or key in SUPPORTED_TOP_LEVEL:
            continue
        elif key == "version":
            warnings.append(
                str(Problem(mark.file, mark.line, key, "is obsolete and ignored", mark.column))
            )
        elif key in IGNORED_TOP_LEVEL:
            continue
        elif key in COMPOSE_TOP_LEVEL:
            if document[key]:
                _report_key(mark, key, "Corral does not run this key yet; it is ignored",
                            problems, warnings, strict)  # fmt: skip
        else:
            problems.add(mark, key, "unknown key")


def _read_service(
    name: str,
    body: Any,
    mark: Mark,
    context: FieldContext,
    problems: Problems,
    warnings: list[str],
    strict: bool,
) -> ServiceSpec | None:
    """One service; its unsupported keys go to `warnings` (to `problems`
    with `strict`)."""
    path = f"services.{name}"
    if not _SERVICE_NAME.match(name):
        problems.add(mark, path, "a service name may hold only letters, digits, '_', '.', '-'")
    if not isinstance(body, LocatedDict):
        problems.add(mark, path, "must be a mapping")
        return None
    fields: dict[str, Any] = {"env_file": ()}
    for key, value in body.items():
        key_mark = body.key_mark(key)
        key_path = f"{path}.{key}"
        if isinstance(key, str) and key.startswith("x-"):
            continue
        parse = SERVICE_FIELDS.get(key) if isinstance(key, str) else None
        if parse is None:
            problems.add(key_mark, key_path, "unknown key")
            continue
        try:
            fields[key] = parse(value, context)
        except NormalizeError as exc:
            problems.add(mark_within(value, exc.path, key_mark), key_path + key_suffix(exc.path),
                         exc.message)  # fmt: skip
            continue
        if key not in SUPPORTED_SERVICE_KEYS and value not in (None, [], {}):
            _report_key(key_mark, key_path, NOT_RUN, problems, warnings, strict)
        else:
            if key == "security_opt":
                warnings.extend(str(Problem(key_mark.file, key_mark.line, key_path, text,
                                            key_mark.column))
                                for text in host_option_warnings(fields[key]))  # fmt: skip
            for part, message in _partly_run(key, fields[key]):
                inner = mark_within(value, tuple(part.split(".")[1:]), key_mark)
                _report_key(inner, f"{key_path}{part}", message, problems, warnings, strict)
    image_refused = "image" in body and "image" not in fields  # a problem of its own
    if not fields.get("image") and "build" not in fields and not image_refused:
        problems.add(mark, path, "needs an image (or a build section)")
    hostname = fields.get("hostname")
    if hostname is not None and not _HOSTNAME.match(hostname):
        problems.add(body.key_mark("hostname"), f"{path}.hostname",
                     f"{hostname!r} is not a valid host name (RFC 1123)")  # fmt: skip
    fields["environment"] = _environment(body, fields, context, problems, path)
    del fields["env_file"]  # resolved into environment, as `docker compose config` shows it
    if not fields.get("networks") and fields.get("network_mode") is None:
        fields["networks"] = (ServiceNetwork(name="default"),)
    location = Location(mark.file, mark.line, mark.column)
    image_mark = body.key_mark("image") if "image" in body else mark
    key_locations = tuple(
        (str(key), Location(*body.key_mark(key))) for key in body if isinstance(key, str)
    )
    return ServiceSpec(
        name=name,
        location=location,
        key_locations=key_locations,
        image_location=Location(image_mark.file, image_mark.line, image_mark.column),
        **fields,
    )


def _environment(
    body: LocatedDict,
    fields: Mapping[str, Any],
    context: FieldContext,
    problems: Problems,
    path: str,
) -> tuple[tuple[str, str], ...]:
    """env_file entries in order, then `environment`; a name without a value
    comes from the project's environment or is left out."""
    resolved: dict[str, str] = {}
    env_files: tuple[EnvFile, ...] = fields.get("env_file", ())
    for env_file in env_files:
        mark = body.key_mark("env_file")
        resolved.update(
            read_service_env_file(
                Path(env_file.path),
                env_file.required,
                context.environment,
                mark,
                f"{path}.env_file",
                problems,
            )
        )
    for name, value in fields.get("environment", ()):
        if value is not None:
            resolved[name] = value
        elif name in context.environment:
            resolved[name] = context.environment[name]
    return tuple(resolved.items())


def _resources(
    document: LocatedDict,
    section: str,
    parse: Callable[[str, Any, str], Any],
    project: str,
    problems: Problems,
) -> list[Any]:
    raw = document.get(section)
    if raw is None:
        return []
    if not isinstance(raw, LocatedDict):
        problems.add(document.key_mark(section), section, "must be a mapping of names")
        return []
    parsed = []
    for key, body in raw.items():
        try:
            parsed.append(parse(str(key), body, project))
        except NormalizeError as exc:
            problems.add(mark_within(body, exc.path, raw.key_mark(key)),
                         f"{section}.{key}{key_suffix(exc.path)}", exc.message)  # fmt: skip
    return parsed


def load_project(
    files: Sequence[Path],
    *,
    shell: Mapping[str, str] | None = None,
    warn: Callable[[str], None] = lambda text: None,
    options: LoadOptions | None = None,
) -> ProjectSpec:
    """Read, merge and validate `files` into a ProjectSpec; raise SpecError."""
    options = options or LoadOptions()
    shell = os.environ if shell is None else shell
    problems = Problems()
    warnings: list[str] = []
    project_dir = options.project_dir or files[0].parent
    environment = project_environment(shell, project_dir, options.env_files, problems)
    loader = DocumentLoader(environment, shell, problems, interpolate=options.interpolate)
    document = loader.load(files)
    problems.raise_if_any()
    for variable in loader.unset:
        warnings.append(f'the "{variable}" variable is not set; it reads as an empty string')

    overridden = bool(options.project_flag or environment.get("COMPOSE_PROJECT_NAME"))
    top_name = None if overridden else _top_level_name(document, problems)
    _check_top_level(document, problems, warnings, options.strict)
    name = project_name(options.project_flag, environment, top_name, files[0])
    services_raw = document.get("services")
    if not isinstance(services_raw, LocatedDict) or not services_raw:
        problems.add(document.key_mark("services"), "services", "must name at least one service")
        problems.raise_if_any()
        raise AssertionError("unreachable")

    context = FieldContext(
        project_dir=project_dir,
        home=options.home,
        environment=environment,
        interpolated=options.interpolate,
    )
    services: list[ServiceSpec] = []
    service_warnings: dict[str, list[str]] = {}
    for key, body in services_raw.items():
        found = service_warnings.setdefault(str(key), [])
        service = _read_service(str(key), body, services_raw.key_mark(key), context, problems,
                                found, options.strict)  # fmt: skip
        if service is not None:
            services.append(service)
    networks = _resources(document, "networks", parse_network, name, problems)
    _warn_network_options(document, networks, problems, warnings, options.strict)
    volumes = _resources(document, "volumes", parse_volume, name, problems)
    secrets = _with_absolute_files(
        _resources(document, "secrets", parse_secret, name, problems), project_dir
    )
    configs = _with_absolute_files(
        _resources(document, "configs", parse_config, name, problems), project_dir
    )
    all_profiles = tuple(sorted({p for s in services for p in s.profiles}))
    active = select_services(services, options.profiles, options.services, environment, problems)
    networks = _with_default_network(networks, active, name)
    check_references(active, networks, volumes, secrets, configs, problems)
    problems.raise_if_any()
    for service in active:  # a service switched off by profiles is not run: no warning
        warnings.extend(service_warnings[service.name])
    for text in warnings:
        warn(text)
    return ProjectSpec(
        name=name,
        files=tuple(files),
        services=tuple(active),
        networks=tuple(networks),
        volumes=tuple(volumes),
        secrets=tuple(secrets),
        configs=tuple(configs),
        project_dir=project_dir,
        profiles=all_profiles,
    )


def _warn_network_options(
    document: LocatedDict,
    networks: list[NetworkSpec],
    problems: Problems,
    warnings: list[str],
    strict: bool,
) -> None:
    """Top-level network options Corral does not apply yet (it makes a plain
    bridge with a subnet of its own choosing)."""
    raw = document.get("networks")
    for network in networks:
        for option in ("driver", "driver_opts", "attachable", "enable_ipv4", "enable_ipv6",
                       "internal", "ipam", "labels", "external"):  # fmt: skip
            if getattr(network, option) not in (None, ()):
                body = raw[network.key] if isinstance(raw, LocatedDict) else None
                mark = mark_within(body, (option,), raw.key_mark(network.key))  # type: ignore[union-attr]
                _report_key(mark, f"networks.{network.key}.{option}", NOT_RUN, problems, warnings,
                            strict)  # fmt: skip


def _with_absolute_files(resources: list[SecretSpec], project_dir: Path) -> list[SecretSpec]:
    return [
        dataclasses.replace(r, file=str((project_dir / r.file).resolve())) if r.file else r
        for r in resources
    ]


def _with_default_network(
    networks: list[NetworkSpec], services: Sequence[ServiceSpec], project: str
) -> list[NetworkSpec]:
    """Services that name no network joined `default`; it is made when needed."""
    needs_default = any("default" in s.network_names for s in services)
    keys = {n.key for n in networks}
    if needs_default and "default" not in keys:
        networks = [NetworkSpec(key="default", name=f"{project}_default"), *networks]
    return networks
