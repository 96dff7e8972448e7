"""make_plan: names, addresses, hosts files and endpoints of a stack, without root."""

import signal
import textwrap
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest

from netplug.netns import NETNS_DIR
from orchestrator.paths import ProjectPaths, StateRoots
from orchestrator.plan import StackPlan, container_layouts, make_plan, plan_networks
from orchestrator.spec import LoadOptions, ProjectSpec, load_project
from runtime.images import Image, ImageConfig

SHOP = """
services:
  web:
    image: nginx
    hostname: www
    depends_on: [api]
  api:
    image: api
    depends_on: [db]
    networks: [default, back]
  db:
    image: postgres
    networks: [back]
  tool:
    image: busybox
networks:
  back:
"""

LOCALHOST = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"


def load(directory: Path, text: str, project: str) -> ProjectSpec:
    path = directory / "compose.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return load_project([path], shell={}, options=LoadOptions(project_flag=project))


def images_of(project: ProjectSpec) -> dict[str, Image]:
    return {
        s.name: Image(f"docker.io/library/{s.image}:latest", f"sha256:{s.name}", ImageConfig(), ())
        for s in project.services
    }


def paths_of(tmp_path: Path, project: ProjectSpec) -> ProjectPaths:
    return StateRoots(tmp_path / "run", tmp_path / "data").project(project.name)


def plan_of(
    tmp_path: Path,
    text: str = SHOP,
    in_use: Sequence[IPv4Network] = (),
    services: Sequence[str] = (),
    project: str = "shop",
) -> StackPlan:
    spec = load(tmp_path, text, project)
    paths = paths_of(tmp_path, spec)
    return make_plan(spec, images_of(spec), plan_networks(spec, paths, in_use), paths, services)


@pytest.fixture
def shop(tmp_path: Path) -> StackPlan:
    return plan_of(tmp_path)


def test_container_names_follow_compose(shop: StackPlan) -> None:
    assert [c.name for c in shop.containers] == [
        "shop-web-1", "shop-api-1", "shop-db-1", "shop-tool-1",
    ]  # fmt: skip
    assert shop.container_of("db").name == "shop-db-1"
    assert shop.container_of("db").image.digest == "sha256:db"


def test_networks_get_the_first_free_subnets_in_order(shop: StackPlan) -> None:
    assert [(n.name, n.subnet, n.gateway) for n in shop.networks] == [
        ("default", IPv4Network("10.213.0.0/24"), IPv4Interface("10.213.0.1/24")),
        ("back", IPv4Network("10.213.1.0/24"), IPv4Interface("10.213.1.1/24")),
    ]
    assert [n.label for n in shop.networks] == ["corral:shop:default", "corral:shop:back"]


def test_subnets_in_use_on_the_host_are_skipped(tmp_path: Path) -> None:
    in_use = [IPv4Network("10.213.0.0/24"), IPv4Network("10.213.2.0/23")]
    plan = plan_of(tmp_path, in_use=in_use)
    assert [n.subnet for n in plan.networks] == [
        IPv4Network("10.213.1.0/24"),
        IPv4Network("10.213.4.0/24"),
    ]
    assert plan.container_of("web").address == "10.213.1.2"


def test_addresses_follow_the_gateway_in_file_order(shop: StackPlan) -> None:
    addresses = {
        c.service.name: [(e.ifname, e.address, e.gateway) for e in c.endpoints]
        for c in shop.containers
    }
    gateway0, gateway1 = IPv4Address("10.213.0.1"), IPv4Address("10.213.1.1")
    assert addresses == {
        "web": [("eth0", IPv4Interface("10.213.0.2/24"), gateway0)],
        "api": [
            ("eth0", IPv4Interface("10.213.0.3/24"), gateway0),
            ("eth1", IPv4Interface("10.213.1.2/24"), gateway1),
        ],
        "db": [("eth0", IPv4Interface("10.213.1.3/24"), gateway1)],
        "tool": [("eth0", IPv4Interface("10.213.0.4/24"), gateway0)],
    }
    assert shop.container_of("api").address == "10.213.0.3"


def test_a_container_on_two_networks_joins_both_bridges(shop: StackPlan) -> None:
    default, back = shop.networks
    api = shop.container_of("api")
    assert [(e.ifname, e.bridge) for e in api.endpoints] == [
        ("eth0", default.bridge),
        ("eth1", back.bridge),
    ]
    assert default.bridge != back.bridge
    assert len({e.host_ifname for e in api.endpoints}) == 2


def test_same_input_same_plan(tmp_path: Path) -> None:
    in_use = [IPv4Network("10.213.0.0/24"), IPv4Network("192.168.1.0/24")]
    first = plan_of(tmp_path, in_use=in_use)
    again = plan_of(tmp_path, in_use=list(reversed(in_use)))
    assert again == first
    assert [c.address for c in again.containers] == [
        "10.213.1.2", "10.213.1.3", "10.213.2.3", "10.213.1.4",
    ]  # fmt: skip


