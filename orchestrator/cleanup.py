"""Remove every kernel object and file of a project, whatever state it is in.

The same function ends an orderly `down`, a Ctrl-C, and recovers from a
supervisor that was killed: it finds the project's objects by their names
and labels rather than by what a (possibly dead) supervisor remembered.
Every step is idempotent.
"""

import shutil

import trio

from netplug.bridge import links_labelled, remove_bridge
from netplug.netns import list_netns, remove_netns
from orchestrator.paths import ProjectPaths
from runtime.cgroups import remove_cgroups
from runtime.engine import Engine
from runtime.rootfs import mounts_under, unmount


async def remove_project_objects(paths: ProjectPaths, engine: Engine) -> None:
    for container in await engine.list():
        await engine.delete(container.id)
    for name in list_netns(paths.kernel_prefix):
        await remove_netns(name)
    for link in await links_labelled(paths.link_label_prefix):
        await remove_bridge(link)
    await trio.to_thread.run_sync(_remove_files, paths)


def _remove_files(paths: ProjectPaths) -> None:
    for mount_point in mounts_under(paths.run):
        unmount(mount_point)
    remove_cgroups(paths.kernel_prefix)
    shutil.rmtree(paths.data, ignore_errors=True)
    shutil.rmtree(paths.run, ignore_errors=True)
