"""The effective health check (spec over image over Docker's defaults) and
the status rules after each probe: pure functions, no Trio."""

import pytest

from orchestrator.health import (
    Health,
    HealthCheck,
    ProbeResult,
    Status,
    after_probe,
    effective_check,
    next_interval,
    probe_argv,
)
from orchestrator.spec.normalize import Healthcheck as SpecCheck
from runtime.images import Healthcheck as ImageCheck

IMAGE = ImageCheck(
    test=("CMD", "/healthy", "--image"),
    interval=10.0,
    timeout=2.0,
    start_period=60.0,
    start_interval=1.0,
    retries=7,
)

# The effective check


def test_no_test_anywhere_is_no_check() -> None:
    assert effective_check(None, None) is None
    assert effective_check(SpecCheck(interval=1.0), None) is None


def test_the_image_check_with_docker_defaults_for_what_it_leaves_out() -> None:
    assert effective_check(None, ImageCheck(test=("CMD-SHELL", "curl -f localhost"))) == (
        HealthCheck(
            argv=("/bin/sh", "-c", "curl -f localhost"),
            interval=30.0,
            timeout=30.0,
            retries=3,
            start_period=0.0,
            start_interval=5.0,
        )
    )


def test_each_field_the_spec_sets_wins_over_the_images() -> None:
    spec = SpecCheck(interval=3.0, retries=2)
    assert effective_check(spec, IMAGE) == HealthCheck(
        argv=("/healthy", "--image"),
        interval=3.0,
        timeout=2.0,
        retries=2,
        start_period=60.0,
        start_interval=1.0,
    )
    spec = SpecCheck(test=("CMD", "true"), timeout=5.0, start_period=0.5, start_interval=0.1)
    assert effective_check(spec, IMAGE) == HealthCheck(
        argv=("true",),
        interval=10.0,
        timeout=5.0,
        retries=7,
        start_period=0.5,
        start_interval=0.1,
    )


def test_zero_values_are_unset_as_in_docker() -> None:
    spec = SpecCheck(test=("CMD", "true"), interval=0.0, retries=0)
    check = effective_check(spec, IMAGE)
    assert check is not None
    assert (check.interval, check.retries) == (10.0, 7)


def test_disable_turns_the_images_check_off() -> None:
    assert effective_check(SpecCheck(disable=True), IMAGE) is None


def test_an_image_check_of_none_is_off_unless_the_spec_has_a_test() -> None:
    none = ImageCheck(test=("NONE",), interval=4.0)
    assert effective_check(None, none) is None
    assert effective_check(SpecCheck(retries=1), none) is None
    check = effective_check(SpecCheck(test=("CMD", "true")), none)
    assert check is not None
    assert (check.argv, check.interval) == (("true",), 4.0)


@pytest.mark.parametrize(
    ("test", "argv"),
    [
        (("CMD", "curl", "-f", "http://x/"), ("curl", "-f", "http://x/")),
        (("CMD-SHELL", "exit 1"), ("/bin/sh", "-c", "exit 1")),
    ],
)
def test_a_test_runs_directly_or_in_a_shell(test: tuple[str, ...], argv: tuple[str, ...]) -> None:
    assert probe_argv(test) == argv


def test_a_test_of_none_has_no_command() -> None:
    with pytest.raises(
        ValueError, match=r"^a health check test starts with CMD or CMD-SHELL, not 'NONE'$"
    ):
        probe_argv(("NONE",))


# Status after each probe

CHECK = HealthCheck(argv=("true",), interval=10.0, retries=3, start_period=30.0, start_interval=2.0)


def ok(at: float) -> ProbeResult:
    return ProbeResult(at, 0, "")


def failed(at: float, code: int | None = 1) -> ProbeResult:
    return ProbeResult(at, code, "no")


def play(results: list[ProbeResult], check: HealthCheck = CHECK) -> list[tuple[Status, int]]:
    health = Health()
    seen = []
    for result in results:
        health = after_probe(health, result, check, started_at=100.0)
        seen.append((health.status, health.failing_streak))
    return seen


def test_a_success_makes_healthy_and_clears_the_streak() -> None:
    assert play([ok(110.0), failed(140.0), failed(150.0), ok(160.0)]) == [
        (Status.HEALTHY, 0),
        (Status.HEALTHY, 1),
        (Status.HEALTHY, 2),
        (Status.HEALTHY, 0),
    ]


def test_retries_consecutive_failures_make_unhealthy_and_a_success_heals() -> None:
    assert play(
        [ok(131.0), failed(141.0), failed(151.0), failed(161.0), failed(171.0), ok(181.0)]
    ) == [
        (Status.HEALTHY, 0),
        (Status.HEALTHY, 1),
        (Status.HEALTHY, 2),
        (Status.UNHEALTHY, 3),
        (Status.UNHEALTHY, 4),
        (Status.HEALTHY, 0),
    ]


def test_failures_inside_the_start_period_do_not_count_while_starting() -> None:
    # The start period ends at 130: probes that began before it are not counted.
    assert play([failed(102.0), failed(129.9), failed(130.0), failed(140.0), failed(150.0)]) == [
        (Status.STARTING, 0),
        (Status.STARTING, 0),
        (Status.STARTING, 1),
        (Status.STARTING, 2),
        (Status.UNHEALTHY, 3),
    ]


def test_failures_inside_the_start_period_count_once_healthy() -> None:
    assert play([ok(102.0), failed(104.0), failed(106.0), failed(108.0)]) == [
        (Status.HEALTHY, 0),
        (Status.HEALTHY, 1),
        (Status.HEALTHY, 2),
        (Status.UNHEALTHY, 3),
    ]


def test_a_timeout_or_any_nonzero_exit_is_a_failure() -> None:
    check = HealthCheck(argv=("true",), retries=1)
    assert play([failed(101.0, code=None)], check) == [(Status.UNHEALTHY, 1)]
    assert play([failed(101.0, code=2)], check) == [(Status.UNHEALTHY, 1)]
    assert play([failed(101.0, code=-1)], check) == [(Status.UNHEALTHY, 1)]


def test_the_last_five_results_are_kept() -> None:
    health = Health()
    for at in range(7):
        health = after_probe(health, failed(float(at), code=at), CHECK, started_at=0.0)
    assert [r.exit_code for r in health.results] == [2, 3, 4, 5, 6]


# The wait before each probe


def test_start_interval_applies_while_starting_inside_the_start_period() -> None:
    starting, healthy = Health(), Health(Status.HEALTHY)
    assert next_interval(starting, CHECK, since_start=0.0) == 2.0
    assert next_interval(starting, CHECK, since_start=29.9) == 2.0
    assert next_interval(starting, CHECK, since_start=30.0) == 10.0
    assert next_interval(healthy, CHECK, since_start=5.0) == 10.0
    assert next_interval(Health(Status.UNHEALTHY), CHECK, since_start=5.0) == 10.0


def test_without_a_start_period_the_interval_applies_from_the_start() -> None:
    assert next_interval(Health(), HealthCheck(argv=("true",)), since_start=0.0) == 30.0
