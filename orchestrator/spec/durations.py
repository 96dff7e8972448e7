"""Compose durations (Go's syntax: `1m30s`, `500ms`, `10s`) in seconds.

As Go's time.ParseDuration: "0" needs no unit, a leading "+" is allowed, and
microseconds are "us", "µs" (micro sign) or "μs" (Greek mu).
"""

import math
import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0}
_UNITS |= {"m": 60.0, "h": 3600.0}
_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
MAX_SECONDS = (2**63 - 1) / 1e9
"""Go's longest duration, about 292 years."""


def parse_duration(value: object) -> float:
    """Seconds in `value`; a bare number is seconds. ValueError if malformed."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    elif value in ("0", "+0"):
        seconds = 0.0
    elif isinstance(value, str) and value:
        position = 1 if value.startswith("+") and len(value) > 1 else 0
        seconds = 0.0
        for match in _PART.finditer(value):
            if match.start() != position:
                break
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            position = match.end()
        if position != len(value):
            raise ValueError(f"{value!r} is not a duration such as 10s, 1m30s or 500ms")
    else:
        raise ValueError(f"{value!r} is not a duration")
    if math.isnan(seconds):
        raise ValueError(f"{value!r} is not a duration")
    if seconds < 0:
        raise ValueError(f"{value!r} is negative")
    if seconds > MAX_SECONDS:
        raise ValueError(f"{value!r} is longer than any duration can be (about 292 years)")
    return seconds
