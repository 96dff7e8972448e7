"""netplug against the real kernel, inside the suite's private network namespace.

Every object is named after a per-test key ("corral-..." namespaces, "cr..."
links) and the fixture removes whatever the test left, so a leak check sees
nothing and a failing test does not poison the next one.
"""

import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv4Network
from pathlib import Path
from uuid import uuid4

import pytest
import trio

from netplug.bridge import ensure_bridge, link_name, links_labelled, remove_bridge
from netplug.endpoint import EndpointRequest, attach, detach
from netplug.errors import NetlinkError
from netplug.ipam import assign_addresses, choose_subnet, gateway_of, networks_in_use
from netplug.netns import NETNS_DIR, create_netns, list_netns, remove_netns

pytestmark = pytest.mark.root

PORT = 7411

LISTEN = f"""
import socket
with socket.create_server((__import__("sys").argv[1], {PORT})) as server:
    conn, _ = server.accept()
    with conn:
        conn.sendall(conn.recv(64).upper())
"""

CONNECT = f"""
import socket, sys, time
for _ in range(100):
    try:
        conn = socket.create_connection((sys.argv[1], {PORT}), timeout=2)
        break
    except ConnectionRefusedError:
        time.sleep(0.02)
with conn:
    conn.sendall(b"ping")
    print(conn.recv(64).decode())
"""


@dataclass(frozen=True)
class Names:
    """The names one test may create; everything carries the test's key."""

    key: str

    @property
    def netns_prefix(self) -> str:
        return f"corral-test-{self.key}-"

    @property
    def label(self) -> str:
        return f"corral-test-{self.key}"

    def netns(self, which: str) -> str:
        return self.netns_prefix + which

    def bridge(self) -> str:
        return link_name("b", self.key)

    def veth(self, which: str) -> str:
        return link_name("v", f"{self.key}/{which}")


@pytest.fixture
async def names() -> AsyncIterator[Names]:
    names = Names(uuid4().hex[:12])
    yield names
    with trio.CancelScope(shield=True), trio.fail_after(10):
        for link in await links_labelled(names.label):
            await detach(link)  # a bridge or a veth: both are deleted by name
        for netns in list_netns(names.netns_prefix):
            await remove_netns(netns)


def mounted(path: Path) -> bool:
    mount_points = (
        line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
    )
    return str(path) in mount_points


async def thread_netns() -> str:
    return await trio.to_thread.run_sync(os.readlink, "/proc/thread-self/ns/net")


async def ip_lines(netns: str, *args: str) -> list[str]:
    """What `ip -4 -o` prints in the named netns: one line per object."""
    result = await trio.run_process(["ip", "-n", netns, "-4", "-o", *args], capture_stdout=True)
    return [" ".join(line.split()) for line in result.stdout.decode().splitlines()]


