"""Restart decisions and backoff: pure functions, no Trio, no clock."""

from orchestrator.spec.model import RestartMode, RestartPolicy

INITIAL_BACKOFF = 0.1
MAX_BACKOFF = 30.0
RESET_AFTER = 10.0
"""A container that ran this long is considered healthy again: backoff resets."""


def should_restart(
    policy: RestartPolicy, exit_code: int, restarts_so_far: int, stop_requested: bool
) -> bool:
    """Whether a container that just exited with `exit_code` is started again.

    A stop asked for by the user (down, Ctrl-C) never restarts, whatever the
    policy; `unless-stopped` differs from `always` only across a daemon
    restart, which a single supervisor does not have.
    """
    if stop_requested:
        return False
    match policy.mode:
        case RestartMode.NO:
            return False
        case RestartMode.ALWAYS | RestartMode.UNLESS_STOPPED:
            return True
        case RestartMode.ON_FAILURE:
            if exit_code == 0:
                return False
            return policy.max_retries is None or restarts_so_far < policy.max_retries


def next_backoff(previous: float | None, ran_for: float) -> float:
    """Delay before the next start: 100 ms, doubling, capped at 30 s; reset
    to 100 ms once a run lasted RESET_AFTER seconds or more."""
    if previous is None or ran_for >= RESET_AFTER:
        return INITIAL_BACKOFF
    return min(previous * 2, MAX_BACKOFF)
