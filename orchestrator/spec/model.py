"""The frozen, typed model of a Compose project that the rest of Corral reads.

Field names are the Compose Specification's keys (long syntax), so the model
renders back to Compose YAML field by field (`render`). Ordered mappings are
tuples of pairs. Short syntaxes are already normalized into the long form by
`normalize`; `deploy` and the keys of `extras` have modules of their own.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

# Annotations only. The parsers import deploy and extras when a file uses
# those keys; a model unpickled by the supervisor imports the modules of
# the values it holds, not every parser of `normalize`.
if TYPE_CHECKING:
    from orchestrator.spec.deploy import DeployConfig, DeviceRequest
    from orchestrator.spec.extras import (
        BlkioConfig,
        CredentialSpec,
        DevelopConfig,
        ModelUse,
        ProviderConfig,
    )
    from orchestrator.spec.normalize import (
        BuildConfig,
        Dependency,
        DeviceMapping,
        FileReference,
        Healthcheck,
        PortConfig,
        ServiceNetwork,
        ServiceVolume,
        Ulimit,
    )

Pairs = tuple[tuple[str, str], ...]
"""An ordered mapping of strings, as written."""


class RestartMode(enum.Enum):
    NO = "no"
    ALWAYS = "always"
    ON_FAILURE = "on-failure"
    UNLESS_STOPPED = "unless-stopped"


@dataclass(frozen=True)
class RestartPolicy:
    mode: RestartMode = RestartMode.NO
    max_retries: int | None = None
    """With on-failure: how many restarts at most; None is unlimited."""

    def __str__(self) -> str:
        if self.max_retries is None:
            return self.mode.value
        return f"{self.mode.value}:{self.max_retries}"


@dataclass(frozen=True)
class Location:
    file: Path
    line: int
    column: int = 0


@dataclass(frozen=True)
class EnvFile:
    path: str
    required: bool = True
    format: str | None = None


@dataclass(frozen=True)
class Logging:
    driver: str | None = None
    options: Pairs = ()


@dataclass(frozen=True)
class LifecycleHook:
    """A post_start or pre_stop command."""

    command: tuple[str, ...]
    user: str | None = None
    privileged: bool = False
    working_dir: str | None = None
    environment: Pairs = ()


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    image: str | None = None
    """None when the service only has a `build` section."""
    annotations: Pairs = ()
    attach: bool = True
    blkio_config: BlkioConfig | None = None
    build: BuildConfig | None = None
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    cgroup: Literal["host", "private"] | None = None
    cgroup_parent: str | None = None
    command: tuple[str, ...] | None = None
    configs: tuple[FileReference, ...] = ()
    container_name: str | None = None
    cpu_count: int | None = None
    cpu_percent: int | None = None
    cpu_period: int | None = None
    cpu_quota: int | None = None
    cpu_rt_period: int | None = None
    cpu_rt_runtime: int | None = None
    cpu_shares: int | None = None
    cpus: float | None = None
    cpuset: str | None = None
    credential_spec: CredentialSpec | None = None
    depends_on: tuple[Dependency, ...] = ()
    deploy: DeployConfig | None = None
    develop: DevelopConfig | None = None
    device_cgroup_rules: tuple[str, ...] = ()
    devices: tuple[DeviceMapping, ...] = ()
    dns: tuple[str, ...] = ()
    dns_opt: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    domainname: str | None = None
    entrypoint: tuple[str, ...] | None = None
    environment: Pairs = ()
    """Resolved variables: env_file entries first, then `environment`; one
    listed without a value is taken from the project's environment or left
    out, as Compose does."""
    expose: tuple[str, ...] = ()
    external_links: tuple[str, ...] = ()
    extra_hosts: tuple[tuple[str, str], ...] = ()
    gpus: tuple[DeviceRequest, ...] | str | None = None
    """"all", or device requests."""
    group_add: tuple[str, ...] = ()
    healthcheck: Healthcheck | None = None
    hostname: str | None = None
    init: bool | None = None
    ipc: str | None = None
    isolation: str | None = None
    labels: Pairs = ()
    links: tuple[str, ...] = ()
    logging: Logging | None = None
    mac_address: str | None = None
    mem_limit: int | None = None
    mem_reservation: int | None = None
    mem_swappiness: int | None = None
    memswap_limit: int | None = None
    models: tuple[ModelUse, ...] = ()
    network_mode: str | None = None
    networks: tuple[ServiceNetwork, ...] = ()
    oom_kill_disable: bool | None = None
    oom_score_adj: int | None = None
    pid: str | None = None
    pids_limit: int | None = None
    platform: str | None = None
    ports: tuple[PortConfig, ...] = ()
    post_start: tuple[LifecycleHook, ...] = ()
    pre_stop: tuple[LifecycleHook, ...] = ()
    privileged: bool | None = None
    profiles: tuple[str, ...] = ()
    provider: ProviderConfig | None = None
    pull_policy: str | None = None
    read_only: bool | None = None
    restart: RestartPolicy = RestartPolicy()
    runtime: str | None = None
    scale: int | None = None
    secrets: tuple[FileReference, ...] = ()
    security_opt: tuple[str, ...] = ()
    shm_size: int | None = None
    stdin_open: bool | None = None
    stop_grace_period: float = 10.0
    stop_signal: str | None = None
    """None: the image's StopSignal, else SIGTERM (see ContainerPlan.stop_signal)."""
    storage_opt: Pairs = ()
    sysctls: Pairs = ()
    tmpfs: tuple[str, ...] = ()
    tty: bool | None = None
    ulimits: tuple[Ulimit, ...] = ()
    use_api_socket: bool | None = None
    user: str | None = None
    userns_mode: str | None = None
    uts: str | None = None
    volumes: tuple[ServiceVolume, ...] = ()
    volumes_from: tuple[str, ...] = ()
    working_dir: str | None = None
    location: Location | None = None
    image_location: Location | None = None
    key_locations: tuple[tuple[str, Location], ...] = ()
    """Where each key of the service was written (by the last file to set it)."""

    def where(self, key: str) -> Location:
        """Where `key` was written, else where the service was; for messages."""
        for name, location in self.key_locations:
            if name == key:
                return location
        return self.location or Location(Path("."), 0)

    @property
    def dependency_names(self) -> tuple[str, ...]:
        return tuple(d.service for d in self.depends_on)

    @property
    def network_names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.networks)


