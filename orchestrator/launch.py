"""The real Launcher: netplug for the network, rootfs and oci for the
container's files, the engine for the process."""

import functools
from pathlib import Path

import trio

from netplug.discovery import render_resolv_conf
from netplug.errors import NetworkError
from netplug.netns import NETNS_DIR, create_netns
from orchestrator.errors import StackError
from orchestrator.network_relay import LocalNetwork, NetworkOps
from orchestrator.paths import ProjectPaths
from orchestrator.plan import ContainerLayout, ContainerPlan
from orchestrator.security import isolation_of
from orchestrator.service import StartFailed
from runtime.engine import ContainerProcess, Engine
from runtime.errors import ContainerRuntimeError, EngineError
from runtime.oci import ContainerConfig, write_bundle
from runtime.private import private_directory
from runtime.process import docker_env, process_args
from runtime.rootfs import mount_overlay
from runtime.users import resolve_groups, resolve_user
from runtime.volumes import prepare_volumes

_ETC_FILES = ("hosts", "hostname", "resolv.conf")
"""The files of /etc the container gets from Corral, bind-mounted."""


def start_failure_exit_code(reason: str) -> int:
    """Docker's codes: 127 for a command not found, 126 for one that cannot run."""
    if "not found" in reason or "no such file" in reason.lower():
        return 127
    if "permission denied" in reason.lower():
        return 126
    return 128


async def prepare_root(layout: ContainerLayout, paths: ProjectPaths, engine: Engine) -> None:
    """Make what a container needs besides its addresses: its netns, root
    filesystem, bundle (all but /etc/hosts) and cgroups. The daemon does so
    for every container while the host's routes are being read, which for
    `up -d` is while the command imports pyroute2 (see `network_relay`)."""
    try:
        await create_netns(layout.netns_name)
    except NetworkError as exc:
        raise StackError(f"container {layout.name}: network setup failed: {exc}") from exc
    try:
        await trio.to_thread.run_sync(_write_root, layout, paths, engine)
    except (ContainerRuntimeError, OSError) as exc:
        raise StackError(f"container {layout.name}: {exc}") from exc


def _etc(paths: ProjectPaths, layout: ContainerLayout) -> Path:
    """The directory of the files bind-mounted over the container's /etc/hosts,
    /etc/hostname and /etc/resolv.conf."""
    return paths.bundle(layout.name) / "etc"


def _write_root(layout: ContainerLayout, paths: ProjectPaths, engine: Engine) -> None:
    service, image = layout.service, layout.image
    layer = paths.layer(layout.name)
    rootfs = paths.rootfs(layout.name)
    private_directory(layer)  # upper, below it, keeps its mode: it is the container's `/`
    mount_overlay(image.layers, layer / "upper", layer / "work", rootfs)
    volumes = prepare_volumes(image.config.volumes, rootfs, layer / "volumes")

    hostname = service.hostname or service.name
    etc = _etc(paths, layout)
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "hostname").write_text(f"{hostname}\n", encoding="utf-8")
    (etc / "resolv.conf").write_text(render_resolv_conf(), encoding="utf-8")

    user = resolve_user(service.user or image.config.user, rootfs)
    groups = resolve_groups(service.group_add, rootfs)
    args = process_args(
        image.config.entrypoint, image.config.cmd, service.entrypoint, service.command
    )
    if not args:
        raise ContainerRuntimeError(
            f"service {service.name!r} has no command and its image none either"
        )
    config = ContainerConfig(
        args=args,
        env=docker_env(image.config.env, service.environment, hostname, user.home),
        cwd=service.working_dir or image.config.working_dir or "/",
        uid=user.uid,
        gid=user.gid,
        additional_gids=(
            *user.additional_gids,
            *(g for g in groups if g not in user.additional_gids),
        ),
        hostname=hostname,
        netns=NETNS_DIR / layout.netns_name,
        cgroup_path=engine.cgroups_path(layout.cgroup_path),
        binds=(*((f"/etc/{name}", etc / name) for name in _ETC_FILES), *volumes),
        isolation=isolation_of(service),
    )
    write_bundle(config, paths.bundle(layout.name), rootfs)
    engine.prepare_cgroups(layout.name, paths.bundle(layout.name))


class RuncLauncher:
    """Starts a container whose root `prepare_root` made."""

    def __init__(
        self,
        plan: ContainerPlan,
        paths: ProjectPaths,
        engine: Engine,
        network: NetworkOps | None = None,
    ) -> None:
        self.plan = plan
        self.paths = paths
        self.engine = engine
        self.network = network or LocalNetwork()

    @property
    def bundle(self) -> Path:
        return self.paths.bundle(self.plan.name)

    async def prepare(self) -> None:
        """Plug the container into its networks; write its /etc/hosts."""
        self.engine.prime_cgroup_moves()
        plan = self.plan
        try:
            for endpoint in plan.endpoints:
                await self.network.attach(endpoint)
        except NetworkError as exc:
            raise StackError(f"container {plan.name}: network setup failed: {exc}") from exc
        hosts = _etc(self.paths, plan) / "hosts"
        try:
            await trio.to_thread.run_sync(functools.partial(hosts.write_text, plan.hosts, "utf-8"))
        except OSError as exc:
            raise StackError(f"container {plan.name}: {exc}") from exc

    async def start(self, stdout: int, stderr: int) -> ContainerProcess:
        try:
            return await self.engine.run(self.plan.name, self.bundle, stdout=stdout, stderr=stderr)
        except EngineError as exc:
            await self.engine.delete(self.plan.name)
            raise StartFailed(exc.reason, start_failure_exit_code(exc.reason)) from exc

    async def reset(self) -> None:
        await self.engine.delete(self.plan.name)
