"""Argument parsing, routing, exit codes.

Exit codes: 0 success; 1 a CorralError (its message, no traceback); `exec`
returns the command's own code; 130 after Ctrl-C outside a running stack.
The commands live in `cli_stack` (the Compose stack) and `cli_images`; the
stack module, with the Compose loader, and heavy modules (trio, pyroute2,
the registry client) are imported only by the commands that need them, so
`images` or an already-present `image pull` start fast.
"""

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from orchestrator import cli_images, config
from orchestrator.entry import INTERRUPTED
from orchestrator.errors import CorralError
from orchestrator.paths import StateRoots

if TYPE_CHECKING:
    from orchestrator.starter import EarlySupervisor

_STACK_COMMANDS = ("up", "down", "ps", "exec", "config", "pull")
POLICY_CHOICES = ("always", "missing", "never")
"""What `up --pull` accepts."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="corral", description="Run Compose stacks on this host.")
    parser.add_argument("-f", "--file", action="append", default=[], help="Compose file")
    parser.add_argument("-p", "--project-name", help="project name")
    parser.add_argument("--profile", action="append", default=[], help="enable a profile")
    parser.add_argument(
        "--env-file", action="append", default=[], type=Path, help="read variables from a file"
    )
    parser.add_argument("--project-directory", type=Path, help="base of relative paths")
    parser.add_argument("--strict", action="store_true", help="refuse keys Corral does not run yet")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="create and start the stack")
    up.add_argument("-d", "--detach", action="store_true", help="run in the background")
    up.add_argument(
        "--pull", choices=POLICY_CHOICES, help="pull images so (default: each pull_policy)"
    )
    up.add_argument("services", nargs="*", metavar="SERVICE")
    commands.add_parser("down", help="stop the stack and remove everything it made")
    ps = commands.add_parser("ps", help="list the stack's containers")
    ps.add_argument("--format", choices=("table", "json"), default="table")
    config.add_parser(commands)
    pull = commands.add_parser("pull", help="pull the services' images")
    pull.add_argument("--policy", choices=("always", "missing"), help="override pull_policy")
    pull.add_argument("-q", "--quiet", action="store_true", help="print no progress")
    pull.add_argument("--ignore-pull-failures", action="store_true", help="report failures, exit 0")
    pull.add_argument(
        "--include-deps", action="store_true", help="also pull the named services' dependencies"
    )
    pull.add_argument("services", nargs="*", metavar="SERVICE")
    exec_ = commands.add_parser("exec", help="run a command in a running service")
    exec_.add_argument("service")
    exec_.add_argument("argv", nargs=argparse.REMAINDER, metavar="COMMAND")

    cli_images.add_parsers(commands)
    return parser


def _command(name: str) -> Callable[[argparse.Namespace, StateRoots], int]:
    if name in _STACK_COMMANDS:
        from orchestrator import cli_stack

        return cli_stack.COMMANDS[name]
    return cli_images.COMMANDS[name]


def main(argv: Sequence[str] | None = None, supervisor: "EarlySupervisor | None" = None) -> int:
    """Run one command. `supervisor` is one `entry` forked for an `up -d`
    it guessed; it is ended here unless the command is that. Ctrl-C (or,
    for `up`, another stop signal: see `stop_signals`) at any point is 130."""
    try:
        with supervisor or contextlib.nullcontext():
            args = _parser().parse_args(argv)
            args.supervisor = None
            if args.command == "up" and args.detach:
                # Forked first, while this process has one thread: it imports
                # the supervisor's modules on the other core while this one
                # reads the files, and is ended unused if `up` stops before
                # starting it.
                from orchestrator import starter

                args.supervisor = supervisor or starter.fork_supervisor()
            elif supervisor is not None:
                supervisor.cancel()
            with args.supervisor or contextlib.nullcontext():
                return _run(args)
    except KeyboardInterrupt:
        return INTERRUPTED


def _run(args: argparse.Namespace) -> int:
    if args.command in ("up", "down"):
        from orchestrator.logconfig import configure_logging

        configure_logging()
    roots = StateRoots.from_environ()
    try:
        if args.command != "config":  # the one command that never touches state
            roots.secure()
        return _command(args.command)(args, roots)
    except CorralError as exc:
        print(f"corral: {exc}", file=sys.stderr)
        return 1


def run(supervisor: "EarlySupervisor | None" = None) -> NoReturn:
    """The `corral` command: `main`, then exit without tearing the interpreter
    down, which costs tens of milliseconds of a short command and does
    nothing Corral needs: every file is closed and output is flushed here."""
    code = main(supervisor=supervisor)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:  # `corral images | head`: the reader is gone
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