@dataclass(frozen=True)
class IpamPool:
    subnet: str | None = None
    ip_range: str | None = None
    gateway: str | None = None
    aux_addresses: Pairs = ()


@dataclass(frozen=True)
class Ipam:
    driver: str | None = None
    config: tuple[IpamPool, ...] = ()
    options: Pairs = ()


@dataclass(frozen=True)
class NetworkSpec:
    """A top-level network; `key` is its name in the file, `name` the name
    it gets on the host (`<project>_<key>` unless set or external)."""

    key: str
    name: str = ""
    driver: str | None = None
    driver_opts: Pairs = ()
    attachable: bool | None = None
    enable_ipv4: bool | None = None
    enable_ipv6: bool | None = None
    external: bool | None = None
    internal: bool | None = None
    ipam: Ipam | None = None
    labels: Pairs = ()


@dataclass(frozen=True)
class VolumeSpec:
    key: str
    name: str = ""
    driver: str | None = None
    driver_opts: Pairs = ()
    external: bool | None = None
    labels: Pairs = ()


@dataclass(frozen=True)
class SecretSpec:
    """A top-level secret or config: from a file, an environment variable,
    inline content (configs), or external."""

    key: str
    name: str = ""
    file: str | None = None
    environment: str | None = None
    content: str | None = None
    external: bool | None = None
    labels: Pairs = ()
    driver: str | None = None
    driver_opts: Pairs = ()
    template_driver: str | None = None


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    files: tuple[Path, ...]
    services: tuple[ServiceSpec, ...]
    networks: tuple[NetworkSpec, ...] = ()
    volumes: tuple[VolumeSpec, ...] = ()
    secrets: tuple[SecretSpec, ...] = ()
    configs: tuple[SecretSpec, ...] = ()
    project_dir: Path = Path(".")
    profiles: tuple[str, ...] = ()
    """Every profile a service of the files names, active or not."""

    def service(self, name: str) -> ServiceSpec:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    def network(self, key: str) -> NetworkSpec:
        for network in self.networks:
            if network.key == key:
                return network
        raise KeyError(key)

    def with_dependencies(self, names: Sequence[str]) -> set[str]:
        """`names` and every service they depend on, directly or not; all
        services when `names` is empty."""
        if not names:
            return {s.name for s in self.services}
        selected: set[str] = set()
        pending = list(names)
        while pending:
            name = pending.pop()
            if name not in selected:
                selected.add(name)
                pending.extend(self.service(name).dependency_names)
        return selected
