"""Remove every kernel object and file of a project, whatever state it is in.

The same function ends an orderly `down`, a Ctrl-C, and recovers from a
supervisor that was killed: it finds the project's objects by their names
and labels rather than by what a (possibly dead) supervisor remembered.
Every step is idempotent.
"""

import shutil
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from netplug.bridge import links_labelled, remove_bridge
from netplug.errors import NetworkError
from netplug.netns import list_netns, remove_netns
from orchestrator.errors import CorralError, StackError
from orchestrator.paths import ProjectPaths
from runtime.cgroups import remove_cgroups
from runtime.engine import Engine
from runtime.errors import ContainerRuntimeError
from runtime.rootfs import mounts_under, unmount


async def remove_project_objects(paths: ProjectPaths, engine: Engine) -> None:
    """Remove everything; a step that fails does not keep the others from
    running, and what failed is raised as one StackError at the end."""
    failures: list[str] = []

    async def attempt(step: Callable[..., Awaitable[Any]], *args: object) -> Any:
        """`step`'s result; None, its failure recorded, when it fails."""
        try:
            return await step(*args)
        except (CorralError, ContainerRuntimeError, NetworkError, OSError) as exc:
            failures.append(str(exc))
            return None

    for container in await attempt(engine.list) or []:
        await attempt(engine.delete, container.id)
    for name in list_netns(paths.kernel_prefix):
        await attempt(remove_netns, name)
    for link in await attempt(links_labelled, paths.link_label_prefix) or []:
        await attempt(remove_bridge, link)
    await attempt(trio.to_thread.run_sync, remove_cgroups, paths.kernel_prefix)
    await attempt(trio.to_thread.run_sync, _remove_files, paths)
    if failures:
        raise StackError(
            f"could not remove everything of project {paths.project}: " + "; ".join(failures)
        )


def _remove_files(paths: ProjectPaths) -> None:
    for mount_point in mounts_under(paths.run):
        unmount(mount_point)
    shutil.rmtree(paths.data, ignore_errors=True)
    shutil.rmtree(paths.run, ignore_errors=True)