async def exchange(client_netns: Path, server_netns: Path, address: str) -> str:
    """Send "ping" over TCP from one namespace to a listener in the other (or the same)."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            trio.run_process,
            ["nsenter", f"--net={server_netns}", sys.executable, "-c", LISTEN, address],
        )
        client = await trio.run_process(
            ["nsenter", f"--net={client_netns}", sys.executable, "-c", CONNECT, address],
            capture_stdout=True,
        )
    return client.stdout.decode().strip()


async def test_create_netns_is_idempotent_and_removed_without_trace(names: Names) -> None:
    with trio.fail_after(10):
        path = await create_netns(names.netns("a"))
        assert path == NETNS_DIR / names.netns("a")
        inode = path.stat().st_ino
        assert await create_netns(names.netns("a")) == path
        assert path.stat().st_ino == inode
        assert mounted(path)
        assert list_netns(names.netns_prefix) == [names.netns("a")]
        assert await exchange(path, path, "127.0.0.1") == "PING"  # lo is up

        await remove_netns(names.netns("a"))
        await remove_netns(names.netns("a"))
        assert not path.exists()
        assert not mounted(path)
        assert list_netns(names.netns_prefix) == []


async def test_create_netns_finishes_a_mount_point_left_without_its_mount(names: Names) -> None:
    with trio.fail_after(10):
        path = NETNS_DIR / names.netns("a")
        NETNS_DIR.mkdir(parents=True, exist_ok=True)
        path.touch()
        await create_netns(names.netns("a"))
        assert mounted(path)


async def test_two_containers_talk_over_a_bridge(names: Names) -> None:
    home = await thread_netns()
    with trio.fail_after(20):
        subnet = choose_subnet(await networks_in_use())
        gateway = gateway_of(subnet)
        addresses = assign_addresses(subnet, ["a", "b"])
        bridge = names.bridge()
        for _ in range(2):
            await ensure_bridge(bridge, gateway, label=names.label)
        assert subnet in await networks_in_use()
        assert choose_subnet(await networks_in_use()) != subnet

        requests = {}
        for which in ("a", "b"):
            netns = await create_netns(names.netns(which))
            requests[which] = EndpointRequest(
                netns=netns,
                bridge=bridge,
                host_ifname=names.veth(which),
                address=addresses[which],
                gateway=gateway.ip,
                label=names.label,
            )
            await attach(requests[which])
        await attach(requests["b"])  # again: the pair is redone, traffic still flows

        assert await links_labelled(names.label) == sorted(
            [bridge, names.veth("a"), names.veth("b")]
        )
        for which in ("a", "b"):
            address = addresses[which]
            (line,) = await ip_lines(names.netns(which), "address", "show", "dev", "eth0")
            assert f"inet {address} brd {address.network.broadcast_address} " in line
            assert await ip_lines(names.netns(which), "route", "show") == [
                f"default via {gateway.ip} dev eth0",
                f"{subnet} dev eth0 proto kernel scope link src {address.ip}",
            ]
        a, b = requests["a"].netns, requests["b"].netns
        assert await exchange(a, b, str(addresses["b"].ip)) == "PING"
        assert await exchange(b, a, str(addresses["a"].ip)) == "PING"
        assert await thread_netns() == home

        for which in ("a", "b"):
            await detach(names.veth(which))
            await detach(names.veth(which))
            await remove_netns(names.netns(which))
        await remove_bridge(bridge)
        await remove_bridge(bridge)

        assert await links_labelled(names.label) == []
        assert subnet not in await networks_in_use()
        assert list_netns(names.netns_prefix) == []
        for netns in (a, b):
            assert not netns.exists()
            assert not mounted(netns)


async def test_attach_failure_inside_the_netns_is_translated(names: Names) -> None:
    home = await thread_netns()
    with trio.fail_after(10):
        subnet = choose_subnet(await networks_in_use())
        bridge = names.bridge()
        await ensure_bridge(bridge, gateway_of(subnet), label=names.label)
        netns = await create_netns(names.netns("a"))
        request = EndpointRequest(
            netns=netns,
            bridge=bridge,
            host_ifname=names.veth("a"),
            address=assign_addresses(subnet, ["a"])["a"],
            gateway=IPv4Network("10.99.0.0/24")[1],
            label=names.label,
        )
        pattern = rf"^cannot add default route via 10\.99\.0\.1 in {netns}: ENETUNREACH \(.*\)$"
        with pytest.raises(NetlinkError, match=pattern):
            await attach(request)
        assert await thread_netns() == home


async def test_attach_to_a_missing_bridge_names_it(names: Names) -> None:
    with trio.fail_after(10):
        netns = await create_netns(names.netns("a"))
        request = EndpointRequest(
            netns=netns,
            bridge=names.bridge(),
            host_ifname=names.veth("a"),
            address=IPv4Interface("10.213.0.2/24"),
            gateway=IPv4Interface("10.213.0.1/24").ip,
            label=names.label,
        )
        pattern = rf"^cannot look up bridge {names.bridge()}: ENODEV \(No such device\)$"
        with pytest.raises(NetlinkError, match=pattern):
            await attach(request)
