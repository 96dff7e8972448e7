"""The `corral` command's entry point, which runs before the CLI's modules load.

`corral up -d` forks its supervisor process as early as it can: the
supervisor then imports Trio and its own modules on the other
core while this process imports the CLI and reads the Compose files (see
`starter`). Whether the command line is `up -d` is guessed here, before
argparse has run; a wrong guess costs one unused process, which `cli.main`
ends as soon as the arguments are parsed.
"""

import sys
from collections.abc import Sequence
from typing import NoReturn


def looks_like_detached_up(argv: Sequence[str]) -> bool:
    return "up" in argv and ("-d" in argv or "--detach" in argv)


def run() -> NoReturn:
    supervisor = None
    if looks_like_detached_up(sys.argv[1:]):
        from orchestrator import starter

        supervisor = starter.fork_supervisor()
    from orchestrator import cli

    cli.run(supervisor)
