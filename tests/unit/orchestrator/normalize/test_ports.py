"""parse_ports and parse_expose: short and long syntax into PortConfig."""

import pytest

from orchestrator.spec.normalize import PortConfig, parse_expose, parse_ports
from tests.unit.orchestrator.normalize.expect import normalize_error

P = PortConfig


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param("3000", (P(3000),), id="target"),
        pytest.param(3000, (P(3000),), id="target-as-number"),
        pytest.param("3000-3002", (P(3000), P(3001), P(3002)), id="target-range"),
        pytest.param("8000:8000", (P(8000, "8000"),), id="published"),
        pytest.param("9090-9091:8080-8081", (P(8080, "9090"), P(8081, "9091")), id="both-ranges"),
        pytest.param("127.0.0.1:8001:8001", (P(8001, "8001", "127.0.0.1"),), id="host-ip"),
        pytest.param(
            "127.0.0.1:5000-5001:5000-5001",
            (P(5000, "5000", "127.0.0.1"), P(5001, "5001", "127.0.0.1")),
            id="host-ip-ranges",
        ),
        pytest.param("[::1]:6001:6001", (P(6001, "6001", "::1"),), id="ipv6-bracketed"),
        pytest.param("::1:6001:6001", (P(6001, "6001", "::1"),), id="ipv6-bare"),
        pytest.param("127.0.0.1::80", (P(80, None, "127.0.0.1"),), id="host-ip-any-port"),
        pytest.param("6060:6060/udp", (P(6060, "6060", protocol="udp"),), id="udp"),
        pytest.param("53/UDP", (P(53, protocol="udp"),), id="protocol-case"),
        pytest.param("132:132/sctp", (P(132, "132", protocol="sctp"),), id="sctp"),
        pytest.param("80/", (P(80),), id="empty-protocol-is-tcp"),
        pytest.param("8000-8010:80", (P(80, "8000-8010"),), id="published-range-one-target"),
        pytest.param(
            "9999-10000:9999-10000",
            (P(10000, "10000"), P(9999, "9999")),
            id="ordered-by-text-as-compose-go",
        ),
    ],
)
def test_short_syntax(entry: object, expected: tuple[PortConfig, ...]) -> None:
    assert parse_ports([entry]) == expected


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param({"target": 80}, P(80), id="target-only"),
        pytest.param({"target": 80, "published": 8080}, P(80, "8080"), id="published-number"),
        pytest.param({"target": 80, "published": "8080"}, P(80, "8080"), id="published-text"),
        pytest.param(
            {"target": 80, "published": "8000-8010"}, P(80, "8000-8010"), id="published-range"
        ),
        pytest.param({"target": "80"}, P(80), id="interpolated-target"),
        pytest.param(
            {
                "name": "web",
                "target": 80,
                "published": 8080,
                "host_ip": "127.0.0.1",
                "protocol": "UDP",
                "mode": "host",
                "app_protocol": "http",
            },
            P(80, "8080", "127.0.0.1", "udp", "host", "web", "http"),
            id="every-key",
        ),
        pytest.param({"target": 80, "host_ip": "[::1]"}, P(80, None, "::1"), id="ipv6-host-ip"),
        pytest.param({"target": 80, "x-note": 1}, P(80), id="extension-key"),
    ],
)
def test_long_syntax(entry: object, expected: PortConfig) -> None:
    assert parse_ports([entry]) == (expected,)


def test_entries_keep_file_order() -> None:
    assert parse_ports(["81", {"target": 82}, 83]) == (P(81), P(82), P(83))


