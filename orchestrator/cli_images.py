"""The image commands: `corral image ...`, `images`, `rmi`, `login`, `logout`.

`add_parsers` registers the commands on the top-level subparsers; `COMMANDS`
maps each command name to the function that runs it, so `cli` only routes.
The registry client is imported only by the commands that talk to a registry.
"""

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from orchestrator.errors import CorralError
from orchestrator.paths import StateRoots

if TYPE_CHECKING:
    from runtime.images import ImageStore
    from runtime.images.progress import LayerProgress

_REDRAW_INTERVAL = 0.1


def add_parsers(commands: "argparse._SubParsersAction[Any]") -> None:
    image = commands.add_parser("image", help="manage images")
    image_commands = image.add_subparsers(dest="image_command", required=True)
    import_ = image_commands.add_parser("import", help="import a root filesystem tarball")
    import_.add_argument("tarball", type=Path)
    import_.add_argument("reference", metavar="NAME[:TAG]")
    image_commands.add_parser("ls", help="list images")
    pull = image_commands.add_parser("pull", help="pull an image from a registry")
    pull.add_argument("reference", metavar="NAME[:TAG|@DIGEST]")
    inspect = image_commands.add_parser("inspect", help="show an image's manifest and config")
    inspect.add_argument("references", nargs="+", metavar="IMAGE")
    prune = image_commands.add_parser("prune", help="remove content no image reference reaches")
    prune.add_argument(
        "-a", "--all", action="store_true", help="also remove every image no container uses"
    )
    rm = image_commands.add_parser("rm", help="remove image references")
    rm.add_argument("references", nargs="+", metavar="IMAGE")
    load = image_commands.add_parser("load", help="load a docker save or OCI archive")
    load.add_argument("-i", "--input", type=Path, required=True, metavar="FILE")
    save = image_commands.add_parser("save", help="write images to an OCI archive")
    save.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    save.add_argument("references", nargs="+", metavar="IMAGE")

    commands.add_parser("images", help="list images (image ls)")
    rmi = commands.add_parser("rmi", help="remove image references (image rm)")
    rmi.add_argument("references", nargs="+", metavar="IMAGE")
    login = commands.add_parser("login", help="store credentials for a registry")
    login.add_argument("-u", "--username")
    login.add_argument("--password-stdin", action="store_true")
    login.add_argument("server", nargs="?", default="docker.io", metavar="SERVER")
    logout = commands.add_parser("logout", help="forget the credentials of a registry")
    logout.add_argument("server", nargs="?", default="docker.io", metavar="SERVER")


def _store(roots: StateRoots) -> "ImageStore":
    from runtime.images import ImageStore

    return ImageStore(roots.images)


def _mapped(run: Callable[[argparse.Namespace, StateRoots], int]) -> Callable[..., int]:
    """Turn the runtime's errors into CorralError, whose message the CLI prints."""

    def command(args: argparse.Namespace, roots: StateRoots) -> int:
        from runtime.errors import ContainerRuntimeError

        try:
            return run(args, roots)
        except (ContainerRuntimeError, OSError) as exc:
            raise CorralError(str(exc)) from exc

    return command


def _image(args: argparse.Namespace, roots: StateRoots) -> int:
    return _IMAGE_COMMANDS[args.image_command](args, roots)


def _import(args: argparse.Namespace, roots: StateRoots) -> int:
    image = _store(roots).import_tarball(args.tarball, args.reference)
    print(f"{image.reference} {image.digest}")
    return 0


def _list(args: argparse.Namespace, roots: StateRoots) -> int:
    summaries = _store(roots).list()
    print(f"{'REFERENCE':<40} {'DIGEST':<19} {'SIZE':>10}  CREATED")
    for summary in summaries:
        size = f"{summary.size / 1e6:.1f}MB"
        print(f"{summary.reference:<40} {summary.digest[:19]:<19} {size:>10}  {summary.created}")
    return 0


def _pull(args: argparse.Namespace, roots: StateRoots) -> int:
    from runtime.images.pull import pull

    display = ProgressDisplay(sys.stdout)
    image = pull(_store(roots), args.reference, progress=display)
    display.finish()
    print(f"{image.reference} {image.digest}")
    return 0


