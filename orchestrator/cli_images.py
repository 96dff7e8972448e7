"""The `corral image ...` commands: the image store, seen from the command line.

`add_parsers` registers the commands on the top-level subparsers; `COMMANDS`
maps each command name to the function that runs it, so `cli` only routes.
"""

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.errors import CorralError
from orchestrator.paths import StateRoots


def add_parsers(commands: "argparse._SubParsersAction[Any]") -> None:
    image = commands.add_parser("image", help="manage images")
    image_commands = image.add_subparsers(dest="image_command", required=True)
    import_ = image_commands.add_parser("import", help="import a root filesystem tarball")
    import_.add_argument("tarball", type=Path)
    import_.add_argument("reference", metavar="NAME[:TAG]")
    image_commands.add_parser("ls", help="list images")


def _image(args: argparse.Namespace, roots: StateRoots) -> int:
    from runtime.errors import ContainerRuntimeError
    from runtime.images import ImageStore

    store = ImageStore(roots.images)
    try:
        if args.image_command == "import":
            image = store.import_tarball(args.tarball, args.reference)
            print(f"{image.reference} {image.digest}")
            return 0
        summaries = store.list()
    except (ContainerRuntimeError, OSError) as exc:
        raise CorralError(str(exc)) from exc
    print(f"{'REFERENCE':<40} {'DIGEST':<19} {'SIZE':>10}  CREATED")
    for summary in summaries:
        size = f"{summary.size / 1e6:.1f}MB"
        print(f"{summary.reference:<40} {summary.digest[:19]:<19} {size:>10}  {summary.created}")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, StateRoots], int]] = {"image": _image}