@pytest.mark.parametrize(
    ("entries", "message", "path"),
    [
        pytest.param("80", "'80' is not a list of ports", (), id="not-a-list"),
        pytest.param(["70000"], "'70000' is not a port number (1-65535)", (0,), id="too-big"),
        pytest.param(["0"], "'0' is not a port number (1-65535)", (0,), id="zero"),
        pytest.param([70000], "70000 is not a port number (1-65535)", (0,), id="number-too-big"),
        pytest.param(
            ["80", "http"],
            "'http' is not a port or a port range such as 8000-8010",
            (1,),
            id="not-a-number",
        ),
        pytest.param(
            ["8010-8000"],
            "'8010-8000' is a port range that ends before it starts",
            (0,),
            id="reversed-range",
        ),
        pytest.param(
            ["8000-8002:80-81"],
            "'8000-8002:80-81' maps 2 container ports to 3 host ports",
            (0,),
            id="range-sizes",
        ),
        pytest.param(["8080:"], "'8080:' names no container port", (0,), id="no-target"),
        pytest.param(
            ["80/icmp"], "'icmp' is not a protocol (tcp, udp or sctp)", (0,), id="protocol"
        ),
        pytest.param(["localhost:80:80"], "'localhost' is not an IP address", (0,), id="host-ip"),
        pytest.param(
            [True],
            "True is not a port; expected a string such as '8080:80', a number or a mapping",
            (0,),
            id="boolean",
        ),
        pytest.param(
            [{"published": 80}], "a port mapping needs 'target'", (0,), id="no-target-key"
        ),
        pytest.param(
            [{"target": 80, "published": "80:80"}],
            "'80:80' is not a port or a port range such as 8000-8010",
            (0, "published"),
            id="long-published",
        ),
        pytest.param(
            [{"target": 80, "published": 1.5}],
            "1.5 is not a port or a port range",
            (0, "published"),
            id="long-published-type",
        ),
        pytest.param(
            [{"target": "http"}],
            "'http' is not a port number (1-65535)",
            (0, "target"),
            id="long-target",
        ),
        pytest.param(
            [{"target": 80, "mode": "bridge"}],
            "'bridge' is not one of host, ingress",
            (0, "mode"),
            id="long-mode",
        ),
        pytest.param(
            [{"target": 80, "protocol": "icmp"}],
            "'icmp' is not a protocol (tcp, udp or sctp)",
            (0, "protocol"),
            id="long-protocol",
        ),
        pytest.param(
            [{"target": 80, "host_ip": "my-host"}],
            "'my-host' is not an IP address",
            (0, "host_ip"),
            id="long-host-ip",
        ),
        pytest.param(
            [{"target": 80, "external": 1}],
            "unknown key 'external' in a port mapping; expected app_protocol, host_ip, mode,"
            " name, protocol, published, target",
            (0, "external"),
            id="long-unknown-key",
        ),
    ],
)
def test_errors(entries: object, message: str, path: tuple[str | int, ...]) -> None:
    with normalize_error(message, path):
        parse_ports(entries)


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        pytest.param(["3000"], ("3000",), id="port"),
        pytest.param([3000], ("3000",), id="number"),
        pytest.param(["8000-8010"], ("8000-8010",), id="range"),
        pytest.param(["53/udp", "8000-8001/tcp"], ("53/udp", "8000-8001/tcp"), id="protocol"),
    ],
)
def test_expose(entries: object, expected: tuple[str, ...]) -> None:
    assert parse_expose(entries) == expected


@pytest.mark.parametrize(
    ("entries", "message", "path"),
    [
        pytest.param(
            ["80", "80:80"],
            "'80:80' is not a port or range with an optional protocol, such as 8000/udp",
            (1,),
            id="mapping",
        ),
        pytest.param(["99999"], "'99999' is not a port number (1-65535)", (0,), id="too-big"),
        pytest.param(
            ["80/icmp"], "'icmp' is not a protocol (tcp, udp or sctp)", (0,), id="protocol"
        ),
        pytest.param("80", "'80' is not a list; expected a list of ports", (), id="not-a-list"),
    ],
)
def test_expose_errors(entries: object, message: str, path: tuple[str | int, ...]) -> None:
    with normalize_error(message, path):
        parse_expose(entries)
