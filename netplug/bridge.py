"""One Linux bridge per network, carrying the network's gateway address.

Links are labelled with IFLA_IFALIAS so that a supervisor restarted after a
crash can find what an earlier run left behind (`links_labelled`).
"""

import errno
import hashlib
from ipaddress import IPv4Interface

import trio

from netplug import _rtnl as rtnl
from netplug._netlink import tolerating, translated
from netplug.errors import NetlinkError

_KINDS = ("b", "v")


def link_name(kind: str, key: str) -> str:
    """A stable link name for `key`: "cr", the kind ("b" bridge, "v" veth), and
    10 hex digits of its hash, 13 characters in all (IFNAMSIZ allows 15)."""
    if kind not in _KINDS:
        raise ValueError(f"link kind must be one of {_KINDS}, not {kind!r}")
    return f"cr{kind}{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def _ensure_bridge(name: str, gateway: IPv4Interface, label: str) -> None:
    with rtnl.RouteSocket() as sock:
        with translated(f"add bridge {name}"), tolerating(errno.EEXIST):
            sock.call(rtnl.new_bridge(name))
        with translated(f"look up bridge {name}"):
            link = sock.get_link(name)
        if link.kind != "bridge":
            raise NetlinkError(f"cannot reuse link {name}: it is a {link.kind}, not a bridge")
        with translated(f"add address {gateway} to bridge {name}"), tolerating(errno.EEXIST):
            sock.call(rtnl.new_address(link.index, gateway))
        with translated(f"label and bring up bridge {name}"):
            sock.call(rtnl.set_link(name, alias=label, up=True))


async def ensure_bridge(name: str, gateway: IPv4Interface, *, label: str) -> None:
    """Create the bridge or reuse it, label it, give it `gateway` and bring it up."""
    await trio.to_thread.run_sync(_ensure_bridge, name, gateway, label)


def _remove_bridge(name: str) -> None:
    with translated(f"delete bridge {name}"), tolerating(errno.ENODEV), rtnl.RouteSocket() as sock:
        sock.call(rtnl.delete_link(name))


async def remove_bridge(name: str) -> None:
    """Delete the bridge (its ports are released); a missing one is not an error."""
    await trio.to_thread.run_sync(_remove_bridge, name)


def _links_labelled(prefix: str) -> list[str]:
    with translated("dump links"), rtnl.RouteSocket() as sock:
        links = [rtnl.parse_link(reply) for reply in sock.dump(rtnl.RTM_GETLINK, rtnl.link_body())]
    return sorted(link.name for link in links if link.alias.startswith(prefix))


async def links_labelled(prefix: str) -> list[str]:
    """Names of the links in the current netns whose ifalias starts with `prefix`."""
    return await trio.to_thread.run_sync(_links_labelled, prefix)
