"""parse_key_values, scalar_text, parse_extra_hosts, parse_ulimits, string_or_list."""

import pytest

from orchestrator.spec.normalize import (
    Ulimit,
    parse_extra_hosts,
    parse_key_values,
    parse_ulimits,
    scalar_text,
    string_or_list,
)
from tests.unit.orchestrator.normalize.expect import normalize_error


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(["A=1", "B=x=y"], (("A", "1"), ("B", "x=y")), id="list"),
        pytest.param(["A", "B="], (("A", None), ("B", "")), id="list-without-value"),
        pytest.param({"A": "1", "B": None}, (("A", "1"), ("B", None)), id="mapping"),
        pytest.param(
            {"bool": True, "int": 3, "float": 1.0, "big": 1e6, "no": False},
            (("bool", "true"), ("int", "3"), ("float", "1"), ("big", "1e+06"), ("no", "false")),
            id="scalars-as-compose-renders-them",
        ),
        pytest.param(["A=1", "B=2", "A=3"], (("A", "3"), ("B", "2")), id="last-value-wins"),
        pytest.param([], (), id="empty"),
    ],
)
def test_key_values(value: object, expected: tuple[tuple[str, str | None], ...]) -> None:
    assert parse_key_values(value) == expected


def test_key_values_without_none() -> None:
    value = {"a": None, "b": "x"}
    assert parse_key_values(value, allow_none=False) == (("a", ""), ("b", "x"))
    assert parse_key_values(["a", "b=x"], allow_none=False) == (("a", ""), ("b", "x"))


def test_key_values_separator() -> None:
    assert parse_key_values(["a:1"], separator=":") == (("a", "1"),)


@pytest.mark.parametrize(
    ("value", "message", "path"),
    [
        pytest.param(["A=1", 2], "2 is not a string KEY=VALUE", (1,), id="list-item"),
        pytest.param(["=1"], "'=1' has no key before '='", (0,), id="no-key"),
        pytest.param(
            {"A": [1]}, "[1] is not a string, number or boolean", ("A",), id="nested-value"
        ),
        pytest.param("A=1", "'A=1' is not a mapping or a list of KEY=VALUE", (), id="string"),
    ],
)
def test_key_value_errors(value: object, message: str, path: tuple[str | int, ...]) -> None:
    with normalize_error(message, path):
        parse_key_values(value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param("x", "x", id="string"),
        pytest.param(True, "true", id="true"),
        pytest.param(12, "12", id="integer"),
        pytest.param(1.5, "1.5", id="float"),
        pytest.param(2.0, "2", id="whole-float"),
        pytest.param(123456.0, "123456", id="six-digits"),
        pytest.param(1234567.0, "1.234567e+06", id="seven-digits"),
        pytest.param(0.0001, "0.0001", id="small"),
        pytest.param(0.00001, "1e-05", id="smaller"),
        pytest.param(-0.5, "-0.5", id="negative"),
    ],
)
def test_scalar_text(value: object, text: str) -> None:
    assert scalar_text(value) == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(["db=10.0.0.2"], (("db", "10.0.0.2"),), id="equals"),
        pytest.param(["db:10.0.0.2"], (("db", "10.0.0.2"),), id="colon"),
        pytest.param(["v6=::1"], (("v6", "::1"),), id="ipv6-equals"),
        pytest.param(["v6:::1"], (("v6", "::1"),), id="ipv6-colon"),
        pytest.param(["v6=[::1]"], (("v6", "::1"),), id="ipv6-brackets"),
        pytest.param(["gw=host-gateway"], (("gw", "host-gateway"),), id="host-gateway"),
        pytest.param(
            ["db=10.0.0.2,10.0.0.3"], (("db", "10.0.0.2"), ("db", "10.0.0.3")), id="several"
        ),
        pytest.param(
            ["a=1.1.1.1", "b=2.2.2.2", "a=3.3.3.3"],
            (("a", "1.1.1.1"), ("a", "3.3.3.3"), ("b", "2.2.2.2")),
            id="grouped-by-host",
        ),
        pytest.param({"db": "10.0.0.2"}, (("db", "10.0.0.2"),), id="mapping"),
        pytest.param(
            {"db": ["10.0.0.2", "[fe80::1]"]},
            (("db", "10.0.0.2"), ("db", "fe80::1")),
            id="mapping-list",
        ),
    ],
)
def test_extra_hosts(value: object, expected: tuple[tuple[str, str], ...]) -> None:
    assert parse_extra_hosts(value) == expected


