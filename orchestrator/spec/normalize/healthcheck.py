"""A service's `healthcheck`, its test in the exec form."""

from collections.abc import Mapping
from dataclasses import dataclass

from orchestrator.spec.durations import parse_duration
from orchestrator.spec.normalize import values as _values
from orchestrator.spec.normalize._errors import NormalizeError

_KEYS = frozenset(
    {"test", "interval", "timeout", "start_period", "start_interval", "retries", "disable"}
)
_DURATIONS = ("interval", "timeout", "start_period", "start_interval")
_TEST_KINDS = ("NONE", "CMD", "CMD-SHELL")


@dataclass(frozen=True)
class Healthcheck:
    """Durations in seconds; None leaves the image's (or the engine's) default."""

    test: tuple[str, ...] | None = None
    """("CMD", program, args...) or ("CMD-SHELL", command); None when the
    image's own check is kept, or when the check is disabled."""
    interval: float | None = None
    timeout: float | None = None
    start_period: float | None = None
    start_interval: float | None = None
    retries: int | None = None
    disable: bool = False
    """No health check runs, not even the image's: `disable: true` or a test
    of ["NONE"]."""


def parse_healthcheck(value: object) -> Healthcheck:
    """The `healthcheck` mapping. A test string runs in a shell
    (("CMD-SHELL", text)); a list starts with NONE, CMD or CMD-SHELL."""
    mapping = _values.mapping(value, "a healthcheck mapping")
    _values.check_keys(mapping, _KEYS, "a healthcheck")
    test = None if mapping.get("test") is None else _values.at("test", _test, mapping["test"])
    disable = _values.flag(mapping, "disable")
    if disable and test not in (None, ("NONE",)):
        raise NormalizeError("a disabled healthcheck takes no test", ("test",))
    durations = {key: _duration(mapping, key) for key in _DURATIONS}
    disabled = disable or test == ("NONE",)
    return Healthcheck(
        test=None if disabled else test,
        retries=_values.integer(mapping, "retries"),
        disable=disabled,
        **durations,
    )


def _test(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        if not value.strip():
            raise NormalizeError("the test is an empty command")
        return ("CMD-SHELL", value)
    test = _values.strings(value, "a command string or a list such as [CMD, curl, -f, URL]")
    if not test or test[0] not in _TEST_KINDS:
        raise NormalizeError(f"{list(test)!r} must start with NONE, CMD or CMD-SHELL")
    if test[0] == "NONE" and len(test) > 1:
        raise NormalizeError("NONE takes nothing after it", (1,))
    if test[0] != "NONE" and len(test) == 1:
        raise NormalizeError(f"{test[0]} needs a command after it")
    return test


def _duration(mapping: Mapping[str, object], key: str) -> float | None:
    item = mapping.get(key)
    if item is None:
        return None
    try:
        return parse_duration(item)
    except ValueError as error:
        raise NormalizeError(str(error), (key,)) from None
