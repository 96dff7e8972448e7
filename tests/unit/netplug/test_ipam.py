from ipaddress import IPv4Interface, IPv4Network

import pytest

from netplug.errors import SubnetExhausted
from netplug.ipam import DEFAULT_POOL, assign_addresses, choose_subnet, gateway_of


def net(text: str) -> IPv4Network:
    return IPv4Network(text)


def test_choose_subnet_takes_the_first_of_the_pool_when_nothing_clashes() -> None:
    assert choose_subnet([net("192.168.1.0/24"), net("10.0.0.0/16")]) == net("10.213.0.0/24")


def test_choose_subnet_skips_clashing_routes_and_addresses() -> None:
    in_use = [net("10.213.0.0/24"), net("10.213.1.128/25"), net("10.213.2.7/32")]
    assert choose_subnet(in_use) == net("10.213.3.0/24")


def test_choose_subnet_skips_every_candidate_a_larger_route_covers() -> None:
    assert choose_subnet([net("10.213.0.0/22")]) == net("10.213.4.0/24")


def test_choose_subnet_accepts_a_generator_and_other_sizes() -> None:
    pool = net("10.1.0.0/24")
    in_use = (n for n in [net("10.1.0.0/26")])
    assert choose_subnet(in_use, pool=pool, prefixlen=26) == net("10.1.0.64/26")


def test_choose_subnet_exhausted_names_the_pool() -> None:
    with pytest.raises(SubnetExhausted, match=r"^no free /24 subnet left in pool 10\.7\.0\.0/23$"):
        choose_subnet([net("10.7.1.0/24"), net("10.7.0.0/25")], pool=net("10.7.0.0/23"))


def test_choose_subnet_exhausted_by_a_covering_route() -> None:
    with pytest.raises(
        SubnetExhausted, match=r"^no free /24 subnet left in pool 10\.213\.0\.0/16$"
    ):
        choose_subnet([net("10.0.0.0/8")], pool=DEFAULT_POOL)


def test_gateway_is_the_first_host_address() -> None:
    assert gateway_of(net("10.213.5.0/24")) == IPv4Interface("10.213.5.1/24")


def test_assign_addresses_follow_the_gateway_in_order() -> None:
    assigned = assign_addresses(net("10.213.5.0/24"), ["web", "db", "cache"])
    assert list(assigned.items()) == [
        ("web", IPv4Interface("10.213.5.2/24")),
        ("db", IPv4Interface("10.213.5.3/24")),
        ("cache", IPv4Interface("10.213.5.4/24")),
    ]


def test_assign_addresses_is_deterministic() -> None:
    names = [f"svc-{i}" for i in range(50)]
    subnet = net("10.213.9.0/24")
    assert assign_addresses(subnet, names) == assign_addresses(subnet, list(names))


def test_assign_addresses_fills_a_subnet_exactly() -> None:
    # a /29 has 6 host addresses: the gateway and 5 containers
    assigned = assign_addresses(net("10.1.0.0/29"), ["a", "b", "c", "d", "e"])
    assert assigned["e"] == IPv4Interface("10.1.0.6/29")


def test_assign_addresses_exhausted() -> None:
    with pytest.raises(
        SubnetExhausted,
        match=r"^subnet 10\.1\.0\.0/29 has room for 5 addresses after its gateway, 6 requested$",
    ):
        assign_addresses(net("10.1.0.0/29"), ["a", "b", "c", "d", "e", "f"])


def test_assign_addresses_rejects_duplicate_names() -> None:
    with pytest.raises(ValueError, match=r"^duplicate names in \['a', 'a'\]$"):
        assign_addresses(net("10.1.0.0/24"), ["a", "a"])
