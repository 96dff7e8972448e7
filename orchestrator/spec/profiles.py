"""Which services a project runs, given its active profiles.

As in Compose: a service without profiles always runs; one with profiles runs
when one of them is active (`--profile`, or COMPOSE_PROFILES, comma-separated;
`*` activates every profile); a service named on the command line runs and
enables its profiles. A running service may not depend on one that is
switched off, unless the dependency says `required: false`, in which case the
dependency is dropped.
"""

import dataclasses
from collections.abc import Mapping, Sequence

from orchestrator.spec.model import ServiceSpec
from orchestrator.spec.problems import Problems


def active_profiles(flags: Sequence[str], environment: Mapping[str, str]) -> set[str]:
    from_environment = environment.get("COMPOSE_PROFILES", "")
    return {p.strip() for p in (*flags, *from_environment.split(",")) if p.strip()}


def select_services(
    services: Sequence[ServiceSpec],
    flags: Sequence[str],
    named: Sequence[str],
    environment: Mapping[str, str],
    problems: Problems,
) -> list[ServiceSpec]:
    """The services to run, in file order."""
    active = active_profiles(flags, environment)
    by_name = {s.name: s for s in services}
    for name in named:
        if name in by_name:
            active.update(by_name[name].profiles)

    def enabled(service: ServiceSpec) -> bool:
        return not service.profiles or "*" in active or bool(active & set(service.profiles))

    chosen = {s.name for s in services if enabled(s)}
    selected = []
    for service in services:
        if service.name not in chosen:
            continue
        kept = []
        for dependency in service.depends_on:
            other = by_name.get(dependency.service)
            if other is None or other.name in chosen:
                kept.append(dependency)
            elif dependency.required:
                problems.add(
                    service.where("depends_on"),
                    f"services.{service.name}.depends_on",
                    f"depends on {other.name!r}, whose profiles ({', '.join(other.profiles)}) "
                    f"are not active; add --profile {other.profiles[0]}",
                )
        if len(kept) != len(service.depends_on):
            service = dataclasses.replace(service, depends_on=tuple(kept))
        selected.append(service)
    return selected
