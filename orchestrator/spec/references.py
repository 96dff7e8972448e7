"""Cross-checks between services and the top-level sections they name."""

from collections.abc import Mapping, Sequence

from orchestrator.spec.model import (
    NetworkSpec,
    SecretSpec,
    ServiceSpec,
    VolumeSpec,
)
from orchestrator.spec.problems import Problems


def check_references(
    services: Sequence[ServiceSpec],
    networks: Sequence[NetworkSpec],
    volumes: Sequence[VolumeSpec],
    secrets: Sequence[SecretSpec],
    configs: Sequence[SecretSpec],
    problems: Problems,
) -> None:
    """Every service, network, volume, secret and config a service names is
    defined; depends_on has no cycle."""
    names = {s.name for s in services}
    sections = {
        "networks": {n.key for n in networks},
        "volumes": {v.key for v in volumes},
        "secrets": {s.key for s in secrets},
        "configs": {c.key for c in configs},
    }
    for service in services:
        path = f"services.{service.name}"
        for dependency in service.depends_on:
            if dependency.service not in names and dependency.required:
                problems.add(service.where("depends_on"), f"{path}.depends_on",
                             f"depends on undefined service {dependency.service!r}")  # fmt: skip
        used = {
            "networks": [n.name for n in service.networks],
            "volumes": [v.source for v in service.volumes if v.type == "volume" and v.source],
            "secrets": [s.source for s in service.secrets],
            "configs": [c.source for c in service.configs],
        }
        for section, referenced in used.items():
            for name in referenced:
                if name not in sections[section]:
                    problems.add(service.where(section), f"{path}.{section}",
                                 f"{section[:-1]} {name!r} is not defined under the "
                                 f"top-level {section}")  # fmt: skip
    graph = {s.name: [d.service for d in s.depends_on if d.service in names] for s in services}
    cycle = find_cycle(graph)
    if cycle:
        service = next(s for s in services if s.name == cycle[0])
        problems.add(service.where("depends_on"), f"services.{service.name}.depends_on",
                     "dependency cycle: " + " -> ".join(cycle))  # fmt: skip


def find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str]:
    """One cycle of `graph` as a path that ends where it starts, or [].
    Depth first without recursion: a chain of thousands of services is fine."""
    done: set[str] = set()
    for start in graph:
        if start in done:
            continue
        path = [start]
        unvisited = [iter(graph.get(start, ()))]
        while unvisited:
            child = next(unvisited[-1], None)
            if child is None:
                done.add(path.pop())
                unvisited.pop()
            elif child in path:
                return [*path[path.index(child) :], child]
            elif child not in done:
                path.append(child)
                unvisited.append(iter(graph.get(child, ())))
    return []
