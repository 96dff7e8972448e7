"""The real Launcher: netplug for the network, rootfs and oci for the
container's files, the engine for the process."""

from pathlib import Path

import trio

from netplug.discovery import render_resolv_conf
from netplug.errors import NetworkError
from netplug.netns import NETNS_DIR, create_netns
from orchestrator.errors import StackError
from orchestrator.network_relay import LocalNetwork, NetworkOps
from orchestrator.paths import ProjectPaths
from orchestrator.plan import ContainerPlan
from orchestrator.service import StartFailed
from runtime.engine import ContainerProcess, Engine
from runtime.errors import ContainerRuntimeError, EngineError
from runtime.oci import ContainerConfig, write_bundle
from runtime.process import docker_env, process_args
from runtime.rootfs import mount_overlay
from runtime.users import resolve_user
from runtime.volumes import prepare_volumes


def start_failure_exit_code(reason: str) -> int:
    """Docker's codes: 127 for a command not found, 126 for one that cannot run."""
    if "not found" in reason or "no such file" in reason.lower():
        return 127
    if "permission denied" in reason.lower():
        return 126
    return 128


class RuncLauncher:
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
        self.engine.prime_cgroup_moves()
        plan = self.plan
        try:
            await create_netns(plan.netns_name)
            for endpoint in plan.endpoints:
                await self.network.attach(endpoint)
        except NetworkError as exc:
            raise StackError(f"container {plan.name}: network setup failed: {exc}") from exc
        try:
            await trio.to_thread.run_sync(self._write_files)
        except (ContainerRuntimeError, OSError) as exc:
            raise StackError(f"container {plan.name}: {exc}") from exc

    def _write_files(self) -> None:
        plan, service, image = self.plan, self.plan.service, self.plan.image
        layer = self.paths.layer(plan.name)
        rootfs = self.paths.rootfs(plan.name)
        mount_overlay(image.layers, layer / "upper", layer / "work", rootfs)
        volumes = prepare_volumes(image.config.volumes, rootfs, layer / "volumes")

        hostname = service.hostname or service.name
        files = {"/etc/hosts": plan.hosts, "/etc/hostname": f"{hostname}\n",
                 "/etc/resolv.conf": render_resolv_conf()}  # fmt: skip
        etc = self.bundle / "etc"
        etc.mkdir(parents=True, exist_ok=True)
        for target, text in files.items():
            (etc / Path(target).name).write_text(text, encoding="utf-8")

        user = resolve_user(service.user or image.config.user, rootfs)
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
            additional_gids=user.additional_gids,
            hostname=hostname,
            netns=NETNS_DIR / plan.netns_name,
            cgroup_path=self.engine.cgroups_path(plan.cgroup_path),
            binds=(*((target, etc / Path(target).name) for target in files), *volumes),
        )
        write_bundle(config, self.bundle, rootfs)

    async def start(self, stdout: int, stderr: int) -> ContainerProcess:
        try:
            return await self.engine.run(self.plan.name, self.bundle, stdout=stdout, stderr=stderr)
        except EngineError as exc:
            await self.engine.delete(self.plan.name)
            raise StartFailed(exc.reason, start_failure_exit_code(exc.reason)) from exc

    async def reset(self) -> None:
        await self.engine.delete(self.plan.name)
