"""Compose's pull_policy strings, parsed."""

import re

import pytest

from runtime.images.policy import PullPolicy, parse_pull_policy, validate_pull_policy

pytestmark = pytest.mark.timeout(10)


@pytest.mark.parametrize(
    ("text", "pull_absent", "refresh"),
    [
        ("always", True, 0.0),
        ("missing", True, None),
        ("if_not_present", True, None),
        ("never", False, None),
        ("daily", True, 86_400.0),
        ("weekly", True, 604_800.0),
        ("every_12h", True, 43_200.0),
        ("every_1h30m", True, 5_400.0),
        ("every_1.5h", True, 5_400.0),
        ("every_90s", True, 90.0),
        ("every_500ms", True, 0.5),
        ("every_0", True, 0.0),
        ("every_+2m", True, 120.0),
    ],
)
def test_policies(text: str, pull_absent: bool, refresh: float | None) -> None:
    assert parse_pull_policy(text) == PullPolicy(text, pull_absent, refresh)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "sometimes",
            "'sometimes' is not a pull policy: expected always, missing, if_not_present,"
            " never, daily, weekly or every_<duration>",
        ),
        ("build", "pull_policy 'build' needs an image build, which Corral does not do"),
        ("every_", "pull policy 'every_': '' is not a duration such as 12h, 1h30m or 90s"),
        ("every_1d", "pull policy 'every_1d': '1d' is not a duration such as 12h, 1h30m or 90s"),
        ("every_-1h", "pull policy 'every_-1h': '-1h' is not a duration such as 12h, 1h30m or 90s"),
        ("every_12", "pull policy 'every_12': '12' is not a duration such as 12h, 1h30m or 90s"),
        ("Always", "'Always' is not a pull policy: expected always, missing, if_not_present,"
         " never, daily, weekly or every_<duration>"),
    ],
)  # fmt: skip
def test_refused_policies_say_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_pull_policy(text)


def test_validation_for_a_compose_loader_lets_build_pass() -> None:
    for text in ("build", "always", "every_5m"):
        validate_pull_policy(text)
    with pytest.raises(ValueError, match=r"^'rebuild' is not a pull policy"):
        validate_pull_policy("rebuild")
