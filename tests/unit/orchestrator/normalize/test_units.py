"""parse_size (Docker's RAMInBytes) and parse_cpus."""

import pytest

from orchestrator.spec.normalize import parse_cpus, parse_size
from tests.unit.orchestrator.normalize.expect import normalize_error


@pytest.mark.parametrize(
    ("value", "size"),
    [
        pytest.param(1024, 1024, id="number-is-bytes"),
        pytest.param("1024", 1024, id="digits-are-bytes"),
        pytest.param("10b", 10, id="b"),
        pytest.param("1k", 1024, id="k"),
        pytest.param("1kb", 1024, id="kb"),
        pytest.param("512m", 512 << 20, id="m"),
        pytest.param("512M", 512 << 20, id="upper-m"),
        pytest.param("2MB", 2 << 20, id="mb-upper"),
        pytest.param("1g", 1 << 30, id="g"),
        pytest.param("1gb", 1 << 30, id="gb"),
        pytest.param("1GiB", 1 << 30, id="gib"),
        pytest.param("1 g", 1 << 30, id="space"),
        pytest.param("1t", 1 << 40, id="t"),
        pytest.param("1.5k", 1536, id="fraction"),
        pytest.param("0.3k", 307, id="fraction-truncated"),
        pytest.param(0, 0, id="zero"),
    ],
)
def test_sizes(value: object, size: int) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("512x", "'512x' is not a size such as 512m, 1gb or 1024", id="unit"),
        pytest.param("m", "'m' is not a size such as 512m, 1gb or 1024", id="no-number"),
        pytest.param("-1m", "'-1m' is not a size such as 512m, 1gb or 1024", id="negative-text"),
        pytest.param("1.2.3m", "'1.2.3m' is not a size such as 512m, 1gb or 1024", id="dots"),
        pytest.param(-1, "-1 is not a size (negative)", id="negative"),
        pytest.param(1.5, "1.5 is not a size such as 512m, 1gb or 1024", id="float"),
        pytest.param(True, "True is not a size such as 512m, 1gb or 1024", id="boolean"),
        pytest.param(None, "None is not a size such as 512m, 1gb or 1024", id="null"),
        pytest.param("9" * 400 + "k", f"'{'9' * 400}k' is larger than any size can be", id="huge"),
        pytest.param("9e18", "'9e18' is not a size such as 512m, 1gb or 1024", id="exponent"),
        pytest.param("9000p", "'9000p' is larger than any size can be", id="too-many-bytes"),
        pytest.param(2**63, f"{2**63} is larger than any size can be", id="too-large-integer"),
    ],
)
def test_size_errors(value: object, message: str) -> None:
    with normalize_error(message):
        parse_size(value)


@pytest.mark.parametrize(
    ("value", "cpus"),
    [
        pytest.param(0.5, 0.5, id="float"),
        pytest.param(2, 2.0, id="integer"),
        pytest.param("1.5", 1.5, id="text"),
        pytest.param(0, 0.0, id="zero"),
    ],
)
def test_cpus(value: object, cpus: float) -> None:
    assert parse_cpus(value) == cpus


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("two", "'two' is not a number of CPUs such as 0.5 or 2", id="word"),
        pytest.param(-1, "-1 is not a number of CPUs such as 0.5 or 2", id="negative"),
        pytest.param("inf", "'inf' is not a number of CPUs such as 0.5 or 2", id="infinite"),
        pytest.param(True, "True is not a number of CPUs such as 0.5 or 2", id="boolean"),
        pytest.param(None, "None is not a number of CPUs such as 0.5 or 2", id="null"),
    ],
)
def test_cpus_errors(value: object, message: str) -> None:
    with normalize_error(message):
        parse_cpus(value)
