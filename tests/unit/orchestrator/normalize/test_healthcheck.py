"""parse_healthcheck: the test in exec form, durations in seconds."""

import pytest

from orchestrator.spec.normalize import Healthcheck, parse_healthcheck
from tests.unit.orchestrator.normalize.expect import normalize_error


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            {"test": "curl -f http://localhost"},
            Healthcheck(("CMD-SHELL", "curl -f http://localhost")),
            id="string-runs-in-shell",
        ),
        pytest.param(
            {"test": ["CMD", "curl", "-f", "http://localhost"]},
            Healthcheck(("CMD", "curl", "-f", "http://localhost")),
            id="cmd-list",
        ),
        pytest.param(
            {"test": ["CMD-SHELL", "pg_isready || exit 1"]},
            Healthcheck(("CMD-SHELL", "pg_isready || exit 1")),
            id="cmd-shell-list",
        ),
        pytest.param({"test": ["NONE"]}, Healthcheck(disable=True), id="none-disables"),
        pytest.param({"disable": True}, Healthcheck(disable=True), id="disable"),
        pytest.param(
            {"disable": True, "test": ["NONE"]}, Healthcheck(disable=True), id="disable-and-none"
        ),
        pytest.param({"disable": False}, Healthcheck(), id="not-disabled"),
        pytest.param({}, Healthcheck(), id="empty-keeps-image-check"),
        pytest.param(
            {
                "test": ["CMD", "true"],
                "interval": "1m30s",
                "timeout": "10s",
                "start_period": "1h",
                "start_interval": "500ms",
                "retries": 3,
            },
            Healthcheck(("CMD", "true"), 90.0, 10.0, 3600.0, 0.5, 3),
            id="every-key",
        ),
        pytest.param({"interval": "1.5s"}, Healthcheck(interval=1.5), id="fractional"),
        pytest.param({"timeout": 0}, Healthcheck(timeout=0.0), id="zero"),
        pytest.param({"retries": "5"}, Healthcheck(retries=5), id="interpolated-retries"),
        pytest.param(
            {"interval": "10s", "x-note": "a"}, Healthcheck(interval=10.0), id="extension-key"
        ),  # fmt: skip
    ],
)
def test_healthcheck(value: object, expected: Healthcheck) -> None:
    assert parse_healthcheck(value) == expected


@pytest.mark.parametrize(
    ("value", "message", "path"),
    [
        pytest.param(
            None, "None is not a mapping; expected a healthcheck mapping", (), id="not-a-mapping"
        ),
        pytest.param(
            {"test": ["curl", "-f"]},
            "['curl', '-f'] must start with NONE, CMD or CMD-SHELL",
            ("test",),
            id="no-kind",
        ),
        pytest.param(
            {"test": []}, "[] must start with NONE, CMD or CMD-SHELL", ("test",), id="empty-list"
        ),
        pytest.param({"test": ["CMD"]}, "CMD needs a command after it", ("test",), id="cmd-alone"),
        pytest.param(
            {"test": ["NONE", "x"]}, "NONE takes nothing after it", ("test", 1), id="none-args"
        ),
        pytest.param({"test": " "}, "the test is an empty command", ("test",), id="blank"),
        pytest.param({"test": ["CMD", None]}, "None is not a string", ("test", 1), id="list-item"),
        pytest.param(
            {"disable": True, "test": "true"},
            "a disabled healthcheck takes no test",
            ("test",),
            id="disable-with-test",
        ),
        pytest.param(
            {"interval": "10"},
            "'10' is not a duration such as 10s, 1m30s or 500ms",
            ("interval",),
            id="duration-unit",
        ),
        pytest.param(
            {"start_period": "-5s"},
            "'-5s' is not a duration such as 10s, 1m30s or 500ms",
            ("start_period",),
            id="duration-negative",
        ),
        pytest.param(
            {"retries": -1}, "-1 is not an integer >= 0", ("retries",), id="retries-negative"
        ),
        pytest.param(
            {"disable": "perhaps"},
            "'perhaps' is not a boolean (true or false)",
            ("disable",),
            id="disable-type",
        ),
        pytest.param(
            {"period": "10s"},
            "unknown key 'period' in a healthcheck; expected disable, interval, retries,"
            " start_interval, start_period, test, timeout",
            ("period",),
            id="unknown-key",
        ),
    ],
)
def test_healthcheck_errors(value: object, message: str, path: tuple[str | int, ...]) -> None:
    with normalize_error(message, path):
        parse_healthcheck(value)
