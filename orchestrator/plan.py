"""Turn a Compose project into the plain values `runtime` and `netplug` take.

Pure functions of the model, the resolved images and the networks already
in use on the host, so they are tested without root: `plan_networks` picks
the subnets (see `subnets`, which makes them atomically across processes),
`make_plan` the containers on them.
"""

import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from netplug.bridge import link_name
from netplug.discovery import render_hosts
from netplug.endpoint import EndpointRequest
from netplug.ipam import assign_addresses, choose_subnet, gateway_of
from netplug.netns import NETNS_DIR
from orchestrator.paths import ProjectPaths
from orchestrator.spec.model import ProjectSpec, ServiceSpec
from runtime.images import Image


@dataclass(frozen=True)
class NetworkPlan:
    name: str
    bridge: str
    subnet: IPv4Network
    gateway: IPv4Interface
    label: str


@dataclass(frozen=True)
class ContainerLayout:
    """A container as far as it does not depend on the host's networks: its
    names, spec and image. Its root filesystem and bundle can be made from
    it while the host's routes are still being read."""

    name: str
    """`<project>-<service>-<n>`, as Compose names containers."""
    service: ServiceSpec
    image: Image
    netns_name: str
    cgroup_path: str

    @property
    def stop_signal(self) -> signal.Signals:
        """The spec's stop_signal, else the image's StopSignal, else SIGTERM, as Docker picks."""
        name = self.service.stop_signal or self.image.config.stop_signal
        return signal.Signals[name or "SIGTERM"]


@dataclass(frozen=True)
class ContainerPlan(ContainerLayout):
    """A container with its addresses: its endpoints and /etc/hosts."""

    endpoints: tuple[EndpointRequest, ...]
    hosts: str
    """The text of this container's /etc/hosts."""

    @property
    def address(self) -> str:
        return str(self.endpoints[0].address.ip) if self.endpoints else ""


@dataclass(frozen=True)
class StackPlan:
    project: ProjectSpec
    paths: ProjectPaths
    networks: tuple[NetworkPlan, ...]
    containers: tuple[ContainerPlan, ...]

    def container_of(self, service: str) -> ContainerPlan:
        for container in self.containers:
            if container.service.name == service:
                return container
        raise KeyError(service)


def plan_networks(
    project: ProjectSpec, paths: ProjectPaths, in_use: Sequence[IPv4Network]
) -> tuple[NetworkPlan, ...]:
    """The project's networks that some service uses, on subnets clear of `in_use`."""
    taken = list(in_use)
    plans = []
    used = {name for service in project.services for name in service.network_names}
    for network in project.networks:
        if network.key not in used:
            continue
        subnet = choose_subnet(taken)
        taken.append(subnet)
        plans.append(
            NetworkPlan(
                name=network.key,
                bridge=link_name("b", f"{project.name}/{network.key}"),
                subnet=subnet,
                gateway=gateway_of(subnet),
                label=f"{paths.link_label_prefix}{network.key}",
            )
        )
    return tuple(plans)


def _container_name(project: ProjectSpec, service: str) -> str:
    return f"{project.name}-{service}-1"


def _cgroup_path(parent: str | None, name: str) -> str:
    """`name` under the service's cgroup_parent: from the hierarchy's root
    when that is absolute, else under the supervisor's own cgroup (as Docker
    reads a relative one under its daemon's); under the supervisor's own
    cgroup without one."""
    return f"{parent.rstrip('/')}/{name}" if parent else name


def container_layouts(
    project: ProjectSpec,
    images: Mapping[str, Image],
    paths: ProjectPaths,
    services: Sequence[str] = (),
) -> tuple[ContainerLayout, ...]:
    """The containers of `services` and what they depend on (all when empty)."""
    selected = project.with_dependencies(services)
    layouts = []
    for service in project.services:
        if service.name in selected:
            kernel_name = f"{paths.kernel_prefix}{service.name}-1"
            layouts.append(
                ContainerLayout(
                    name=_container_name(project, service.name),
                    service=service,
                    image=images[service.name],
                    netns_name=kernel_name,
                    cgroup_path=_cgroup_path(service.cgroup_parent, kernel_name),
                )
            )
    return tuple(layouts)


def make_plan(
    project: ProjectSpec,
    images: Mapping[str, Image],
    networks: Sequence[NetworkPlan],
    paths: ProjectPaths,
    services: Sequence[str] = (),
) -> StackPlan:
    """The stack for `services` and what they depend on (all when empty):
    their `container_layouts`, on the `plan_networks` of the project."""
    by_name = {n.name: n for n in networks}
    names = {s.name: _container_name(project, s.name) for s in project.services}

    addresses: dict[str, dict[str, IPv4Interface]] = {}
    for network in networks:
        members = [s.name for s in project.services if network.name in s.network_names]
        for member, address in assign_addresses(network.subnet, members).items():
            addresses.setdefault(member, {})[network.name] = address

    containers = []
    for layout in container_layouts(project, images, paths, services):
        service = layout.service
        endpoints = tuple(
            EndpointRequest(
                netns=NETNS_DIR / layout.netns_name,
                bridge=by_name[network].bridge,
                host_ifname=link_name("v", f"{project.name}/{layout.name}/{network}"),
                address=addresses[service.name][network],
                gateway=by_name[network].gateway.ip,
                label=f"{paths.link_label_prefix}{layout.name}",
                ifname=f"eth{index}",
            )
            for index, network in enumerate(service.network_names)
        )
        containers.append(
            ContainerPlan(
                name=layout.name,
                service=service,
                image=layout.image,
                netns_name=layout.netns_name,
                cgroup_path=layout.cgroup_path,
                endpoints=endpoints,
                hosts=_hosts(service, project, addresses, names),
            )
        )
    return StackPlan(project, paths, tuple(networks), tuple(containers))


def _hosts(
    own: ServiceSpec,
    project: ProjectSpec,
    addresses: Mapping[str, Mapping[str, IPv4Interface]],
    names: Mapping[str, str],
) -> str:
    """Own names first, then every service sharing a network, by the address
    on the first network they share."""
    entries: list[tuple[IPv4Address, list[str]]] = []
    for service in project.services:
        shared = [n for n in own.network_names if n in service.network_names]
        if not shared:
            continue
        aliases = [service.name, names[service.name]]
        if service is own and own.hostname and own.hostname not in aliases:
            aliases.insert(0, own.hostname)
        entry = (addresses[service.name][shared[0]].ip, aliases)
        if service is own:
            entries.insert(0, entry)
        else:
            entries.append(entry)
    return render_hosts(entries)
