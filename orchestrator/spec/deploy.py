"""The `deploy` section of a service, typed (Compose's Deploy Specification)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.spec.durations import parse_duration
from orchestrator.spec.normalize import NormalizeError, parse_cpus, parse_key_values, parse_size
from orchestrator.spec.normalize.values import at, check_keys, integer, mapping, strings, text


@dataclass(frozen=True)
class DeviceRequest:
    capabilities: tuple[str, ...] = ()
    count: str | None = None
    """A number, or "all"."""
    device_ids: tuple[str, ...] = ()
    driver: str | None = None
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Resources:
    cpus: float | None = None
    memory: int | None = None
    pids: int | None = None
    devices: tuple[DeviceRequest, ...] = ()


@dataclass(frozen=True)
class RestartPolicyConfig:
    condition: str | None = None
    delay: float | None = None
    max_attempts: int | None = None
    window: float | None = None


@dataclass(frozen=True)
class UpdateConfig:
    parallelism: int | None = None
    delay: float | None = None
    failure_action: str | None = None
    monitor: float | None = None
    max_failure_ratio: float | None = None
    order: str | None = None


@dataclass(frozen=True)
class Placement:
    constraints: tuple[str, ...] = ()
    preferences: tuple[tuple[str, str], ...] = ()
    max_replicas_per_node: int | None = None


@dataclass(frozen=True)
class DeployConfig:
    mode: str | None = None
    replicas: int | None = None
    endpoint_mode: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    limits: Resources | None = None
    reservations: Resources | None = None
    restart_policy: RestartPolicyConfig | None = None
    update_config: UpdateConfig | None = None
    rollback_config: UpdateConfig | None = None
    placement: Placement | None = None


def _duration(body: Mapping[str, object], key: str) -> float | None:
    if body.get(key) is None:
        return None
    try:
        return parse_duration(body[key])
    except ValueError as exc:
        raise NormalizeError(str(exc), (key,)) from None


def _labels(value: object) -> tuple[tuple[str, str], ...]:
    return parse_key_values(value, allow_none=False)


def device_request(value: object) -> DeviceRequest:
    body = mapping(value, "a device request")
    check_keys(body, ("capabilities", "count", "device_ids", "driver", "options"), "a device")
    count = body.get("count")
    return DeviceRequest(
        capabilities=at(
            "capabilities", lambda v: strings(v, "capabilities"), body.get("capabilities") or []
        ),  # fmt: skip
        count=None if count is None else str(count),
        device_ids=at(
            "device_ids", lambda v: strings(v, "device ids"), body.get("device_ids") or []
        ),
        driver=text(body, "driver"),
        options=at("options", _labels, body.get("options") or {}),
    )


def _resources(value: object) -> Resources:
    body = mapping(value, "cpus, memory, pids or devices")
    check_keys(body, ("cpus", "memory", "pids", "devices", "generic_resources"), "resources")
    devices = body.get("devices") or []
    if not isinstance(devices, list):
        raise NormalizeError(f"{devices!r} is not a list of devices", ("devices",))
    return Resources(
        cpus=at("cpus", parse_cpus, body["cpus"]) if body.get("cpus") is not None else None,
        memory=at("memory", parse_size, body["memory"]) if body.get("memory") is not None else None,
        pids=integer(body, "pids", minimum=-1),
        devices=tuple(at("devices", lambda d: _list(d, device_request), devices)),
    )


def _list(items: list[Any], parse: Any) -> tuple[Any, ...]:
    return tuple(at(index, parse, item) for index, item in enumerate(items))


def _restart_policy(value: object) -> RestartPolicyConfig:
    body = mapping(value, "a restart policy")
    check_keys(body, ("condition", "delay", "max_attempts", "window"), "restart_policy")
    condition = text(body, "condition")
    if condition not in (None, "none", "on-failure", "any"):
        raise NormalizeError(f"{condition!r} is not one of none, on-failure, any", ("condition",))
    return RestartPolicyConfig(
        condition=condition,
        delay=_duration(body, "delay"),
        max_attempts=integer(body, "max_attempts"),
        window=_duration(body, "window"),
    )


def _update(value: object) -> UpdateConfig:
    body = mapping(value, "an update or rollback config")
    keys = ("parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order")
    check_keys(body, keys, "update_config")
    ratio = body.get("max_failure_ratio")
    if ratio is not None and (isinstance(ratio, bool) or not isinstance(ratio, int | float)):
        raise NormalizeError(f"{ratio!r} is not a number", ("max_failure_ratio",))
    return UpdateConfig(
        parallelism=integer(body, "parallelism"),
        delay=_duration(body, "delay"),
        failure_action=text(body, "failure_action"),
        monitor=_duration(body, "monitor"),
        max_failure_ratio=None if ratio is None else float(ratio),
        order=text(body, "order"),
    )


def _placement(value: object) -> Placement:
    body = mapping(value, "a placement")
    check_keys(body, ("constraints", "preferences", "max_replicas_per_node"), "placement")
    preferences: list[tuple[str, str]] = []
    entries = body.get("preferences") or []
    if not isinstance(entries, list):
        raise NormalizeError(f"{entries!r} is not a list of preferences", ("preferences",))
    for index, entry in enumerate(entries):
        preference = at(index, lambda v: mapping(v, "a preference such as {spread: ...}"), entry)
        preferences.extend((str(k), str(v)) for k, v in preference.items())
    return Placement(
        constraints=at(
            "constraints", lambda v: strings(v, "constraints"), body.get("constraints") or []
        ),  # fmt: skip
        preferences=tuple(preferences),
        max_replicas_per_node=integer(body, "max_replicas_per_node"),
    )


def parse_deploy(value: object) -> DeployConfig:
    body = mapping(value, "a deploy mapping")
    keys = ("mode", "replicas", "endpoint_mode", "labels", "resources", "restart_policy",
            "update_config", "rollback_config", "placement")  # fmt: skip
    check_keys(body, keys, "deploy")
    resources = at("resources", lambda v: mapping(v, "limits and reservations"),
                   body.get("resources") or {})  # fmt: skip
    at("resources", lambda v: check_keys(v, ("limits", "reservations"), "resources"), resources)

    def optional(source: Mapping[str, object], key: str, parse: Any) -> Any:
        return at(key, parse, source[key]) if source.get(key) is not None else None

    return DeployConfig(
        mode=text(body, "mode"),
        replicas=integer(body, "replicas"),
        endpoint_mode=text(body, "endpoint_mode"),
        labels=at("labels", _labels, body.get("labels") or {}),
        limits=at("resources", lambda r: optional(r, "limits", _resources), resources),
        reservations=at("resources", lambda r: optional(r, "reservations", _resources), resources),
        restart_policy=optional(body, "restart_policy", _restart_policy),
        update_config=optional(body, "update_config", _update),
        rollback_config=optional(body, "rollback_config", _update),
        placement=optional(body, "placement", _placement),
    )
