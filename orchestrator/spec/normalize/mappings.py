"""Key-value lists and maps: labels, annotations, sysctls, driver options,
build arguments, extra hosts, ulimits, and keys that take a string or a list.

Scalars become strings the way Compose renders them: booleans as "true" and
"false", numbers as Go prints them (1.0 is "1", 1e6 is "1e+06").
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, overload

from orchestrator.spec.normalize import values as _values
from orchestrator.spec.normalize._errors import NormalizeError

_FLOAT_PARTS = re.compile(r"(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?")


@dataclass(frozen=True)
class Ulimit:
    name: str
    soft: int
    hard: int
    """-1 is unlimited."""


@overload
def parse_key_values(
    value: object, *, separator: str = "=", allow_none: Literal[True] = True
) -> tuple[tuple[str, str | None], ...]: ...


@overload
def parse_key_values(
    value: object, *, separator: str = "=", allow_none: Literal[False]
) -> tuple[tuple[str, str], ...]: ...


def parse_key_values(
    value: object, *, separator: str = "=", allow_none: bool = True
) -> tuple[tuple[str, str | None], ...]:
    """A list of "KEY<separator>VALUE" strings or a mapping, as ordered pairs
    with string values. A key without a value (listed without the separator,
    or null in a mapping) has None when `allow_none` (build args, to be taken
    from the environment), else "" (labels, as compose-go does). A key given
    twice keeps its first place and its last value."""
    pairs: dict[str, str | None] = {}
    missing = None if allow_none else ""
    if isinstance(value, Mapping):
        for key, item in _values.mapping(value, "a mapping").items():
            pairs[key] = missing if item is None else _values.at(key, scalar_text, item)
    elif isinstance(value, list | tuple):
        for index, entry in enumerate(value):
            if not isinstance(entry, str):
                raise NormalizeError(f"{entry!r} is not a string KEY{separator}VALUE", (index,))
            key, found, text = entry.partition(separator)
            if not key:
                raise NormalizeError(f"{entry!r} has no key before {separator!r}", (index,))
            pairs[key] = text if found else missing
    else:
        raise NormalizeError(f"{value!r} is not a mapping or a list of KEY{separator}VALUE")
    return tuple(pairs.items())


def scalar_text(item: object) -> str:
    """A YAML scalar as Compose writes it out as a string."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int | str):
        return str(item)
    if isinstance(item, float):
        return _go_float(item)
    raise NormalizeError(f"{item!r} is not a string, number or boolean")


def _go_float(number: float) -> str:
    """`number` as Go's fmt.Sprint prints a float64: the shortest digits,
    with an exponent from 1e+06 up and below 1e-04 (%v is %g)."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, number) < 0 else ""
    match = _FLOAT_PARTS.fullmatch(repr(abs(number)))
    assert match is not None, number
    whole, fraction, exponent = match.group(1), match.group(2) or "", match.group(3) or "0"
    digits = (whole + fraction).lstrip("0")
    # The decimal point sits after `point` digits of `digits`.
    point = len(whole) + int(exponent) - (len(whole + fraction) - len(digits))
    digits = digits.rstrip("0")
    if not digits:
        return sign + "0"
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{point - 1:+03d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def parse_extra_hosts(value: object) -> tuple[tuple[str, str], ...]:
    """`extra_hosts` as (host, address) pairs, one per address: a list of
    "HOST=IP" or "HOST:IP" (several addresses comma-separated) or a mapping of
    a host to an address or a list of them. IPv6 brackets are dropped; the
    entries of one host are kept together, as compose-go does."""
    hosts: dict[str, list[str]] = {}
    if isinstance(value, Mapping):
        for host, item in _values.mapping(value, "a mapping of hosts").items():
            listed = [item] if isinstance(item, str) else item
            addresses = _values.at(host, _address_list, listed)
            hosts.setdefault(_values.at(host, _host_name, host), []).extend(addresses)
    elif isinstance(value, list | tuple):
        for index, entry in enumerate(value):
            if not isinstance(entry, str):
                raise NormalizeError(f"{entry!r} is not a string HOST=IP", (index,))
            host, found, text = entry.partition("=")
            if not found:
                host, found, text = entry.partition(":")
            if not found:
                raise NormalizeError(f"{entry!r} is not HOST=IP or HOST:IP", (index,))
            host = _values.at(index, _host_name, host)
            hosts.setdefault(host, []).extend(text.split(","))
    else:
        raise NormalizeError(f"{value!r} is not a mapping or a list of HOST=IP")
    pairs = []
    for host, listed in hosts.items():
        for address in listed:
            if not address:
                raise NormalizeError(f"host {host!r} has an empty address")
            bracketed = address[0] == "[" and address[-1] == "]"
            pairs.append((host, address[1:-1] if bracketed else address))
    return tuple(pairs)


def _address_list(value: object) -> tuple[str, ...]:
    return _values.strings(value, "an address or a list of addresses")


def _host_name(host: str) -> str:
    if not host or ":" in host or "=" in host:
        raise NormalizeError(f"{host!r} is not a host name")
    return host


def parse_ulimits(value: object) -> tuple[Ulimit, ...]:
    """`ulimits`: a name to one limit (soft and hard alike) or to {soft, hard}."""
    limits = []
    for name, item in _values.mapping(value, "a mapping of ulimits").items():
        limits.append(_values.at(name, _ulimit, (name, item)))
    return tuple(limits)


def _ulimit(named: tuple[str, object]) -> Ulimit:
    name, item = named
    if isinstance(item, Mapping):
        value = _values.mapping(item, "soft and hard")
        _values.check_keys(value, ("soft", "hard"), "a ulimit")
        for key in ("soft", "hard"):
            if value.get(key) is None:
                raise NormalizeError(f"ulimit {name!r} needs {key!r}")
        soft = _values.at("soft", _limit, value["soft"])
        hard = _values.at("hard", _limit, value["hard"])
    else:
        soft = hard = _limit(item)
    if hard != -1 and (soft == -1 or soft > hard):
        raise NormalizeError(f"ulimit {name!r}: soft limit {soft} is above hard limit {hard}")
    return Ulimit(name, soft, hard)


def _limit(item: object) -> int:
    number = _values.to_int(item)
    if number is None or number < -1:
        raise NormalizeError(f"{item!r} is not a limit (an integer, -1 for unlimited)")
    return number


def string_or_list(value: object) -> tuple[str, ...]:
    """A key that takes one string or a list of them (dns, dns_search, ...)."""
    if isinstance(value, str):
        return (value,)
    return _values.strings(value, "a string or a list of strings")
