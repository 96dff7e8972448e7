"""parse_depends_on, parse_service_networks and parse_file_references."""

import pytest

from orchestrator.spec.normalize import (
    Dependency,
    FileReference,
    ServiceNetwork,
    parse_depends_on,
    parse_file_references,
    parse_service_networks,
)
from tests.unit.orchestrator.normalize.expect import normalize_error


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(["db", "cache"], (Dependency("db"), Dependency("cache")), id="list"),
        pytest.param([], (), id="empty-list"),
        pytest.param(
            {"db": {"condition": "service_healthy"}},
            (Dependency("db", "service_healthy"),),
            id="mapping",
        ),
        pytest.param({"db": {}}, (Dependency("db"),), id="mapping-defaults"),
        pytest.param(
            {
                "migrate": {
                    "condition": "service_completed_successfully",
                    "restart": True,
                    "required": False,
                },
                "db": {"condition": "service_started"},
            },
            (
                Dependency("migrate", "service_completed_successfully", True, False),
                Dependency("db"),
            ),
            id="mapping-every-key",
        ),
    ],
)
def test_depends_on(value: object, expected: tuple[Dependency, ...]) -> None:
    assert parse_depends_on(value) == expected


@pytest.mark.parametrize(
    ("value", "message", "path"),
    [
        pytest.param(["db", "db"], "service 'db' is listed twice", (1,), id="twice"),
        pytest.param(["db", None], "None is not a string", (1,), id="not-a-name"),
        pytest.param(
            "db",
            "'db' is not a list; expected a list or a mapping of services",
            (),
            id="string",
        ),
        pytest.param(
            {"db": None},
            "None is not a mapping; expected condition, restart and required",
            ("db",),
            id="null-options",
        ),
        pytest.param(
            {"db": {"condition": "healthy"}},
            "'healthy' is not one of service_started, service_healthy,"
            " service_completed_successfully",
            ("db", "condition"),
            id="condition",
        ),
        pytest.param(
            {"db": {"required": "sometimes"}},
            "'sometimes' is not a boolean (true or false)",
            ("db", "required"),
            id="required",
        ),
        pytest.param(
            {"db": {"wait": True}},
            "unknown key 'wait' in a dependency; expected condition, required, restart",
            ("db", "wait"),
            id="unknown-key",
        ),
    ],
)
def test_depends_on_errors(value: object, message: str, path: tuple[str | int, ...]) -> None:
    with normalize_error(message, path):
        parse_depends_on(value)


N = ServiceNetwork


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(["front", "back"], (N("front"), N("back")), id="list"),
        pytest.param({"front": None, "back": {}}, (N("front"), N("back")), id="mapping-null"),
        pytest.param(
            {
                "back": {
                    "aliases": ["db", "database"],
                    "ipv4_address": "172.16.238.10",
                    "ipv6_address": "2001:3984:3989::10",
                    "link_local_ips": ["169.254.8.8"],
                    "mac_address": "02:42:ac:11:65:43",
                    "priority": 1000,
                    "gw_priority": 1,
                    "driver_opts": {"com.docker.network.bridge.name": "br0", "mtu": 1400},
                    "interface_name": "eth1",
                }
            },
            (
                N(
                    "back",
                    ("db", "database"),
                    "172.16.238.10",
                    "2001:3984:3989::10",
                    ("169.254.8.8",),
                    "02:42:ac:11:65:43",
                    1000,
                    1,
                    (("com.docker.network.bridge.name", "br0"), ("mtu", "1400")),
                    "eth1",
                ),
            ),
            id="every-key",
        ),
    ],
)
def test_service_networks(value: object, expected: tuple[ServiceNetwork, ...]) -> None:
    assert parse_service_networks(value) == expected


@pytest.mark.parametrize(
    ("value", "message", "path"),
    [
        pytest.param(["a", "a"], "network 'a' is listed twice", (1,), id="twice"),
        pytest.param(
            {"a": ["x"]},
            "['x'] is not a mapping; expected network options",
            ("a",),
            id="options-type",
        ),
        pytest.param(
            {"a": {"aliases": "x"}},
            "'x' is not a list; expected a list of strings",
            ("a", "aliases"),
            id="aliases",
        ),
        pytest.param(
            {"a": {"priority": "high"}},
            "'high' is not an integer >= -2147483648",
            ("a", "priority"),
            id="priority",
        ),
        pytest.param(
            {"a": {"ipv4": "10.0.0.2"}},
            "unknown key 'ipv4' in network options; expected aliases, driver_opts, gw_priority,"
            " interface_name, ipv4_address, ipv6_address, link_local_ips, mac_address, priority",
            ("a", "ipv4"),
            id="unknown-key",
        ),
    ],
)
def test_service_network_errors(value: object, message: str, path: tuple[str | int, ...]) -> None:
    with normalize_error(message, path):
        parse_service_networks(value)


F = FileReference


@pytest.mark.parametrize(
    ("entries", "kind", "expected"),
    [
        pytest.param(["token"], "secret", F("token", "/run/secrets/token"), id="secret-short"),
        pytest.param(["nginx"], "config", F("nginx", "/nginx"), id="config-short"),
        pytest.param(
            [{"source": "token"}], "secret", F("token", "/run/secrets/token"), id="secret-long"
        ),
        pytest.param(
            [{"source": "token", "target": "api"}],
            "secret",
            F("token", "/run/secrets/api"),
            id="secret-relative-target",
        ),
        pytest.param(
            [{"source": "nginx", "target": "nginx.conf"}],
            "config",
            F("nginx", "/nginx.conf"),
            id="config-relative-target",
        ),
        pytest.param(
            [{"source": "c", "target": "/etc/c.conf", "uid": 103, "gid": "103", "mode": 0o440}],
            "config",
            F("c", "/etc/c.conf", "103", "103", 0o440),
            id="every-key",
        ),
        pytest.param(
            [{"source": "c", "mode": "0440"}],
            "secret",
            F("c", "/run/secrets/c", mode=0o440),
            id="mode-as-octal-text",
        ),
    ],
)
def test_file_references(entries: object, kind: str, expected: FileReference) -> None:
    assert parse_file_references(entries, kind=kind) == (expected,)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("entries", "message", "path"),
    [
        pytest.param("token", "'token' is not a list of secrets", (), id="not-a-list"),
        pytest.param(
            ["a", 1], "1 is not a secret; expected a name or a mapping", (1,), id="entry-type"
        ),
        pytest.param([{"target": "/x"}], "a secret mapping needs 'source'", (0,), id="no-source"),
        pytest.param(
            [{"source": "a", "mode": "rw"}],
            "'rw' is not a file mode such as 0440",
            (0, "mode"),
            id="mode",
        ),
        pytest.param(
            [{"source": "a", "name": "b"}],
            "unknown key 'name' in a secret mapping; expected gid, mode, source, target, uid",
            (0, "name"),
            id="unknown-key",
        ),
    ],
)
def test_file_reference_errors(entries: object, message: str, path: tuple[str | int, ...]) -> None:
    with normalize_error(message, path):
        parse_file_references(entries, kind="secret")
