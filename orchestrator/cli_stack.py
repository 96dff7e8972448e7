"""The stack commands: `up`, `down`, `ps`, `exec`, `config` and `pull`.

They read the Compose files (or, for `down`, `ps` and `exec` with -p, only
the project's name) and talk to the project's supervisor over its control
socket. `cli` imports this module only for these commands, so the image
commands never pay for the Compose loader.
"""

import argparse
import contextlib
import json
import os
import select
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from orchestrator import config, project_lock, stop_signals
from orchestrator.control import client as control
from orchestrator.control.client import request
from orchestrator.errors import (
    ControlError,
    CorralError,
    ImageMissing,
    NotRunning,
    ProjectBusy,
)
from orchestrator.exec_streams import ExecStreams
from orchestrator.paths import ProjectPaths, StateRoots
from orchestrator.spec import LoadOptions, ProjectSpec, find_compose_files, load_project
from orchestrator.spec.project import project_name
from orchestrator.stack_images import images_for_up, pull_stack

DOWN_MARGIN = 5.0
"""Seconds `down` waits for the supervisor on top of the bound it gave."""
START_WAIT = 60.0
"""Seconds `down` waits for a supervisor that is still starting to answer."""


def _load(args: argparse.Namespace, *, interpolate: bool = True) -> ProjectSpec:
    files = find_compose_files(args.file, Path.cwd(), os.environ)
    options = LoadOptions(
        project_flag=args.project_name,
        profiles=args.profile,
        services=args.services if args.command in ("up", "pull") else (),
        env_files=[path.resolve() for path in args.env_file],
        project_dir=args.project_directory.resolve() if args.project_directory else None,
        interpolate=interpolate,
        strict=args.strict,
    )
    return load_project(files, shell=os.environ, warn=_warn, options=options)


def _warn(text: str) -> None:
    print(f"corral: warning: {text}", file=sys.stderr)


def _project_paths(args: argparse.Namespace, roots: StateRoots) -> ProjectPaths:
    """The project's paths; with -p, no Compose file is needed (as for `down -p`)."""
    if args.project_name and not args.file:
        try:
            find_compose_files((), Path.cwd(), os.environ)
        except CorralError:
            return roots.project(project_name(args.project_name, {}, None, Path.cwd()))
    return roots.project(_load(args).name)


def _selected_services(project: ProjectSpec, services: Sequence[str]) -> list[str]:
    known = {s.name for s in project.services}
    unknown = [name for name in services if name not in known]
    if unknown:
        raise CorralError(f"no such service: {', '.join(unknown)}")
    return sorted(project.with_dependencies(services))


def _up(args: argparse.Namespace, roots: StateRoots) -> int:
    project = _load(args)
    services = _selected_services(project, args.services)
    paths = roots.project(project.name)
    if _is_up_once_settled(paths):
        print(f"project {project.name} is already up; `corral down` stops it")
        return 0
    images = images_for_up(project, services, roots, pull=args.pull)

    from orchestrator import starter

    with project_lock.held(paths):
        if starter.remove_leftovers(paths):
            _warn(f"removed what a previous supervisor of project {project.name} left behind")

    stop_signals.check()  # one whose KeyboardInterrupt Python only printed
    if args.detach:
        return int(args.supervisor.start(project, images, services, paths))
    return starter.run_foreground(project, images, services, paths)


def _is_up_once_settled(paths: ProjectPaths) -> bool:
    """Whether the project's stack is up. A supervisor still starting it is
    waited for (up to START_WAIT) until it is up or gone, one stopping it
    (or undoing a start that failed) until it is gone, as `down` waits for
    it; then the stack is not up, and this `up` may start it."""
    deadline = time.monotonic() + START_WAIT
    told = ""
    while True:
        state, pid, within = _supervisor_state(paths)
        if state == "up":
            return True
        if state == "none":
            return False
        if state != told:
            told = state
            print(f"corral: project {paths.project} is {state}; waiting for it", file=sys.stderr)
        if state == "stopping":
            if not _wait_for_exit(pid, within + DOWN_MARGIN):
                raise CorralError(
                    f"the supervisor (pid {pid}) of project {paths.project} did not stop"
                    f" within {within + DOWN_MARGIN:.0f} s"
                )
            continue
        if time.monotonic() > deadline:
            raise ProjectBusy(f"project {paths.project} is still {state} after {START_WAIT:.0f} s")
        if pid:
            _wait_for_exit(pid, 0.1)
        else:
            time.sleep(0.05)


