"""should_restart and next_backoff: the restart policy and delay, as pure functions."""

import pytest

from orchestrator.restart import next_backoff, should_restart
from orchestrator.spec.model import RestartMode, RestartPolicy

NO = RestartPolicy(RestartMode.NO)
ALWAYS = RestartPolicy(RestartMode.ALWAYS)
UNLESS_STOPPED = RestartPolicy(RestartMode.UNLESS_STOPPED)
ON_FAILURE = RestartPolicy(RestartMode.ON_FAILURE)
ON_FAILURE_3 = RestartPolicy(RestartMode.ON_FAILURE, 3)
ON_FAILURE_0 = RestartPolicy(RestartMode.ON_FAILURE, 0)


@pytest.mark.parametrize(
    ("policy", "exit_code", "restarts", "expected"),
    [
        (NO, 0, 0, False),
        (NO, 1, 0, False),
        (NO, 137, 5, False),
        (ALWAYS, 0, 0, True),
        (ALWAYS, 1, 0, True),
        (ALWAYS, 137, 1000, True),
        (UNLESS_STOPPED, 0, 0, True),
        (UNLESS_STOPPED, 2, 1000, True),
        (ON_FAILURE, 0, 0, False),
        (ON_FAILURE, 1, 0, True),
        (ON_FAILURE, 143, 1000, True),
        (ON_FAILURE_3, 0, 0, False),
        (ON_FAILURE_3, 1, 0, True),
        (ON_FAILURE_3, 1, 2, True),
        (ON_FAILURE_3, 1, 3, False),
        (ON_FAILURE_3, 1, 4, False),
        (ON_FAILURE_0, 1, 0, False),
    ],
)
def test_should_restart_by_policy(
    policy: RestartPolicy, exit_code: int, restarts: int, expected: bool
) -> None:
    assert should_restart(policy, exit_code, restarts, stop_requested=False) is expected


@pytest.mark.parametrize(
    "policy", [NO, ALWAYS, UNLESS_STOPPED, ON_FAILURE, ON_FAILURE_3], ids=lambda p: str(p)
)
@pytest.mark.parametrize("exit_code", [0, 1, 137])
def test_a_user_stop_never_restarts(policy: RestartPolicy, exit_code: int) -> None:
    assert should_restart(policy, exit_code, 0, stop_requested=True) is False


def test_on_failure_3_allows_exactly_three_restarts() -> None:
    restarts = 0
    while should_restart(ON_FAILURE_3, 1, restarts, stop_requested=False):
        restarts += 1
        assert restarts < 100
    assert restarts == 3


def test_backoff_starts_at_100ms_doubles_and_caps_at_30s() -> None:
    delays: list[float] = []
    previous: float | None = None
    for _ in range(13):
        previous = next_backoff(previous, ran_for=0.5)
        delays.append(previous)
    assert delays == [
        0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0, 30.0, 30.0,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("previous", "ran_for", "expected"),
    [
        (None, 0.0, 0.1),
        (None, 60.0, 0.1),
        (0.1, 0.0, 0.2),
        (25.6, 9.99, 30.0),
        (30.0, 9.99, 30.0),
        (30.0, 10.0, 0.1),
        (30.0, 10.01, 0.1),
        (0.4, 10.0, 0.1),
        (0.4, 9.99, 0.8),
        (3.2, 3600.0, 0.1),
    ],
)
def test_backoff_resets_after_a_run_of_ten_seconds(
    previous: float | None, ran_for: float, expected: float
) -> None:
    assert next_backoff(previous, ran_for) == expected


def test_backoff_grows_again_after_a_reset() -> None:
    delay = next_backoff(None, 0.0)
    for _ in range(5):
        delay = next_backoff(delay, 1.0)
    assert delay == 3.2
    delay = next_backoff(delay, 10.0)
    assert delay == 0.1
    assert [delay := next_backoff(delay, 1.0) for _ in range(3)] == [0.2, 0.4, 0.8]
