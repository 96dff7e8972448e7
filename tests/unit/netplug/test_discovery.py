from ipaddress import IPv4Address

import pytest

from netplug.bridge import link_name
from netplug.discovery import render_hosts, render_resolv_conf


def test_render_hosts_exact_text() -> None:
    text = render_hosts(
        [
            (IPv4Address("10.213.0.3"), ["web", "frontend"]),
            (IPv4Address("10.213.0.2"), ["db"]),
        ]
    )
    assert text == (
        "127.0.0.1 localhost\n"
        "::1 localhost ip6-localhost ip6-loopback\n"
        "10.213.0.3 web frontend\n"
        "10.213.0.2 db\n"
    )


def test_render_hosts_without_entries() -> None:
    assert render_hosts([]) == "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"


@pytest.mark.parametrize("names", [[], [""], ["a b"], ["a#b"]])
def test_render_hosts_rejects_names_that_break_the_format(names: list[str]) -> None:
    with pytest.raises(ValueError, match=r"^invalid host names for 10\.0\.0\.1: "):
        render_hosts([(IPv4Address("10.0.0.1"), names)])


def test_resolv_conf_names_no_server() -> None:
    text = render_resolv_conf()
    assert "nameserver" not in text
    assert text.endswith("options ndots:0\n")


@pytest.mark.parametrize("kind", ["b", "v"])
def test_link_name_fits_ifnamsiz_and_is_stable(kind: str) -> None:
    name = link_name(kind, "myproject/frontend")
    assert name.startswith(f"cr{kind}")
    assert len(name) == 13
    assert int(name[3:], 16) >= 0
    assert name == link_name(kind, "myproject/frontend")
    assert name != link_name(kind, "myproject/backend")


def test_link_name_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match=r"^link kind must be one of \('b', 'v'\), not 'x'$"):
        link_name("x", "key")
