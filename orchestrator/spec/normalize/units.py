"""Sizes (`512m`) and CPU counts (`0.5`) as Compose reads them."""

import math
import re

from orchestrator.spec.normalize._errors import NormalizeError

# Docker's go-units RAMInBytes: binary multiples, an optional space, the unit
# letter optionally followed by "i" and/or "b", any case: 1g = 1gb = 1GiB.
_SIZE = re.compile(r"(\d+(?:\.\d+)?) ?([kmgtp])?i?b?", re.IGNORECASE)
_MULTIPLIERS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_size(value: object) -> int:
    """Bytes in `value`: an integer is bytes, a string is a number and a unit
    (b, k, m, g, t, p, each optionally followed by b or ib, any case).
    A fractional result is truncated, as Docker does: "1.5k" is 1536."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise NormalizeError(f"{value!r} is not a size (negative)")
        if value >= 2**63:
            raise NormalizeError(f"{value!r} is larger than any size can be")
        return value
    match = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise NormalizeError(f"{value!r} is not a size such as 512m, 1gb or 1024")
    unit = (match.group(2) or "").lower()
    size = float(match.group(1)) * _MULTIPLIERS[unit]
    if not math.isfinite(size) or size >= 2**63:
        raise NormalizeError(f"{value!r} is larger than any size can be")
    return int(size)


def parse_cpus(value: object) -> float:
    """CPUs as a float: a number or a numeric string, 0 or more ("0.5", 2)."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise NormalizeError(f"{value!r} is not a number of CPUs such as 0.5 or 2")
    return number
