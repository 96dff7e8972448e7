"""How each service key of the Compose Specification is read into the model.

SERVICE_FIELDS maps a key to a parser taking the YAML value (interpolated
and merged) and returning the model's typed value, or raising NormalizeError
saying what was expected. Interpolation produces strings, so booleans and
numbers are also accepted in their spelled form (`read_only: "true"`), as
Compose casts them.
"""

import importlib
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.spec import isolation_fields as isolation
from orchestrator.spec.durations import parse_duration
from orchestrator.spec.model import (
    EnvFile,
    LifecycleHook,
    Logging,
    RestartMode,
    RestartPolicy,
)
from orchestrator.spec.normalize import (
    NormalizeError,
    parse_build,
    parse_cpus,
    parse_depends_on,
    parse_devices,
    parse_expose,
    parse_extra_hosts,
    parse_file_references,
    parse_healthcheck,
    parse_key_values,
    parse_ports,
    parse_service_networks,
    parse_service_volume,
    parse_size,
    parse_tmpfs,
    parse_ulimits,
    string_or_list,
)
from orchestrator.spec.normalize.values import at, check_keys, mapping, strings, text, to_int
from runtime.errors import ImageError
from runtime.images.policy import validate_pull_policy
from runtime.images.reference import parse_reference
from runtime.signals import signal_name


@dataclass(frozen=True)
class FieldContext:
    project_dir: Path
    home: Path
    environment: Mapping[str, str]
    interpolated: bool = True
    """False for `config --no-interpolate`: values may still hold `${...}`."""


Parser = Callable[[Any, FieldContext], Any]

_TRUE = {"true", "yes", "on", "1"}
_COUNT = re.compile("0*[0-9]{1,10}")
"""A count of ten digits at most (leading zeros aside), so int() never
reads thousands."""
MAX_RESTART_COUNT = 2**31 - 1
_FALSE = {"false", "no", "off", "0"}


def _string(value: Any, _: FieldContext) -> str:
    if isinstance(value, str):
        return value
    raise NormalizeError(f"{value!r} is not a string")


def _user(value: Any, _: FieldContext) -> str:
    """A user name or uid; a number written without quotes is accepted."""
    if isinstance(value, int | str) and not isinstance(value, bool):
        return str(value)
    raise NormalizeError(f"{value!r} is not a user name or uid")


def boolean(value: Any, _: FieldContext | None = None) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise NormalizeError(f"{value!r} is not a boolean (true or false)")


def _integer(minimum: int | None = None, maximum: int | None = None) -> Parser:
    def parse(value: Any, _: FieldContext) -> int:
        number = to_int(value)
        low = minimum if minimum is not None else -(2**63)
        high = maximum if maximum is not None else 2**63
        if number is None or not low <= number <= high:
            bounds = f" from {minimum} to {maximum}" if maximum is not None else (
                f" >= {minimum}" if minimum is not None else "")  # fmt: skip
            raise NormalizeError(f"{value!r} is not an integer{bounds}")
        return number

    return parse


def _size(value: Any, _: FieldContext) -> int:
    return parse_size(value)


def _cpus(value: Any, _: FieldContext) -> float:
    return parse_cpus(value)


def _duration(value: Any, _: FieldContext) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise NormalizeError(str(exc)) from None


def _string_list(value: Any, _: FieldContext) -> tuple[str, ...]:
    return strings(value, "a list of strings")


def _string_or_list(value: Any, _: FieldContext) -> tuple[str, ...]:
    return string_or_list(value)


def command(value: Any, _: FieldContext) -> tuple[str, ...] | None:
    return _command(value)


