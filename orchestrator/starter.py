"""Bring a validated project up, in the foreground or detached.

`corral up -d` forks before any event loop exists; the child becomes the
supervisor in a session of its own, and tells the waiting parent through a
pipe either `ready` (every container started) or the error that stopped it,
so the command's exit code says whether the stack came up.
"""

import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import IO, NoReturn

import structlog
import trio

from netplug.errors import NetworkError
from netplug.ipam import networks_in_use
from orchestrator.cleanup import has_leftovers, remove_project_objects
from orchestrator.daemon import supervise
from orchestrator.errors import CorralError, StackError
from orchestrator.logconfig import configure_logging
from orchestrator.paths import ProjectPaths
from orchestrator.plan import make_plan
from orchestrator.spec import ProjectSpec
from orchestrator.supervisor import Stack
from runtime.engine import Engine
from runtime.errors import ContainerRuntimeError
from runtime.images import Image

_log = structlog.get_logger("corral")


def _first_error(error: BaseException) -> BaseException:
    """The error a user should read, out of Trio's exception groups, with
    runtime and netplug errors translated at this boundary."""
    while isinstance(error, BaseExceptionGroup):
        error = next(
            (e for e in error.exceptions if not isinstance(e, trio.Cancelled)), error.exceptions[0]
        )
    if isinstance(error, ContainerRuntimeError | NetworkError):
        return StackError(str(error))
    return error


def _run(
    project: ProjectSpec,
    images: Mapping[str, Image],
    services: Sequence[str],
    paths: ProjectPaths,
    console: IO[str] | None,
    on_ready: Callable[[Stack], None],
) -> None:
    async def main() -> None:
        engine = Engine(paths.runtime_state)
        plan = make_plan(project, images, await networks_in_use(), paths, services)
        await supervise(plan, engine, console, on_ready)

    try:
        trio.run(main)
    except BaseException as error:  # noqa: BLE001 - re-raised, unwrapped
        first = _first_error(error)
        if first is error:
            raise
        raise first from error


def run_foreground(
    project: ProjectSpec,
    images: Mapping[str, Image],
    services: Sequence[str],
    paths: ProjectPaths,
) -> int:
    def ready(stack: Stack) -> None:
        _log.info("stack is up; Ctrl-C stops it", project=project.name)

    _run(project, images, services, paths, sys.stdout, ready)
    return 0


def start_detached(
    project: ProjectSpec,
    images: Mapping[str, Image],
    services: Sequence[str],
    paths: ProjectPaths,
) -> int:
    read_end, write_end = os.pipe()
    if os.fork() == 0:
        os.close(read_end)
        _become_supervisor(project, images, services, paths, write_end)
    os.close(write_end)
    with os.fdopen(read_end, encoding="utf-8") as pipe:
        message = pipe.read()
    if message.startswith("ready"):
        print(f"project {project.name} is up")
        return 0
    if message.startswith("error: "):
        raise CorralError(message.removeprefix("error: ").strip())
    raise CorralError(f"the supervisor exited while starting; see {paths.supervisor_log}")


def _become_supervisor(
    project: ProjectSpec,
    images: Mapping[str, Image],
    services: Sequence[str],
    paths: ProjectPaths,
    report_fd: int,
) -> NoReturn:
    code = 1
    try:
        os.setsid()
        paths.run.mkdir(parents=True, exist_ok=True)
        log = open(paths.supervisor_log, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        configure_logging(log)

        def ready(stack: Stack) -> None:
            os.write(report_fd, b"ready\n")
            os.close(report_fd)

        try:
            _run(project, images, services, paths, None, ready)
            code = 0
        except CorralError as exc:
            _report(report_fd, f"error: {exc}\n")
        except BaseException:  # noqa: BLE001 - the parent must hear of it, the log keep it
            traceback.print_exc()
            _report(report_fd, f"error: unexpected failure; see {paths.supervisor_log}\n")
    finally:
        os._exit(code)


def _report(fd: int, message: str) -> None:
    try:
        os.write(fd, message.encode())
        os.close(fd)
    except OSError:
        pass  # already reported ready and closed: the failure came later


def remove_leftovers(paths: ProjectPaths) -> bool:
    """Remove what a dead supervisor left of the project; whether there was any."""
    if not has_leftovers(paths):
        return False
    trio.run(remove_project_objects, paths, Engine(paths.runtime_state))
    return True