def _supervisor_state(paths: ProjectPaths) -> tuple[str, int, float]:
    """(state, pid, the bound of its stop): `starting`, `up` or `stopping`
    as the supervisor answers; `busy` (pid 0) when one holds the project
    without answering (its socket not yet open, or closed on its way out);
    `none` when no supervisor has the project."""
    try:
        reply = request(paths.control_socket, {"op": "status"})
    except NotRunning:
        return ("busy" if _held_by_a_supervisor(paths) else "none"), 0, 0.0
    except ControlError:  # it closed the connection on its way out
        return "busy", 0, 0.0
    return str(reply["state"]), int(reply["pid"]), float(reply["within"])


def _held_by_a_supervisor(paths: ProjectPaths) -> bool:
    """Whether the project's lock is held while its run directory exists: a
    supervisor making or removing the stack (or a `down` removing what a
    dead one left). A lock held with no run directory is another command's,
    which `up` refuses at once (see `project_lock`)."""
    if not paths.run.exists():
        return False
    lock = project_lock.try_lock(paths)
    if lock is None:
        return True
    os.close(lock)
    return False


def _wait_for_exit(pid: int, timeout: float) -> bool:
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([pidfd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(pidfd)


def _down(args: argparse.Namespace, roots: StateRoots) -> int:
    paths = _project_paths(args, roots)
    pid, lock = _stop_supervisor(paths)
    from orchestrator import starter

    try:
        removed = starter.remove_leftovers(paths)
    finally:
        os.close(lock)
    if removed:
        print(f"removed what a stopped supervisor left of project {paths.project}")
    elif pid:
        print(f"project {paths.project} is down")
    else:
        print(f"project {paths.project} is not running")
    return 0


def _stop_supervisor(paths: ProjectPaths) -> tuple[int, int]:
    """Stop the project's supervisor, if one runs, and take the project's
    lock: (the supervisor's pid or 0, the lock's fd). A supervisor that is
    still starting holds the lock before it answers: it is waited for."""
    pid = 0
    deadline = time.monotonic() + START_WAIT
    while (lock := project_lock.try_lock(paths)) is None:
        try:
            reply = request(paths.control_socket, {"op": "down"})
        except NotRunning:
            if time.monotonic() > deadline:
                raise ProjectBusy(
                    f"project {paths.project} is still held by another corral command"
                    f" after {START_WAIT:.0f} s"
                ) from None
            time.sleep(0.05)
            continue
        pid, timeout = int(reply["pid"]), float(reply["within"]) + DOWN_MARGIN
        if not _wait_for_exit(pid, timeout):
            raise CorralError(f"the supervisor (pid {pid}) did not stop within {timeout:.0f} s")
    return pid, lock


def _ps(args: argparse.Namespace, roots: StateRoots) -> int:
    paths = _project_paths(args, roots)
    try:
        rows: list[dict[str, Any]] = request(paths.control_socket, {"op": "ps"})["containers"]
    except NotRunning:
        rows = []
    if args.format == "json":
        for row in rows:
            print(json.dumps(row))
        return 0
    columns = ("Name", "Service", "State", "Health", "ExitCode", "RestartCount", "IPAddress")
    table = [columns, *[tuple(str(row[c]) for c in columns) for row in rows]]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    return 0


def _exec(args: argparse.Namespace, roots: StateRoots) -> int:
    if not args.argv:
        raise CorralError("exec needs a command to run")
    paths = _project_paths(args, roots)
    message = {"op": "exec", "service": args.service, "argv": args.argv}
    with ExecStreams() as streams:
        try:
            with control.sent(paths.control_socket, message, streams.remote) as connection:
                streams.close_remote()
                answer = streams.copy(connection)
        except NotRunning as exc:
            raise CorralError(f"project {paths.project} is not running") from exc
    return int(control.reply(paths.control_socket, answer)["exit_code"])


def _pull(args: argparse.Namespace, roots: StateRoots) -> int:
    project = _load(args)
    selected = _selected_services(project, args.services)
    services = selected if args.include_deps or not args.services else args.services
    quiet = open(os.devnull, "w") if args.quiet else contextlib.nullcontext(sys.stdout)  # noqa: SIM115
    with quiet as stream:
        images, problems = pull_stack(project, services, roots, policy=args.policy, stream=stream)
    for line in sorted({f"{image.reference} {image.digest}" for image in images.values()}):
        print(line)
    if not problems:
        return 0
    message = "\n".join(str(problem) for problem in problems)
    if args.ignore_pull_failures:
        _warn(message)
        return 0
    raise ImageMissing(message)


def _config(args: argparse.Namespace, roots: StateRoots) -> int:
    return config.run(args, _load(args, interpolate=not args.no_interpolate))


COMMANDS = {
    "up": _up,
    "down": _down,
    "ps": _ps,
    "exec": _exec,
    "config": _config,
    "pull": _pull,
}
