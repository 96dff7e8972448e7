"""The supervisor asks, the command answers: the network relay over a real
socket pair, with recording operations in place of netplug's."""

import dataclasses
import os
import select
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from netplug.endpoint import EndpointRequest
from netplug.errors import NetlinkError, NetworkError
from orchestrator.network_relay import RelayedNetwork
from orchestrator.network_server import relay_pair, serve_network

BOUND = 10
REQUEST = EndpointRequest(
    netns=Path("/run/netns/corral-shop.web-1"),
    bridge="crb0123456789",
    host_ifname="crv0123456789",
    address=IPv4Interface("10.213.0.2/24"),
    gateway=IPv4Address("10.213.0.1"),
    label="corral:shop:web-1",
)


class RecordingNetwork:
    """Stands in for netplug on either side, recording what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[object, ...]]] = []

    def operations(self) -> Mapping[str, Callable[..., Any]]:
        def networks_in_use() -> list[IPv4Network]:
            self.calls.append(("networks_in_use", ()))
            return [IPv4Network("10.213.0.0/24")]

        def ensure_bridge(name: str, gateway: IPv4Interface, label: str) -> None:
            self.calls.append(("ensure_bridge", (name, gateway, label)))

        def attach(request: EndpointRequest) -> None:
            self.calls.append(("attach", (request,)))
            raise NetlinkError(f"cannot look up bridge {request.bridge}: ENODEV (No such device)")

        return {"networks_in_use": networks_in_use, "ensure_bridge": ensure_bridge,
                "attach": attach}  # fmt: skip

    async def networks_in_use(self) -> list[IPv4Network]:
        self.calls.append(("networks_in_use", ()))
        return []

    async def ensure_bridge(self, name: str, gateway: IPv4Interface, *, label: str) -> None:
        self.calls.append(("ensure_bridge", (name, gateway, label)))

    async def attach(self, request: EndpointRequest) -> None:
        self.calls.append(("attach", (request,)))

    async def close(self) -> None:
        pass


async def test_requests_are_answered_in_the_command_until_the_relay_closes() -> None:
    command, local = RecordingNetwork(), RecordingNetwork()
    command_end, supervisor_end = relay_pair()
    report_read, report_write = os.pipe()
    relayed = RelayedNetwork(supervisor_end, fallback=local)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                trio.to_thread.run_sync, serve_network, command_end, report_read, command.operations
            )
            assert await relayed.networks_in_use() == [IPv4Network("10.213.0.0/24")]
            gateway = IPv4Interface("10.213.0.1/24")
            await relayed.ensure_bridge("crb0123456789", gateway, label="corral:shop:default")
            message = r"^cannot look up bridge crb0123456789: ENODEV \(No such device\)$"
            with pytest.raises(NetworkError, match=message):
                await relayed.attach(REQUEST)
            await relayed.close()  # serve_network returns: the nursery can exit
        await relayed.attach(REQUEST)
    assert command.calls == [
        ("networks_in_use", ()),
        ("ensure_bridge", ("crb0123456789", gateway, "corral:shop:default")),
        ("attach", (REQUEST,)),
    ]
    assert local.calls == [("attach", (REQUEST,))]
    for fd in (report_read, report_write):
        os.close(fd)
    command_end.close()


async def test_the_command_stops_serving_once_the_report_can_be_read() -> None:
    command_end, supervisor_end = relay_pair()
    report_read, report_write = os.pipe()
    os.write(report_write, b"ready\n")
    with trio.fail_after(BOUND):
        await trio.to_thread.run_sync(
            serve_network, command_end, report_read, RecordingNetwork().operations
        )
    assert os.read(report_read, 64) == b"ready\n"  # left for the command to read
    for fd in (report_read, report_write):
        os.close(fd)
    command_end.close()
    supervisor_end.close()


async def test_a_command_that_cannot_load_netplug_answers_every_request_so() -> None:
    def broken() -> Mapping[str, Callable[..., Any]]:
        raise ImportError("No module named 'pyroute2'")

    command_end, supervisor_end = relay_pair()
    report_read, report_write = os.pipe()
    relayed = RelayedNetwork(supervisor_end, fallback=RecordingNetwork())
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.to_thread.run_sync, serve_network, command_end, report_read,
                               broken)  # fmt: skip
            message = r"^cannot make the network: ImportError\(\"No module named 'pyroute2'\"\)$"
            with pytest.raises(NetworkError, match=message):
                await relayed.networks_in_use()
            await relayed.close()
    for fd in (report_read, report_write):
        os.close(fd)
    command_end.close()


async def test_a_command_that_exited_fails_the_request_with_a_clear_error() -> None:
    command_end, supervisor_end = relay_pair()
    command_end.close()
    relayed = RelayedNetwork(supervisor_end, fallback=RecordingNetwork())
    message = r"^cannot set up the network \(attach\): the corral command making it exited$"
    with trio.fail_after(BOUND), pytest.raises(NetworkError, match=message):
        await relayed.attach(REQUEST)
    await relayed.close()


async def test_a_request_cancelled_midway_gives_the_relay_up() -> None:
    command_end, supervisor_end = relay_pair()
    report_read, report_write = os.pipe()
    local = RecordingNetwork()
    relayed = RelayedNetwork(supervisor_end, fallback=local)
    release = threading.Event()
    scope = trio.CancelScope()

    def operations() -> Mapping[str, Callable[..., Any]]:
        def networks_in_use() -> list[IPv4Network]:
            trio.from_thread.run_sync(scope.cancel)
            release.wait(BOUND)
            return [IPv4Network("10.99.0.0/24")]

        return {"networks_in_use": networks_in_use}

    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                trio.to_thread.run_sync, serve_network, command_end, report_read, operations
            )
            with scope:
                await relayed.networks_in_use()
            assert scope.cancelled_caught
            release.set()  # its late reply cannot be sent: the command stops serving
            assert await relayed.networks_in_use() == []  # the fallback's answer
    assert local.calls == [("networks_in_use", ())]
    for fd in (report_read, report_write):
        os.close(fd)
    command_end.close()


async def test_a_request_is_sent_while_an_earlier_one_is_being_answered() -> None:
    """Pipelining: the command reads the next request as soon as it is done
    with one, and each caller gets its own reply."""
    command_end, supervisor_end = relay_pair()
    report_read, report_write = os.pipe()
    relayed = RelayedNetwork(supervisor_end, fallback=RecordingNetwork())
    second = dataclasses.replace(REQUEST, host_ifname="crv9876543210")
    next_request_waiting: list[bool] = []

    def operations() -> Mapping[str, Callable[..., Any]]:
        def attach(request: EndpointRequest) -> None:
            if request == REQUEST:
                readable, _, _ = select.select([command_end], [], [], BOUND)
                next_request_waiting.append(bool(readable))
            else:
                raise NetlinkError(f"cannot add veth {request.host_ifname}")

        return {"attach": attach}

    failures: list[str] = []

    async def attach_second() -> None:
        with pytest.raises(NetworkError) as caught:
            await relayed.attach(second)
        failures.append(str(caught.value))

    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                trio.to_thread.run_sync, serve_network, command_end, report_read, operations
            )
            async with trio.open_nursery() as callers:
                callers.start_soon(relayed.attach, REQUEST)
                await trio.testing.wait_all_tasks_blocked()
                callers.start_soon(attach_second)
            await relayed.close()
    assert next_request_waiting == [True]
    assert failures == ["cannot add veth crv9876543210"]
    for fd in (report_read, report_write):
        os.close(fd)
    command_end.close()


async def test_a_request_in_flight_when_the_relay_is_given_up_fails_clearly() -> None:
    """The reader of the replies is cancelled while another request waits:
    that one fails with a message, instead of being made a second time."""
    command_end, supervisor_end = relay_pair()
    report_read, report_write = os.pipe()
    local = RecordingNetwork()
    relayed = RelayedNetwork(supervisor_end, fallback=local)
    release = threading.Event()
    reader = trio.CancelScope()

    def operations() -> Mapping[str, Callable[..., Any]]:
        def networks_in_use() -> list[IPv4Network]:
            select.select([command_end], [], [], BOUND)  # the second request has come
            trio.from_thread.run_sync(reader.cancel)
            release.wait(BOUND)
            return []

        return {"networks_in_use": networks_in_use, "attach": lambda request: None}

    failures: list[str] = []

    async def read_routes() -> None:
        with reader:
            await relayed.networks_in_use()

    async def attach() -> None:
        with pytest.raises(NetworkError) as caught:
            await relayed.attach(REQUEST)
        failures.append(str(caught.value))
        release.set()

    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                trio.to_thread.run_sync, serve_network, command_end, report_read, operations
            )
            async with trio.open_nursery() as callers:
                callers.start_soon(read_routes)
                await trio.testing.wait_all_tasks_blocked()
                callers.start_soon(attach)
    assert reader.cancelled_caught
    assert failures == [
        "cannot set up the network (attach): the relay to the corral command was given up"
        " while the request was in flight"
    ]
    assert local.calls == []
    for fd in (report_read, report_write):
        os.close(fd)
    command_end.close()


IMPORTS = """
import sys
import netplug.bridge, netplug.endpoint, netplug.ipam, netplug.netns
import orchestrator.network_server
print("trio" in sys.modules, "pyroute2" in sys.modules)
import orchestrator.daemon
print("pyroute2" in sys.modules)
"""


def test_the_command_side_loads_no_trio_and_the_supervisor_no_pyroute2() -> None:
    """What the relay is for: the command can serve without Trio, and the
    supervisor's modules leave pyroute2 to whoever makes a netlink call."""
    result = subprocess.run(
        [sys.executable, "-c", IMPORTS], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.splitlines() == ["False False", "False"]
