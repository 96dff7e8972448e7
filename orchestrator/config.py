"""`corral config`: the resolved project, as `docker compose config` prints it."""

import argparse
import json
from typing import TYPE_CHECKING, Any

from orchestrator.errors import CorralError

if TYPE_CHECKING:  # the parser is built for every command; the spec is loaded only for `config`
    from orchestrator.spec import ProjectSpec


def add_parser(commands: "argparse._SubParsersAction[Any]") -> None:
    config = commands.add_parser(
        "config", help="print the resolved Compose model (interpolated, merged, normalized)"
    )
    listing = config.add_mutually_exclusive_group()
    for option, what in (
        ("--services", "service names"),
        ("--volumes", "volume names"),
        ("--networks", "network names"),
        ("--profiles", "profile names"),
        ("--images", "images of the services"),
    ):
        listing.add_argument(option, action="store_true", help=f"print the {what}, one a line")
    listing.add_argument(
        "--hash", metavar="SERVICE|*", help="print `service hash` for one service or all (*)"
    )
    config.add_argument("--format", choices=("yaml", "json"), default="yaml")
    config.add_argument("--no-interpolate", action="store_true", help="keep ${VAR} as written")
    config.add_argument("-q", "--quiet", action="store_true", help="only validate")


def _lines(args: argparse.Namespace, project: "ProjectSpec") -> list[str] | None:
    """The one-per-line listings; None when the whole model is asked for."""
    if args.services:
        return [s.name for s in project.services]
    if args.volumes:
        return [v.key for v in project.volumes]
    if args.networks:
        return [n.key for n in project.networks]
    if args.profiles:
        return list(project.profiles)
    if args.images:
        return [s.image or f"{project.name}-{s.name}" for s in project.services]
    if args.hash:
        from orchestrator.spec.render import service_hash

        names = [s.name for s in project.services] if args.hash == "*" else args.hash.split(",")
        known = {s.name for s in project.services}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise CorralError(f"no such service: {', '.join(unknown)}")
        return [f"{name} {service_hash(project.service(name))}" for name in names]
    return None


def run(args: argparse.Namespace, project: "ProjectSpec") -> int:
    if args.quiet:
        return 0
    lines = _lines(args, project)
    if lines is not None:
        for line in lines:
            print(line)
        return 0
    from orchestrator.spec.render import project_data

    data = project_data(project)
    if args.format == "json":
        print(json.dumps(data, indent=2))
    else:
        import yaml

        print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), end="")
    return 0