def _command(value: Any) -> tuple[str, ...] | None:
    """A command or entrypoint: a list, or a string split as a shell would."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return tuple(shlex.split(value))
        except ValueError as exc:
            raise NormalizeError(f"cannot split {value!r} into words: {exc}") from None
    return strings(value, "a string or a list of strings")


def _strict_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    """KEY=VALUE pairs where every key has a value."""
    pairs = parse_key_values(value, allow_none=True)
    for index, (key, text_value) in enumerate(pairs):
        if text_value is None:
            raise NormalizeError(f"{key!r} has no value", (index,))
    return tuple((key, text_value or "") for key, text_value in pairs)


def _pairs(value: Any, _: FieldContext) -> tuple[tuple[str, str], ...]:
    return _strict_pairs(value)


def _environment(value: Any, _: FieldContext) -> tuple[tuple[str, str | None], ...]:
    return parse_key_values(value, allow_none=True)


def restart(value: Any, _: FieldContext) -> RestartPolicy:
    expected = "one of no, always, on-failure[:N], unless-stopped"
    if value is False:  # a file written for YAML 1.1 may say `restart: false`
        return RestartPolicy(RestartMode.NO)
    if not isinstance(value, str):
        raise NormalizeError(f"{value!r} is not {expected}")
    mode_text, _separator, retries_text = value.partition(":")
    try:
        mode = RestartMode(mode_text)
    except ValueError:
        raise NormalizeError(f"{value!r} is not {expected}") from None
    if not retries_text:
        return RestartPolicy(mode)
    if mode is not RestartMode.ON_FAILURE:
        raise NormalizeError(f"{value!r}: only on-failure takes a count, as on-failure:3")
    if not _COUNT.fullmatch(retries_text) or int(retries_text) > MAX_RESTART_COUNT:
        raise NormalizeError(
            f"{value!r}: the count must be a whole number from 0 to {MAX_RESTART_COUNT}"
        )
    return RestartPolicy(mode, int(retries_text))


def stop_signal(value: Any, _: FieldContext) -> str:
    try:
        return signal_name(value)
    except ValueError as exc:
        raise NormalizeError(str(exc)) from exc


def _env_files(value: Any, context: FieldContext) -> tuple[EnvFile, ...]:
    entries = [value] if isinstance(value, str) else value
    if not isinstance(entries, list):
        raise NormalizeError(f"{value!r} is not a path or a list of paths")
    files = []
    for index, entry in enumerate(entries):
        if isinstance(entry, str):
            files.append(EnvFile(str(context.project_dir / entry)))
            continue
        body = at(index, lambda v: mapping(v, "a path or a mapping with path"), entry)
        at(index, lambda v: check_keys(v, ("path", "required", "format"), "env_file"), body)
        path = at(index, lambda v: text(v, "path"), body)
        if not path:
            raise NormalizeError("an env_file entry needs a path", (index,))
        required = at(index, lambda v: boolean(v.get("required", True)), body)
        files.append(EnvFile(str(context.project_dir / path), required, text(body, "format")))
    return tuple(files)


def _logging(value: Any, _: FieldContext) -> Logging:
    body = mapping(value, "a mapping with driver and options")
    check_keys(body, ("driver", "options"), "logging")
    options = at("options", _strict_pairs, body.get("options") or {})
    return Logging(text(body, "driver"), options)


_HOOK_KEYS = ("command", "user", "privileged", "working_dir", "environment")


def _hook(entry: Any) -> LifecycleHook:
    body = mapping(entry, "a hook mapping with command")
    check_keys(body, _HOOK_KEYS, "a hook")
    if "command" not in body:
        raise NormalizeError("a hook needs a command")
    environment = body.get("environment") or {}
    return LifecycleHook(
        command=at("command", _hook_command, body["command"]),
        user=text(body, "user"),
        privileged=at("privileged", boolean, body.get("privileged", False)),
        working_dir=text(body, "working_dir"),
        environment=at("environment", _strict_pairs, environment),
    )


def _hook_command(value: object) -> tuple[str, ...]:
    return _command(value) or ()


def _hooks(value: Any, _: FieldContext) -> tuple[LifecycleHook, ...]:
    if not isinstance(value, list):
        raise NormalizeError(f"{value!r} is not a list of hooks")
    return tuple(at(index, _hook, entry) for index, entry in enumerate(value))


def _choice(*choices: str) -> Parser:
    def parse(value: Any, _: FieldContext) -> str:
        if value in choices:
            return str(value)
        raise NormalizeError(f"{value!r} is not one of {', '.join(choices)}")

    return parse


def _image(value: Any, context: FieldContext) -> str:
    """Checked by the parser the image store uses, so `config` refuses what
    `up` would; a reference still holding variables (`--no-interpolate`) is
    not. An empty one is no image, as in Compose (the loader says so)."""
    image = _string(value, context)
    if image and (context.interpolated or "$" not in image):
        try:
            parse_reference(image)
        except ImageError as exc:
            raise NormalizeError(str(exc)) from exc
    return image


def _pull_policy(value: Any, _: FieldContext) -> str:
    """Checked by the rules the image puller applies, so `up` never meets a policy it refuses."""
    if not isinstance(value, str):
        raise NormalizeError(f"{value!r} is not a pull policy")
    try:
        validate_pull_policy(value)
    except ValueError as exc:
        raise NormalizeError(str(exc)) from exc
    return value


def _volumes(value: Any, context: FieldContext) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise NormalizeError(f"{value!r} is not a list of volumes")
    return tuple(
        at(
            index,
            lambda e: parse_service_volume(e, project_dir=context.project_dir, home=context.home),
            entry,
        )  # fmt: skip
        for index, entry in enumerate(value)
    )


def _profiles(value: Any, _: FieldContext) -> tuple[str, ...]:
    return strings(value, "a list of profile names")


def _rare(module: str, function: str) -> Parser:
    """A parser imported on first use: these keys are rare and their model
    classes cost import time that `corral config` and `up` need not pay."""

    def parse(value: Any, _: FieldContext) -> Any:
        parsed = importlib.import_module(f"orchestrator.spec.{module}")
        return getattr(parsed, function)(value)

    return parse


SERVICE_FIELDS: dict[str, Parser] = {
    "annotations": _pairs,
    "attach": boolean,
    "blkio_config": _rare("extras", "parse_blkio_config"),
    "build": lambda v, c: parse_build(v, project_dir=c.project_dir),
    "cap_add": isolation.capabilities,
    "cap_drop": isolation.capabilities,
    "cgroup": _choice("host", "private"),
    "cgroup_parent": isolation.cgroup_parent,
    "command": command,
    "configs": lambda v, c: parse_file_references(v, kind="config"),
    "container_name": _string,
    "cpu_count": _integer(0),
    "cpu_percent": _integer(0, 100),
    "cpu_period": _integer(0),
    "cpu_quota": _integer(),
    "cpu_rt_period": _integer(0),
    "cpu_rt_runtime": _integer(),
    "cpu_shares": _integer(0),
    "cpus": _cpus,
    "cpuset": _string,
    "credential_spec": _rare("extras", "parse_credential_spec"),
    "depends_on": lambda v, c: parse_depends_on(v),
    "deploy": _rare("deploy", "parse_deploy"),
    "develop": _rare("extras", "parse_develop"),
    "device_cgroup_rules": isolation.device_cgroup_rules,
    "devices": lambda v, c: parse_devices(v),
    "dns": _string_or_list,
    "dns_opt": _string_list,
    "dns_search": _string_or_list,
    "domainname": _string,
    "entrypoint": command,
    "env_file": _env_files,
    "environment": _environment,
    "expose": lambda v, c: parse_expose(v),
    "external_links": _string_list,
    "extra_hosts": lambda v, c: parse_extra_hosts(v),
    "gpus": _rare("extras", "parse_gpus"),
    "group_add": lambda v, c: tuple(str(g) for g in strings(v, "a list of groups")),
    "healthcheck": lambda v, c: parse_healthcheck(v),
    "hostname": _string,
    "image": _image,
    "init": boolean,
    "ipc": _string,
    "isolation": _string,
    "labels": _pairs,
    "links": _string_list,
    "logging": _logging,
    "mac_address": _string,
    "mem_limit": _size,
    "mem_reservation": _size,
    "mem_swappiness": _integer(0, 100),
    "memswap_limit": _size,
    "models": _rare("extras", "parse_models"),
    "network_mode": _string,
    "networks": lambda v, c: parse_service_networks(v),
    "oom_kill_disable": boolean,
    "oom_score_adj": _integer(-1000, 1000),
    "pid": _string,
    "pids_limit": _integer(-1),
    "platform": _string,
    "ports": lambda v, c: parse_ports(v),
    "post_start": _hooks,
    "pre_stop": _hooks,
    "privileged": boolean,
    "profiles": _profiles,
    "provider": _rare("extras", "parse_provider"),
    "pull_policy": _pull_policy,
    "read_only": boolean,
    "restart": restart,
    "runtime": _string,
    "scale": _integer(0),
    "secrets": lambda v, c: parse_file_references(v, kind="secret"),
    "security_opt": isolation.security_opt,
    "shm_size": _size,
    "stdin_open": boolean,
    "stop_grace_period": _duration,
    "stop_signal": stop_signal,
    "storage_opt": _pairs,
    "sysctls": lambda v, c: isolation.check_sysctls(_pairs(v, c)),
    "tmpfs": lambda v, c: parse_tmpfs(v),
    "tty": boolean,
    "ulimits": lambda v, c: isolation.check_ulimit_names(parse_ulimits(v)),
    "use_api_socket": boolean,
    "user": _user,
    "userns_mode": isolation.userns_mode,
    "uts": _string,
    "volumes": _volumes,
    "volumes_from": _string_list,
    "working_dir": _string,
}
