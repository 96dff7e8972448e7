"""One Linux bridge per network, carrying the network's gateway address.

Links are labelled with IFLA_IFALIAS so that a supervisor restarted after a
crash can find what an earlier run left behind (`links_labelled`).
"""

import errno
import hashlib
from ipaddress import IPv4Interface

from netplug._netlink import in_thread, iproute, tolerating, translated
from netplug.errors import NetlinkError

_KINDS = ("b", "v")


def link_name(kind: str, key: str) -> str:
    """A stable link name for `key`: "cr", the kind ("b" bridge, "v" veth), and
    10 hex digits of its hash, 13 characters in all (IFNAMSIZ allows 15)."""
    if kind not in _KINDS:
        raise ValueError(f"link kind must be one of {_KINDS}, not {kind!r}")
    return f"cr{kind}{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def ensure_bridge_blocking(name: str, gateway: IPv4Interface, label: str) -> None:
    """`ensure_bridge` in the calling thread, which it blocks."""
    with iproute() as ipr:
        with translated(f"add bridge {name}"), tolerating(errno.EEXIST):
            ipr.link("add", ifname=name, kind="bridge")
        with translated(f"look up bridge {name}"):
            (link,) = ipr.link("get", ifname=name)
        kind = link.get("IFLA_LINKINFO").get("IFLA_INFO_KIND")
        if kind != "bridge":
            raise NetlinkError(f"cannot reuse link {name}: it is a {kind}, not a bridge")
        index = link["index"]
        # Labelled first, before anything else can fail: removal finds the
        # bridge by its label (the kernel takes none when a link is added).
        with translated(f"label bridge {name}"):
            ipr.link("set", index=index, ifalias=label)
        with translated(f"add address {gateway} to bridge {name}"), tolerating(errno.EEXIST):
            ipr.addr(
                "add", index=index, address=str(gateway.ip), prefixlen=gateway.network.prefixlen
            )
        with translated(f"bring up bridge {name}"):
            ipr.link("set", index=index, state="up")


async def ensure_bridge(name: str, gateway: IPv4Interface, *, label: str) -> None:
    """Create the bridge or reuse it, label it, give it `gateway` and bring it up."""
    await in_thread(ensure_bridge_blocking, name, gateway, label)


def _remove_bridge(name: str) -> None:
    with translated(f"delete bridge {name}"), tolerating(errno.ENODEV), iproute() as ipr:
        ipr.link("del", ifname=name)


async def remove_bridge(name: str) -> None:
    """Delete the bridge (its ports are released); a missing one is not an error."""
    await in_thread(_remove_bridge, name)


def _links_labelled(prefix: str) -> list[str]:
    with translated("dump links"), iproute() as ipr:
        links = ipr.link("dump")
    return sorted(
        str(link.get("IFLA_IFNAME"))
        for link in links
        if (link.get("IFLA_IFALIAS") or "").startswith(prefix)
    )


async def links_labelled(prefix: str) -> list[str]:
    """Names of the links in the current netns whose ifalias starts with `prefix`."""
    return await in_thread(_links_labelled, prefix)
