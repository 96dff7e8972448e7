"""Name resolution inside containers: service names and aliases -> addresses.

Names are served by each container's /etc/hosts, rendered here from the
network's address assignments. There is no DNS server (yet), so resolv.conf
names none: glibc and musl then fall back to 127.0.0.1 inside the container's
netns, where nothing listens, so a name missing from the hosts file fails at
once instead of waiting for a timeout.
"""

from collections.abc import Sequence
from ipaddress import IPv4Address

_LOCALHOST_LINES = (
    "127.0.0.1 localhost",
    "::1 localhost ip6-localhost ip6-loopback",
)


def _is_host_name(name: str) -> bool:
    """Whether `name` fits in a hosts line: not empty, no blank, no comment sign."""
    return bool(name) and not any(char.isspace() or char == "#" for char in name)


def render_hosts(entries: Sequence[tuple[IPv4Address, Sequence[str]]]) -> str:
    """An /etc/hosts text: the localhost lines, then "addr name..." per entry, in order."""
    lines = list(_LOCALHOST_LINES)
    for address, names in entries:
        if not names or not all(map(_is_host_name, names)):
            raise ValueError(f"invalid host names for {address}: {list(names)!r}")
        lines.append(" ".join((str(address), *names)))
    return "\n".join(lines) + "\n"


def render_resolv_conf() -> str:
    """A resolv.conf with no nameserver; see the module docstring for why.

    ndots:0 stops the resolver from trying search-domain expansions first.
    """
    return "# written by corral: names resolve from /etc/hosts\noptions ndots:0\n"