@pytest.mark.parametrize(
    ("value", "message", "path"),
    [
        pytest.param(["db"], "'db' is not HOST=IP or HOST:IP", (0,), id="no-address"),
        pytest.param(["=1.1.1.1"], "'' is not a host name", (0,), id="no-host"),
        pytest.param(["db="], "host 'db' has an empty address", (), id="empty-address"),
        pytest.param([1], "1 is not a string HOST=IP", (0,), id="list-item"),
        pytest.param(
            {"db": None},
            "None is not a list; expected an address or a list of addresses",
            ("db",),
            id="mapping-null",
        ),
        pytest.param({"a:b": "1.1.1.1"}, "'a:b' is not a host name", ("a:b",), id="bad-host"),
        pytest.param("db=1", "'db=1' is not a mapping or a list of HOST=IP", (), id="string"),
    ],
)
def test_extra_host_errors(value: object, message: str, path: tuple[str | int, ...]) -> None:
    with normalize_error(message, path):
        parse_extra_hosts(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param({"nproc": 65535}, (Ulimit("nproc", 65535, 65535),), id="single"),
        pytest.param(
            {"nofile": {"soft": 20000, "hard": 40000}},
            (Ulimit("nofile", 20000, 40000),),
            id="soft-hard",
        ),
        pytest.param(
            {"memlock": {"soft": -1, "hard": -1}}, (Ulimit("memlock", -1, -1),), id="unlimited"
        ),
        pytest.param(
            {"core": {"soft": 0, "hard": -1}}, (Ulimit("core", 0, -1),), id="unlimited-hard"
        ),
        pytest.param({"nproc": "10"}, (Ulimit("nproc", 10, 10),), id="interpolated"),
    ],
)
def test_ulimits(value: object, expected: tuple[Ulimit, ...]) -> None:
    assert parse_ulimits(value) == expected


@pytest.mark.parametrize(
    ("value", "message", "path"),
    [
        pytest.param(
            {"nofile": {"soft": 2, "hard": 1}},
            "ulimit 'nofile': soft limit 2 is above hard limit 1",
            ("nofile",),
            id="soft-above-hard",
        ),
        pytest.param(
            {"nofile": {"soft": -1, "hard": 1}},
            "ulimit 'nofile': soft limit -1 is above hard limit 1",
            ("nofile",),
            id="unlimited-soft-above-hard",
        ),
        pytest.param(
            {"nofile": {"soft": 1}}, "ulimit 'nofile' needs 'hard'", ("nofile",), id="no-hard"
        ),
        pytest.param(
            {"nofile": "many"},
            "'many' is not a limit (an integer, -1 for unlimited)",
            ("nofile",),
            id="not-a-number",
        ),
        pytest.param(
            {"nofile": {"soft": -2, "hard": 1}},
            "-2 is not a limit (an integer, -1 for unlimited)",
            ("nofile", "soft"),
            id="below-unlimited",
        ),
        pytest.param(
            ["nofile=1"],
            "['nofile=1'] is not a mapping; expected a mapping of ulimits",
            (),
            id="list",
        ),
    ],
)
def test_ulimit_errors(value: object, message: str, path: tuple[str | int, ...]) -> None:
    with normalize_error(message, path):
        parse_ulimits(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("8.8.8.8", ("8.8.8.8",), id="string"),
        pytest.param(["8.8.8.8", "1.1.1.1"], ("8.8.8.8", "1.1.1.1"), id="list"),
    ],
)
def test_string_or_list(value: object, expected: tuple[str, ...]) -> None:
    assert string_or_list(value) == expected


def test_string_or_list_error() -> None:
    with normalize_error("None is not a string", (1,)):
        string_or_list(["a", None])
