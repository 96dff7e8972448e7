"""The `corral` command's entry point, which runs before the CLI's modules load.

Its first act is to take the stop signals (`stop_signals`) for `up`, so
that one received while the CLI loads interrupts the start. Then `corral
up -d` forks its supervisor process as early as it can: the supervisor
imports Trio and its own modules on the other core while this process
imports the CLI and reads the Compose files (see `starter`). Whether the
command line is `up` or `up -d` is guessed here, before argparse has run: a
wrong guess costs one unused process, which `cli.main` ends as soon as the
arguments are parsed, or stop signals taken as Ctrl-C by another command.
"""

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` alone would take longer to import than this module
    from collections.abc import Sequence
    from typing import NoReturn

INTERRUPTED = 130
"""The exit code after Ctrl-C (128 + SIGINT), as a shell reports it."""


def looks_like_up(argv: "Sequence[str]") -> bool:
    return "up" in argv


def looks_like_detached_up(argv: "Sequence[str]") -> bool:
    return looks_like_up(argv) and ("-d" in argv or "--detach" in argv)


def run() -> "NoReturn":
    if looks_like_up(sys.argv[1:]):
        from orchestrator import stop_signals

        stop_signals.take()
    try:
        supervisor = None
        if looks_like_detached_up(sys.argv[1:]):
            from orchestrator import starter

            supervisor = starter.fork_supervisor()
        from orchestrator import cli
    except KeyboardInterrupt:
        # Nothing is made yet; an early supervisor reads EOF and exits.
        os._exit(INTERRUPTED)
    cli.run(supervisor)
