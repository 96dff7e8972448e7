"""The service keys Corral keeps but does not interpret: blkio_config,
credential_spec, develop, gpus, models and provider, typed as the Compose
Specification defines them."""

from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.spec.deploy import DeviceRequest, device_request
from orchestrator.spec.normalize import NormalizeError, parse_key_values, parse_size
from orchestrator.spec.normalize.values import (
    at,
    check_keys,
    flag,
    integer,
    mapping,
    required_text,
    strings,
    text,
)


@dataclass(frozen=True)
class DeviceWeight:
    path: str
    weight: int


@dataclass(frozen=True)
class DeviceRate:
    path: str
    rate: int


@dataclass(frozen=True)
class BlkioConfig:
    weight: int | None = None
    weight_device: tuple[DeviceWeight, ...] = ()
    device_read_bps: tuple[DeviceRate, ...] = ()
    device_read_iops: tuple[DeviceRate, ...] = ()
    device_write_bps: tuple[DeviceRate, ...] = ()
    device_write_iops: tuple[DeviceRate, ...] = ()


@dataclass(frozen=True)
class CredentialSpec:
    config: str | None = None
    file: str | None = None
    registry: str | None = None


@dataclass(frozen=True)
class WatchRule:
    path: str
    action: str
    target: str | None = None
    ignore: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    initial_sync: bool = False


@dataclass(frozen=True)
class DevelopConfig:
    watch: tuple[WatchRule, ...] = ()


@dataclass(frozen=True)
class ModelUse:
    name: str
    endpoint_var: str | None = None
    model_var: str | None = None


@dataclass(frozen=True)
class ProviderConfig:
    type: str
    options: tuple[tuple[str, str], ...] = ()


_WATCH_ACTIONS = ("rebuild", "restart", "sync", "sync+restart", "sync+exec")


def _items(value: object, what: str) -> list[object]:
    if not isinstance(value, list):
        raise NormalizeError(f"{value!r} is not a list of {what}")
    return value


def _weights(value: object) -> tuple[DeviceWeight, ...]:
    def one(entry: object) -> DeviceWeight:
        body = mapping(entry, "a mapping of path and weight")
        check_keys(body, ("path", "weight"), "a device weight")
        return DeviceWeight(required_text(body, "path", "a device weight"),
                            integer(body, "weight") or 0)  # fmt: skip

    return tuple(at(i, one, e) for i, e in enumerate(_items(value, "device weights")))


def _rates(value: object) -> tuple[DeviceRate, ...]:
    def one(entry: object) -> DeviceRate:
        body = mapping(entry, "a mapping of path and rate")
        check_keys(body, ("path", "rate"), "a device rate")
        return DeviceRate(required_text(body, "path", "a device rate"),
                          at("rate", parse_size, body.get("rate", 0)))  # fmt: skip

    return tuple(at(i, one, e) for i, e in enumerate(_items(value, "device rates")))


def parse_blkio_config(value: object) -> BlkioConfig:
    body = mapping(value, "a blkio_config mapping")
    rate_keys = ("device_read_bps", "device_read_iops", "device_write_bps", "device_write_iops")
    check_keys(body, ("weight", "weight_device", *rate_keys), "blkio_config")
    rates = {key: at(key, _rates, body[key]) for key in rate_keys if body.get(key) is not None}
    return BlkioConfig(
        weight=integer(body, "weight"),
        weight_device=at("weight_device", _weights, body.get("weight_device") or []),
        **rates,
    )


def parse_credential_spec(value: object) -> CredentialSpec:
    body = mapping(value, "a credential_spec mapping")
    check_keys(body, ("config", "file", "registry"), "credential_spec")
    return CredentialSpec(text(body, "config"), text(body, "file"), text(body, "registry"))


def _watch_rule(entry: object) -> WatchRule:
    body = mapping(entry, "a watch rule with path and action")
    keys = ("path", "action", "target", "ignore", "include", "initial_sync", "exec")
    check_keys(body, keys, "a watch rule")
    action = required_text(body, "action", "a watch rule")
    if action not in _WATCH_ACTIONS:
        raise NormalizeError(f"{action!r} is not one of {', '.join(_WATCH_ACTIONS)}", ("action",))
    return WatchRule(
        path=required_text(body, "path", "a watch rule"),
        action=action,
        target=text(body, "target"),
        ignore=at("ignore", lambda v: strings(v, "patterns"), body.get("ignore") or []),
        include=at("include", lambda v: strings(v, "patterns"), body.get("include") or []),
        initial_sync=flag(body, "initial_sync"),
    )


def parse_develop(value: object) -> DevelopConfig:
    body = mapping(value, "a develop mapping with watch")
    check_keys(body, ("watch",), "develop")
    rules = at("watch", lambda v: _items(v, "watch rules"), body.get("watch") or [])
    return DevelopConfig(tuple(at("watch", _watch_rule_at(i), e) for i, e in enumerate(rules)))


def _watch_rule_at(index: int) -> Callable[[object], WatchRule]:
    return lambda entry: at(index, _watch_rule, entry)


def parse_gpus(value: object) -> tuple[DeviceRequest, ...] | str:
    """`gpus: all`, or a list of device requests."""
    if value == "all":
        return "all"
    return tuple(at(i, device_request, e) for i, e in enumerate(_items(value, "GPU requests")))


def parse_models(value: object) -> tuple[ModelUse, ...]:
    """A list of model names, or a mapping of names to endpoint_var/model_var."""
    if isinstance(value, list):
        return tuple(ModelUse(name) for name in strings(value, "model names"))
    body = mapping(value, "a list or a mapping of models")
    uses = []
    for name, options in body.items():
        settings = at(name, lambda v: mapping(v or {}, "endpoint_var and model_var"), options)
        at(name, lambda v: check_keys(v, ("endpoint_var", "model_var"), "a model"), settings)
        uses.append(ModelUse(name, text(settings, "endpoint_var"), text(settings, "model_var")))
    return tuple(uses)


def parse_provider(value: object) -> ProviderConfig:
    body = mapping(value, "a provider mapping with type")
    check_keys(body, ("type", "options"), "provider")
    options = at(
        "options", lambda v: parse_key_values(v, allow_none=False), body.get("options") or {}
    )
    return ProviderConfig(required_text(body, "type", "a provider"), options)