def test_a_selection_keeps_every_address(tmp_path: Path) -> None:
    full = plan_of(tmp_path)
    part = plan_of(tmp_path, services=["db"])
    assert part.container_of("db").endpoints == full.container_of("db").endpoints
    assert part.container_of("db").hosts == full.container_of("db").hosts


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (["web"], ["web", "api", "db"]),
        (["api"], ["api", "db"]),
        (["db"], ["db"]),
        (["tool", "db"], ["db", "tool"]),
        ([], ["web", "api", "db", "tool"]),
    ],
)
def test_a_selection_pulls_in_its_dependencies(
    tmp_path: Path, selection: list[str], expected: list[str]
) -> None:
    plan = plan_of(tmp_path, services=selection)
    assert [c.service.name for c in plan.containers] == expected
    # networks are planned for the whole project, so addresses never depend on the selection
    assert [n.name for n in plan.networks] == ["default", "back"]


def test_hosts_list_own_names_first_then_services_sharing_a_network(shop: StackPlan) -> None:
    hosts = {c.service.name: c.hosts for c in shop.containers}
    assert hosts["web"] == LOCALHOST + (
        "10.213.0.2 www web shop-web-1\n10.213.0.3 api shop-api-1\n10.213.0.4 tool shop-tool-1\n"
    )
    assert hosts["api"] == LOCALHOST + (
        "10.213.0.3 api shop-api-1\n"
        "10.213.0.2 web shop-web-1\n"
        "10.213.1.3 db shop-db-1\n"
        "10.213.0.4 tool shop-tool-1\n"
    )
    assert hosts["db"] == LOCALHOST + ("10.213.1.3 db shop-db-1\n10.213.1.2 api shop-api-1\n")
    assert hosts["tool"] == LOCALHOST + (
        "10.213.0.4 tool shop-tool-1\n10.213.0.2 web shop-web-1\n10.213.0.3 api shop-api-1\n"
    )


def test_a_hostname_equal_to_the_service_name_is_not_repeated(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "services:\n  web:\n    image: nginx\n    hostname: web\n")
    assert plan.container_of("web").hosts == LOCALHOST + "10.213.0.2 web shop-web-1\n"


def test_kernel_object_names_carry_the_project_prefix(shop: StackPlan) -> None:
    for container in shop.containers:
        suffix = f"{container.service.name}-1"
        assert container.netns_name == f"corral-shop.{suffix}"
        assert container.cgroup_path == f"corral-shop.{suffix}"
        for endpoint in container.endpoints:
            assert endpoint.netns == NETNS_DIR / f"corral-shop.{suffix}"
            assert endpoint.label == f"corral:shop:{container.name}"


def test_link_names_fit_ifnamsiz_and_never_clash(shop: StackPlan) -> None:
    bridges = [n.bridge for n in shop.networks]
    veths = [e.host_ifname for c in shop.containers for e in c.endpoints]
    for name in bridges:
        assert name.startswith("crb")
        assert len(name) <= 15
    for name in veths:
        assert name.startswith("crv")
        assert len(name) <= 15
    assert len(set(bridges + veths)) == len(bridges) + len(veths)


def test_two_projects_get_different_bridges_and_veths(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: nginx\n"
    one, other = plan_of(tmp_path, text), plan_of(tmp_path, text, project="other")
    assert one.networks[0].bridge != other.networks[0].bridge
    assert one.containers[0].endpoints[0].host_ifname != (
        other.containers[0].endpoints[0].host_ifname
    )
    assert other.containers[0].name == "other-web-1"
    assert other.containers[0].netns_name == "corral-other.web-1"


def test_stop_signal_is_the_specs_else_the_images_else_sigterm(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        """
        services:
          own: {image: app, stop_signal: SIGUSR1}
          imaged: {image: app}
          plain: {image: busybox}
        """,
        "signals",
    )
    quitting = ImageConfig(stop_signal="SIGQUIT")
    images = {
        name: Image("app:1", f"sha256:{name}", quitting if name != "plain" else ImageConfig(), ())
        for name in ("own", "imaged", "plain")
    }
    paths = paths_of(tmp_path, spec)
    plan = make_plan(spec, images, plan_networks(spec, paths, ()), paths)
    signals = {c.service.name: c.stop_signal for c in plan.containers}
    assert signals == {"own": signal.SIGUSR1, "imaged": signal.SIGQUIT, "plain": signal.SIGTERM}


def test_layouts_are_the_planned_containers_before_their_addresses(tmp_path: Path) -> None:
    """What a container's root is made from before the host's routes are
    read must be what the plan then starts it with."""
    spec = load(tmp_path, SHOP, "shop")
    images, paths = images_of(spec), paths_of(tmp_path, spec)
    layouts = container_layouts(spec, images, paths, ["api"])
    networks = plan_networks(spec, paths, [IPv4Network("10.213.0.0/24")])
    plan = make_plan(spec, images, networks, paths, ["api"])
    assert [(c.name, c.netns_name, c.cgroup_path, c.image) for c in layouts] == [
        (c.name, c.netns_name, c.cgroup_path, c.image) for c in plan.containers
    ]
    assert [c.name for c in layouts] == ["shop-api-1", "shop-db-1"]
