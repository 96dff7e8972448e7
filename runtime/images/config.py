"""The run settings of an image config (its `config` object), as Docker reads them."""

from dataclasses import dataclass
from typing import Any

from runtime.errors import ImageError
from runtime.signals import signal_name

_NANOSECONDS = 1e9


@dataclass(frozen=True)
class Healthcheck:
    """An image's HEALTHCHECK. Durations are in seconds; None means Docker's default.

    `test` is Docker's form: `("NONE",)`, `("CMD", argv...)` or `("CMD-SHELL", command)`.
    """

    test: tuple[str, ...]
    interval: float | None = None
    timeout: float | None = None
    start_period: float | None = None
    start_interval: float | None = None
    retries: int | None = None


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an OCI image config's `config` object that run a container."""

    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    working_dir: str = ""
    user: str = ""
    stop_signal: str = ""
    exposed_ports: tuple[str, ...] = ()  # "80/tcp", sorted
    volumes: tuple[str, ...] = ()  # container paths, sorted
    healthcheck: Healthcheck | None = None


def image_config(config: dict[str, Any], where: str) -> ImageConfig:
    """Read the OCI image config's `config` object (Env, Entrypoint, Cmd, ...)."""
    settings = config.get("config") or {}
    if not isinstance(settings, dict):
        raise ImageError(f"{where}: 'config' is not an object")
    return ImageConfig(
        env=_strings(settings, "Env", where) or (),
        entrypoint=_strings(settings, "Entrypoint", where),
        cmd=_strings(settings, "Cmd", where),
        working_dir=_string(settings, "WorkingDir", where),
        user=_string(settings, "User", where),
        stop_signal=_stop_signal(settings, where),
        exposed_ports=_keys(settings, "ExposedPorts", where),
        volumes=_keys(settings, "Volumes", where),
        healthcheck=_healthcheck(settings.get("Healthcheck"), where),
    )


def _healthcheck(value: Any, where: str) -> Healthcheck | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ImageError(f"{where}: Healthcheck is not an object")
    test = _strings(value, "Test", where)
    if not test:
        return None  # inherits the base image's, which a config already folds in
    retries = value.get("Retries")
    if retries is not None and (not isinstance(retries, int) or retries < 0):
        raise ImageError(f"{where}: Healthcheck.Retries is not a count")
    return Healthcheck(
        test=test,
        interval=_duration(value, "Interval", where),
        timeout=_duration(value, "Timeout", where),
        start_period=_duration(value, "StartPeriod", where),
        start_interval=_duration(value, "StartInterval", where),
        retries=retries or None,
    )


def _duration(settings: dict[str, Any], key: str, where: str) -> float | None:
    """Docker stores durations as integer nanoseconds; 0 or absent means the default."""
    value = settings.get(key)
    if value is None or value == 0:
        return None
    if not isinstance(value, int) or value < 0:
        raise ImageError(f"{where}: Healthcheck.{key} is not a duration in nanoseconds")
    return value / _NANOSECONDS


def _keys(settings: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    """The keys of an object used as a set (`{"80/tcp": {}}`)."""
    value = settings.get(key) or {}
    if not isinstance(value, dict):
        raise ImageError(f"{where}: {key} is not an object")
    return tuple(sorted(value))


def _strings(settings: dict[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    value = settings.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ImageError(f"{where}: {key} is not a list of strings")
    return tuple(value)


def _stop_signal(settings: dict[str, Any], where: str) -> str:
    """StopSignal by its canonical name, checked now: a bad one must stop `up`
    before anything starts, not the container's stop later."""
    text = _string(settings, "StopSignal", where)
    try:
        return signal_name(text) if text else ""
    except ValueError as exc:
        raise ImageError(f"{where}: StopSignal {exc}") from exc


def _string(settings: dict[str, Any], key: str, where: str) -> str:
    value = settings.get(key) or ""
    if not isinstance(value, str):
        raise ImageError(f"{where}: {key} is not a string")
    return value
