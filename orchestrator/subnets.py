"""Choose a stack's subnets and make its bridges, atomically across processes.

A subnet is free when no route or address of the host covers it, so two
supervisors that both read the routes before either has made its bridge
pick the same one. `make_networks` therefore reads the routes, chooses and
makes the bridges (with their addresses) under one lock, and lets it go at
once: it is held for a few netlink calls, never across a container's root,
an image or a start.

The lock is flock(2) on `<run root>/.locks/.subnets`, beside the project
locks of `project_lock`: it orders every Corral process of the same run
root on this host (CORRAL_RUN_ROOT, /run/corral by default), whatever
network namespace it runs in; Corral processes with another run root are
not ordered by it. The kernel releases it if its holder dies, and it is
waited for by polling, so that a stop (a cancellation) ends the wait at once.
"""

import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path

import trio

from netplug.errors import NetworkError
from orchestrator.errors import StackError
from orchestrator.network_relay import NetworkOps
from orchestrator.paths import ProjectPaths
from orchestrator.plan import NetworkPlan, plan_networks
from orchestrator.spec import ProjectSpec
from runtime.private import private_directory

LOCK_WAIT = 30.0
"""How long a project waits for another to finish making its bridges."""
_POLL = 0.01


async def make_networks(
    project: ProjectSpec, paths: ProjectPaths, network: NetworkOps
) -> tuple[NetworkPlan, ...]:
    """The project's networks, on subnets no other route or bridge uses,
    their bridges made and addressed. StackError naming the network if one
    cannot be made, or if the lock is not had within LOCK_WAIT."""
    async with _held(paths.subnet_lock_file):
        networks = plan_networks(project, paths, await network.networks_in_use())
        for planned in networks:
            try:
                await network.ensure_bridge(planned.bridge, planned.gateway, label=planned.label)
            except NetworkError as exc:
                raise StackError(f"network {planned.name}: {exc}") from exc
    return networks


@contextlib.asynccontextmanager
async def _held(path: Path) -> AsyncIterator[None]:
    private_directory(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        with trio.move_on_after(LOCK_WAIT) as waiting:
            while not _try_lock(fd):  # noqa: ASYNC110 - another process releases it
                await trio.sleep(_POLL)
        if waiting.cancelled_caught:
            raise StackError(
                f"another corral process has held {path} for more than {LOCK_WAIT:.0f} s"
            )
        yield
    finally:
        os.close(fd)  # which releases the lock


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
