"""Bring a validated project up, in the foreground or detached.

`corral up -d` runs the supervisor in a process of its own, in a session of
its own, which tells the waiting command through a pipe either `ready`
(every container started) or the error that stopped it, so the command's
exit code says whether the stack came up.

That process is forked early, before the CLI reads the Compose files
(`fork_supervisor`): it imports Trio and the supervisor's modules, the
larger part of its start-up, on the other core while the CLI loads the
project, then receives the project through a pipe (`EarlySupervisor.start`).
So that the CLI can import this module before it knows
whether it needs Trio, the module imports nothing heavy itself: the
supervisor's code is in `daemon`, imported by the process that runs it.
"""

import os
import pickle
import signal
import socket
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NoReturn, Self

from netplug.names import list_netns
from orchestrator import project_lock
from orchestrator.errors import CorralError, ProjectBusy
from orchestrator.paths import ProjectPaths
from orchestrator.uncollected import uncollected
from runtime.private import open_private_append, private_directory

if TYPE_CHECKING:
    from orchestrator.spec import ProjectSpec
    from orchestrator.supervisor import Stack
    from runtime.images import Image


def run_foreground(
    project: "ProjectSpec",
    images: Mapping[str, "Image"],
    services: Sequence[str],
    paths: ProjectPaths,
) -> int:
    from orchestrator import daemon

    with project_lock.held(paths):
        _leave_working_directory()
        daemon.run_stack(project, images, services, paths, sys.stdout, daemon.announce_ready)
    return 0


def _leave_working_directory() -> None:
    """Work from `/`, as a daemon does: the caller's directory may be removed
    (a temporary one, a checkout switched away) while the stack runs, and
    every runtime process the supervisor starts inherits its directory. The
    project's paths are absolute by then (the loader resolves them)."""
    os.chdir("/")


class EarlySupervisor:
    """A supervisor process forked before the project was read.

    It waits for the project on a pipe: `start` sends it and waits for the
    stack to be up; `cancel`, or leaving the `with` block without `start`,
    ends the process, which has made nothing yet.
    """

    def __init__(self, pid: int, work_fd: int, report_fd: int, relay: socket.socket) -> None:
        self.pid = pid
        self._work_fd = work_fd
        self._report_fd = report_fd
        self._relay = relay
        self._done = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()

    def start(
        self,
        project: "ProjectSpec",
        images: Mapping[str, "Image"],
        services: Sequence[str],
        paths: ProjectPaths,
    ) -> int:
        """Hand the project over, make the network it asks for (see
        `network_relay`); 0 once every container started, else CorralError."""
        if self._done:
            raise CorralError("this supervisor process was already started or cancelled")
        self._done = True
        work = pickle.dumps((project, dict(images), list(services), paths))
        try:
            with os.fdopen(self._work_fd, "wb") as pipe:
                pipe.write(work)
        except BrokenPipeError:
            pass  # it died while importing; the report below says so
        from orchestrator.network_server import serve_network

        with self._relay:
            serve_network(self._relay, self._report_fd)
        return _await_report(self._report_fd, project.name, paths)

    def cancel(self) -> None:
        """End the process if it was not started; a no-op once it was."""
        if self._done:
            return
        self._done = True
        os.close(self._work_fd)
        os.close(self._report_fd)
        self._relay.close()
        os.kill(self.pid, signal.SIGKILL)  # our unreaped child: the pid cannot be reused
        os.waitpid(self.pid, 0)


def fork_supervisor() -> EarlySupervisor:
    """Fork the detached supervisor now, to be given its project later.
    Call it while the process has a single thread (before any event loop)."""
    from orchestrator.network_server import relay_pair

    work_read, work_write = os.pipe()
    report_read, report_write = os.pipe()
    command_end, supervisor_end = relay_pair()
    pid = os.fork()
    if pid == 0:
        os.close(work_write)
        os.close(report_read)
        command_end.close()
        _wait_for_project(work_read, report_write, supervisor_end)
    os.close(work_read)
    os.close(report_write)
    supervisor_end.close()
    return EarlySupervisor(pid, work_write, report_read, command_end)


def _wait_for_project(work_fd: int, report_fd: int, relay: socket.socket) -> NoReturn:
    try:
        # A session of its own now: Ctrl-C on the terminal while the CLI
        # reads the files is for the CLI, whose exit (EOF here) ends us.
        os.setsid()
        with uncollected():
            from orchestrator import daemon  # noqa: F401 - the imports are the point

        with os.fdopen(work_fd, "rb") as pipe:
            work = pipe.read()
        if work:
            project, images, services, paths = pickle.loads(work)
            _become_supervisor(project, images, services, paths, report_fd, relay)
    finally:
        os._exit(0)


def _await_report(report_fd: int, project_name: str, paths: ProjectPaths) -> int:
    with os.fdopen(report_fd, encoding="utf-8") as pipe:
        message = pipe.read()
    if message.startswith("ready"):
        print(f"project {project_name} is up")
        return 0
    if message.startswith("error: "):
        raise CorralError(message.removeprefix("error: ").strip())
    raise CorralError(f"the supervisor exited while starting; see {paths.supervisor_log}")


def _become_supervisor(
    project: "ProjectSpec",
    images: Mapping[str, "Image"],
    services: Sequence[str],
    paths: ProjectPaths,
    report_fd: int,
    relay: socket.socket,
) -> NoReturn:
    code = 1
    try:
        if os.getsid(0) != os.getpid():
            os.setsid()
        try:
            project_lock.acquire(paths)  # held until this process exits
        except ProjectBusy as exc:
            _report(report_fd, f"error: {exc}\n")
            os._exit(1)
        private_directory(paths.run)
        log_fd = open_private_append(paths.supervisor_log)
        log = os.fdopen(log_fd, "a", buffering=1, encoding="utf-8")
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        _leave_working_directory()

        from orchestrator import daemon
        from orchestrator.logconfig import configure_logging

        configure_logging(log)

        def ready(stack: "Stack") -> None:
            os.write(report_fd, b"ready\n")
            os.close(report_fd)

        try:
            daemon.run_stack(project, images, services, paths, None, ready, relay)
            code = 0
        except CorralError as exc:
            _report(report_fd, f"error: {exc}\n")
        except KeyboardInterrupt:  # a stop signal cancelled the start
            _report(report_fd, "error: the supervisor was stopped by a signal while starting\n")
        except BaseException:  # noqa: BLE001 - the parent must hear of it
            # The log is gone with the run directory: the report carries it.
            trace = traceback.format_exc()
            _report(report_fd, f"error: unexpected failure (a bug in Corral):\n{trace}")
    finally:
        os._exit(code)


def _report(fd: int, message: str) -> None:
    try:
        os.write(fd, message.encode())
        os.close(fd)
    except OSError:
        pass  # already reported ready and closed: the failure came later


def remove_leftovers(paths: ProjectPaths) -> bool:
    """Remove what a dead supervisor left of the project; whether there was any.
    Cheap when there is nothing: Trio is imported only to remove something."""
    if not (paths.run.exists() or list_netns(paths.kernel_prefix)):
        return False
    from orchestrator import daemon

    daemon.remove_project(paths)
    return True
