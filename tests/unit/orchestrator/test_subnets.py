"""make_networks: routes read, subnets chosen and bridges made under one
host-wide lock (a real flock on a file of the run root), with a recording
network on the virtual clock."""

import fcntl
import os
import textwrap
from ipaddress import IPv4Interface, IPv4Network
from pathlib import Path

import pytest
import trio
from trio.testing import MockClock

from netplug.endpoint import EndpointRequest
from netplug.errors import NetworkError
from orchestrator.errors import StackError
from orchestrator.paths import ProjectPaths, StateRoots
from orchestrator.spec import LoadOptions, ProjectSpec, load_project
from orchestrator.subnets import LOCK_WAIT, make_networks

TWO_NETWORKS = """
services:
  api:
    image: api
    networks: [default, back]
networks:
  back:
"""


def lock_is_held(path: Path) -> bool:
    """Whether some open file holds the flock (probed on a file of our own)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


class RecordingNetwork:
    """The host's routes as a list; each call records whether the lock was held."""

    def __init__(self, lock: Path, routes: list[IPv4Network], bridge_time: float = 1.0) -> None:
        self.lock = lock
        self.routes = routes
        self.bridge_time = bridge_time
        self.calls: list[tuple[float, str, bool]] = []
        self.fail_on: str | None = None

    def _record(self, what: str) -> None:
        self.calls.append((trio.current_time(), what, lock_is_held(self.lock)))

    async def networks_in_use(self) -> list[IPv4Network]:
        self._record("read routes")
        await trio.sleep(0.5)
        return list(self.routes)

    async def ensure_bridge(self, name: str, gateway: IPv4Interface, *, label: str) -> None:
        self._record(f"bridge {label.rsplit(':', 1)[-1]}")
        await trio.sleep(self.bridge_time)
        if self.fail_on == label.rsplit(":", 1)[-1]:
            raise NetworkError(f"cannot reuse link {name}: it is a veth, not a bridge")
        self.routes.append(gateway.network)

    async def attach(self, request: EndpointRequest) -> None:
        raise AssertionError("not part of making networks")

    async def close(self) -> None:
        pass


def project_of(tmp_path: Path, name: str) -> tuple[ProjectSpec, ProjectPaths]:
    directory = tmp_path / name
    directory.mkdir()
    compose = directory / "compose.yaml"
    compose.write_text(textwrap.dedent(TWO_NETWORKS).lstrip("\n"), encoding="utf-8")
    project = load_project([compose], shell={}, options=LoadOptions(project_flag=name))
    return project, StateRoots(tmp_path / "run", tmp_path / "data").project(name)


async def test_the_lock_is_held_from_reading_the_routes_until_the_bridges_are_made(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    project, paths = project_of(tmp_path, "shop")
    network = RecordingNetwork(paths.subnet_lock_file, [IPv4Network("10.213.0.0/24")])
    networks = await make_networks(project, paths, network)
    assert network.calls == [
        (0.0, "read routes", True),
        (0.5, "bridge default", True),
        (1.5, "bridge back", True),
    ]
    assert trio.current_time() == 2.5
    assert not lock_is_held(paths.subnet_lock_file)
    assert [(n.name, n.subnet) for n in networks] == [
        ("default", IPv4Network("10.213.1.0/24")),
        ("back", IPv4Network("10.213.2.0/24")),
    ]


async def test_two_projects_made_at_once_get_distinct_subnets(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    """The second reads the routes once the first's bridges carry theirs."""
    shop, shop_paths = project_of(tmp_path, "shop")
    blog, blog_paths = project_of(tmp_path, "blog")
    network = RecordingNetwork(shop_paths.subnet_lock_file, [])
    made: dict[str, list[IPv4Network]] = {}

    async def make(project: ProjectSpec, paths: ProjectPaths) -> None:
        made[project.name] = [n.subnet for n in await make_networks(project, paths, network)]

    async with trio.open_nursery() as nursery:
        nursery.start_soon(make, shop, shop_paths)
        nursery.start_soon(make, blog, blog_paths)
    whats = [what for _, what, _ in network.calls]
    assert whats == ["read routes", "bridge default", "bridge back"] * 2
    assert network.calls[3][0] >= 2.5  # once the first released the lock
    assert set(made["shop"]).isdisjoint(made["blog"])
    assert sorted(made["shop"] + made["blog"]) == [
        IPv4Network(f"10.213.{n}.0/24") for n in range(4)
    ]


async def test_a_bridge_that_cannot_be_made_releases_the_lock(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    project, paths = project_of(tmp_path, "shop")
    network = RecordingNetwork(paths.subnet_lock_file, [])
    network.fail_on = "default"
    reason = r"^network default: cannot reuse link crb\w+: it is a veth, not a bridge$"
    with pytest.raises(StackError, match=reason):
        await make_networks(project, paths, network)
    assert not lock_is_held(paths.subnet_lock_file)


async def test_a_cancellation_while_a_bridge_is_made_releases_the_lock(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    project, paths = project_of(tmp_path, "shop")
    network = RecordingNetwork(paths.subnet_lock_file, [], bridge_time=60.0)
    with trio.move_on_after(10.0):
        await make_networks(project, paths, network)
    assert trio.current_time() == 10.0
    assert not lock_is_held(paths.subnet_lock_file)


async def test_a_lock_held_too_long_by_another_process_is_an_error_naming_it(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    project, paths = project_of(tmp_path, "shop")
    paths.subnet_lock_file.parent.mkdir(parents=True)
    holder = os.open(paths.subnet_lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        network = RecordingNetwork(paths.subnet_lock_file, [])
        with pytest.raises(StackError) as raised:
            await make_networks(project, paths, network)
    finally:
        os.close(holder)
    assert str(raised.value) == (
        f"another corral process has held {paths.subnet_lock_file} for more than 30 s"
    )
    assert trio.current_time() == LOCK_WAIT
    assert network.calls == []