def _inspect(args: argparse.Namespace, roots: StateRoots) -> int:
    store = _store(roots)
    documents = []
    for reference in args.references:
        stored = store.stored(reference)
        image = store.image(stored.reference, stored.manifest.digest)
        documents.append(
            {
                "Reference": stored.reference,
                "Digest": stored.manifest.digest,
                "MediaType": stored.manifest.media_type,
                "Created": stored.config_json.get("created", ""),
                "Architecture": stored.config_json.get("architecture", ""),
                "Os": stored.config_json.get("os", ""),
                "Config": asdict(image.config),
                "Layers": [str(layer) for layer in image.layers],
                "Manifest": stored.manifest_json,
            }
        )
    print(json.dumps(documents, indent=2))
    return 0


def _prune(args: argparse.Namespace, roots: StateRoots) -> int:
    from runtime.images.gc import collect, remove_unused_images

    if args.all:
        removed, collected = remove_unused_images(_store(roots))
        for reference in removed:
            print(f"untagged {reference}")
    else:
        collected = collect(_store(roots))
    print(
        f"removed {collected.blobs} blobs and {collected.layers} layers,"
        f" {collected.bytes / 1e6:.1f} MB"
    )
    return 0


def _remove(args: argparse.Namespace, roots: StateRoots) -> int:
    from runtime.images.gc import remove_images

    for reference, digest in zip(
        args.references, remove_images(_store(roots), args.references), strict=True
    ):
        print(f"untagged {reference} ({digest})")
    return 0


def _load(args: argparse.Namespace, roots: StateRoots) -> int:
    from runtime.images.archives import load_archive

    for image in load_archive(_store(roots), args.input):
        print(f"loaded {image.reference} {image.digest}")
    return 0


def _save(args: argparse.Namespace, roots: StateRoots) -> int:
    from runtime.images.archives import save_archive

    save_archive(_store(roots), args.references, args.output)
    return 0


def _login(args: argparse.Namespace, roots: StateRoots) -> int:
    import getpass

    from runtime.images.credentials import Credentials, config_path, store_credentials
    from runtime.images.registry import check_credentials

    username = args.username or input("Username: ")
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
    credentials = Credentials(username, password)
    check_credentials(args.server, credentials)
    store_credentials(args.server, credentials, config_path())
    print(f"logged in to {args.server}")
    return 0


def _logout(args: argparse.Namespace, roots: StateRoots) -> int:
    from runtime.images.credentials import config_path, remove_credentials

    if remove_credentials(args.server, config_path()):
        print(f"removed the credentials of {args.server}")
    else:
        print(f"not logged in to {args.server}")
    return 0


class ProgressDisplay:
    """Per-layer pull progress: redrawn in place on a terminal, plain lines otherwise.

    Pulls report from their worker threads, several pulls at once: every
    event is taken under a lock, so lines are neither lost nor interleaved.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._terminal = stream.isatty()
        self._lines: dict[str, str] = {}
        self._drawn = 0
        self._last_draw = 0.0
        self._lock = threading.Lock()

    def __call__(self, event: "LayerProgress") -> None:
        with self._lock:
            self._show(event)

    def _show(self, event: "LayerProgress") -> None:
        from runtime.images.progress import LayerStatus

        short = event.digest.removeprefix("sha256:")[:12]
        line = f"{short}: {event.status.value}"
        if event.status is LayerStatus.DOWNLOADING and event.size:
            line += f" {event.done / 1e6:.1f}/{event.size / 1e6:.1f} MB"
        previous = self._lines.get(short)
        self._lines[short] = line
        if not self._terminal:
            if previous is None or previous.split(" ")[1] != line.split(" ")[1]:
                print(line, file=self._stream, flush=True)
            return
        now = time.monotonic()
        if event.status is LayerStatus.DOWNLOADING and now - self._last_draw < _REDRAW_INTERVAL:
            return
        self._draw(now)

    def _draw(self, now: float) -> None:
        up = f"\x1b[{self._drawn}A" if self._drawn else ""
        body = "".join(f"\x1b[2K{line}\n" for line in self._lines.values())
        self._stream.write(up + body)
        self._stream.flush()
        self._drawn = len(self._lines)
        self._last_draw = now

    def finish(self) -> None:
        with self._lock:
            if self._terminal and self._lines:
                self._draw(time.monotonic())


_IMAGE_COMMANDS: dict[str, Callable[[argparse.Namespace, StateRoots], int]] = {
    "import": _import,
    "ls": _list,
    "pull": _pull,
    "inspect": _inspect,
    "prune": _prune,
    "rm": _remove,
    "load": _load,
    "save": _save,
}

COMMANDS: dict[str, Callable[[argparse.Namespace, StateRoots], int]] = {
    "image": _mapped(_image),
    "images": _mapped(_list),
    "rmi": _mapped(_remove),
    "login": _mapped(_login),
    "logout": _mapped(_logout),
}
