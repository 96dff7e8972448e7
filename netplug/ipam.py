"""Subnets that clash with nothing on the host, and stable addresses inside them.

A subnet is chosen against what the host already routes, so a stack never
shadows a LAN, a VPN or another stack's bridge. Addresses are a pure function
of the subnet and the ordered names, so a restarted container gets its old
address back without any state being stored.
"""

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Interface, IPv4Network
from itertools import islice
from socket import AF_INET

from netplug._netlink import in_thread, iproute, translated
from netplug.errors import SubnetExhausted

DEFAULT_POOL = IPv4Network("10.213.0.0/16")


def choose_subnet(
    in_use: Iterable[IPv4Network],
    *,
    pool: IPv4Network = DEFAULT_POOL,
    prefixlen: int = 24,
) -> IPv4Network:
    """Return the first /prefixlen of `pool` that overlaps none of `in_use`."""
    taken = list(in_use)
    for candidate in pool.subnets(new_prefix=prefixlen):
        if not any(candidate.overlaps(network) for network in taken):
            return candidate
    raise SubnetExhausted(f"no free /{prefixlen} subnet left in pool {pool}")


def networks_in_use_blocking() -> list[IPv4Network]:
    """`networks_in_use` in the calling thread, which it blocks."""
    found: dict[IPv4Network, None] = {}
    with translated("dump IPv4 routes and addresses"), iproute() as ipr:
        for route in ipr.route("dump", family=AF_INET):
            if route["dst_len"] > 0:
                dst = route.get("RTA_DST")
                found[IPv4Network(f"{dst}/{route['dst_len']}", strict=False)] = None
        for addr in ipr.addr("dump", family=AF_INET):
            address = addr.get("IFA_ADDRESS")
            found[IPv4Interface(f"{address}/{addr['prefixlen']}").network] = None
    return list(found)


async def networks_in_use() -> list[IPv4Network]:
    """Every IPv4 route destination (all tables, default route excluded) and every
    IPv4 address's network in the current netns, without duplicates."""
    return await in_thread(networks_in_use_blocking)


def gateway_of(subnet: IPv4Network) -> IPv4Interface:
    """The bridge's address: the subnet's first host address, with its prefix."""
    first = next(iter(subnet.hosts()), None)
    if first is None:
        raise SubnetExhausted(f"subnet {subnet} has no host address for a gateway")
    return IPv4Interface((first, subnet.prefixlen))


def assign_addresses(subnet: IPv4Network, names: Sequence[str]) -> dict[str, IPv4Interface]:
    """Give `names`, in order, the host addresses that follow the gateway's."""
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate names in {list(names)!r}")
    hosts = list(islice(subnet.hosts(), len(names) + 1))
    if len(hosts) < len(names) + 1:
        raise SubnetExhausted(
            f"subnet {subnet} has room for {max(len(hosts) - 1, 0)} addresses "
            f"after its gateway, {len(names)} requested"
        )
    return {
        name: IPv4Interface((host, subnet.prefixlen))
        for name, host in zip(names, hosts[1:], strict=True)
    }
