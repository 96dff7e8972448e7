"""parse_duration: Go's duration syntax, as Compose writes stop_grace_period."""

import re

import pytest

from orchestrator.spec.durations import parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("10s", 10.0),
        ("1m30s", 90.0),
        ("500ms", 0.5),
        ("1h", 3600.0),
        ("1h2m3s", 3723.0),
        ("2m", 120.0),
        ("1.5s", 1.5),
        (".5s", 0.5),
        ("1.s", 1.0),
        ("0s", 0.0),
        ("250us", 250e-6),
        ("250µs", 250e-6),
        ("100ns", 100e-9),
        ("10us", 10e-6),
        ("250\u03bcs", 250e-6),
        ("0", 0.0),
        ("+0", 0.0),
        ("+10s", 10.0),
        ("1.5h", 5400.0),
        ("1h30m", 5400.0),
        ("1s500ms", 1.5),
        (10, 10.0),
        (0, 0.0),
        (2.5, 2.5),
    ],
)
def test_valid_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds, abs=1e-12)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10", "'10' is not a duration such as 10s, 1m30s or 500ms"),
        ("ten", "'ten' is not a duration such as 10s, 1m30s or 500ms"),
        ("10x", "'10x' is not a duration such as 10s, 1m30s or 500ms"),
        ("s", "'s' is not a duration such as 10s, 1m30s or 500ms"),
        ("1m 30s", "'1m 30s' is not a duration such as 10s, 1m30s or 500ms"),
        (" 10s", "' 10s' is not a duration such as 10s, 1m30s or 500ms"),
        ("10s ", "'10s ' is not a duration such as 10s, 1m30s or 500ms"),
        ("-5s", "'-5s' is not a duration such as 10s, 1m30s or 500ms"),
        ("+", "'+' is not a duration such as 10s, 1m30s or 500ms"),
        ("1", "'1' is not a duration such as 10s, 1m30s or 500ms"),
        ("00", "'00' is not a duration such as 10s, 1m30s or 500ms"),
        ("10S", "'10S' is not a duration such as 10s, 1m30s or 500ms"),
        ("", "'' is not a duration"),
        (-5, "-5 is negative"),
        (-0.5, "-0.5 is negative"),
        (True, "True is not a duration"),
        (None, "None is not a duration"),
        ([10], "[10] is not a duration"),
        ("\u0663s", "'\u0663s' is not a duration such as 10s, 1m30s or 500ms"),  # Arabic-Indic 3
        (float("nan"), "nan is not a duration"),
        (float("inf"), "inf is longer than any duration can be (about 292 years)"),
        ("3000000h", "'3000000h' is longer than any duration can be (about 292 years)"),
    ],
)
def test_invalid_durations(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_duration(value)
