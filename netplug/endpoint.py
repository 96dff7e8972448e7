"""A veth pair from a network's bridge into a container's network namespace.

The pair is created with its peer already inside the container's netns under
its final name (IFLA_NET_NS_FD in the peer's attributes), so no temporary name
ever exists on the host. The worker thread then steps into that netns (see
`netplug._netlink`) and configures the peer with ioctls (`netplug._ifconfig`),
which need no netlink socket of their own there.
"""

import errno
import os
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any

from netplug._ifconfig import add_default_route, ifindex, set_ipv4_address, set_link_up
from netplug._netlink import (
    enter_netns,
    in_thread,
    iproute,
    netlink_error_code,
    thread_netns_restored,
    tolerating,
    translated,
)


@dataclass(frozen=True)
class EndpointRequest:
    """One container's attachment to one network."""

    netns: Path  # path of the container's netns (a /run/netns file)
    bridge: str  # bridge name in the current (host-side) netns
    host_ifname: str  # name of the veth end that stays on the host side
    address: IPv4Interface  # container address with prefix
    gateway: IPv4Address
    label: str  # ifalias of the host-side veth
    ifname: str = "eth0"  # name inside the container


def _add_veth(ipr: Any, request: EndpointRequest, bridge_index: int, netns_fd: int) -> None:
    ipr.link(
        "add",
        ifname=request.host_ifname,
        kind="veth",
        peer={"ifname": request.ifname, "net_ns_fd": netns_fd},
        master=bridge_index,
        state="up",
    )


def _delete_in_netns(netns_fd: int, ifname: str) -> None:
    with thread_netns_restored():
        enter_netns(netns_fd)
        with tolerating(errno.ENODEV), iproute() as ipr:
            ipr.link("del", ifname=ifname)


def _create_pair(request: EndpointRequest, netns_fd: int) -> None:
    """Create the pair, host end enslaved, labelled and up. An existing pair (or a
    stale interface of the same name in the container) is deleted and redone:
    this is a rare recovery path, and redoing is simpler to trust than verifying."""
    host = request.host_ifname
    with iproute() as ipr:
        with translated(f"look up bridge {request.bridge}"):
            bridge_index = ifindex(request.bridge)
        what = f"add veth {host} on bridge {request.bridge} -> {request.netns}:{request.ifname}"
        with translated(what):
            try:
                _add_veth(ipr, request, bridge_index, netns_fd)
            except Exception as exc:
                if netlink_error_code(exc) != errno.EEXIST:
                    raise
                with tolerating(errno.ENODEV):
                    ipr.link("del", ifname=host)
                _delete_in_netns(netns_fd, request.ifname)
                _add_veth(ipr, request, bridge_index, netns_fd)
        with translated(f"label veth {host}"):
            ipr.link("set", ifname=host, ifalias=request.label)


def _configure_peer(request: EndpointRequest, netns_fd: int) -> None:
    where = f"{request.netns}:{request.ifname}"
    with thread_netns_restored():
        enter_netns(netns_fd)
        with translated(f"add address {request.address} to {where}"):
            set_ipv4_address(request.ifname, request.address)
        with translated(f"bring up {where} and lo"):
            set_link_up(request.ifname)
            set_link_up("lo")
        # A container on several networks keeps the default route of the
        # first one attached: EEXIST means another network already gave it.
        what = f"add default route via {request.gateway} in {request.netns}"
        with translated(what), tolerating(errno.EEXIST):
            add_default_route(request.gateway)


def attach_blocking(request: EndpointRequest) -> None:
    """`attach` in the calling thread, which it blocks."""
    with translated(f"open netns {request.netns}"):
        netns_fd = os.open(request.netns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _create_pair(request, netns_fd)
        _configure_peer(request, netns_fd)
    finally:
        os.close(netns_fd)


async def attach(request: EndpointRequest) -> None:
    """Plug the container's netns into the bridge: veth pair, address, lo up,
    default route via the gateway. Attaching again redoes the pair."""
    await in_thread(attach_blocking, request)


def _detach(host_ifname: str) -> None:
    with translated(f"delete veth {host_ifname}"), tolerating(errno.ENODEV), iproute() as ipr:
        ipr.link("del", ifname=host_ifname)


async def detach(host_ifname: str) -> None:
    """Delete the pair by its host end (the kernel takes the container end with it);
    a missing one is not an error."""
    await in_thread(_detach, host_ifname)
