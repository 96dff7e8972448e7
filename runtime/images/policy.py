"""Compose's `pull_policy` values: when an image is pulled before it is used.

    always                    pull (check the registry) every time
    missing, if_not_present   pull only an image the store lacks
    never                     never pull; an absent image is an error
    daily, weekly             check again once the last check is 24 h, 7 days old
    every_<duration>          the same after a Go duration (`every_12h`, `every_1h30m`)

`build` is Compose's too, but Corral builds nothing: `parse_pull_policy`
refuses it by name, `validate_pull_policy` (for a Compose loader) lets it
pass. This module imports nothing heavy, so the loader can use it.
"""

import re
from dataclasses import dataclass

_DAY = 86_400.0
_NAMED = {"daily": _DAY, "weekly": 7 * _DAY}
_EVERY = "every_"
# Go's time.ParseDuration: decimal numbers, each with a unit, "0" alone without one.
_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0}
_UNITS |= {"m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_DURATION = re.compile(f"(?:{_PART.pattern})+")
_EXPECTED = "always, missing, if_not_present, never, daily, weekly or every_<duration>"


@dataclass(frozen=True)
class PullPolicy:
    """A parsed `pull_policy`.

    `pull_absent`: an image the store lacks is pulled (else: ImageNotFound).
    `refresh`: seconds after the last successful registry check of a present
    image before it is checked again; 0 checks every time, None never.
    """

    text: str
    pull_absent: bool
    refresh: float | None


def parse_pull_policy(text: str) -> PullPolicy:
    """The policy `text` names; ValueError with the accepted values if it names none."""
    if text == "always":
        return PullPolicy(text, True, 0.0)
    if text in ("missing", "if_not_present"):
        return PullPolicy(text, True, None)
    if text == "never":
        return PullPolicy(text, False, None)
    if text in _NAMED:
        return PullPolicy(text, True, _NAMED[text])
    if text == "build":
        raise ValueError("pull_policy 'build' needs an image build, which Corral does not do")
    if text.startswith(_EVERY):
        return PullPolicy(text, True, _seconds(text))
    raise ValueError(f"{text!r} is not a pull policy: expected {_EXPECTED}")


def validate_pull_policy(text: str) -> None:
    """ValueError unless `text` is a Compose pull_policy. `build` passes: Compose
    accepts it, though `parse_pull_policy` refuses it, for Corral builds nothing."""
    if text != "build":
        parse_pull_policy(text)


def _seconds(text: str) -> float:
    duration = text.removeprefix(_EVERY).removeprefix("+")
    if duration == "0":
        return 0.0
    if not _DURATION.fullmatch(duration):
        raise ValueError(
            f"pull policy {text!r}: {text.removeprefix(_EVERY)!r} is not a duration"
            " such as 12h, 1h30m or 90s"
        )
    return sum(float(number) * _UNITS[unit] for number, unit in _PART.findall(duration))
