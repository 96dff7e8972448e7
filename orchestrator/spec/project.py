"""Which files make a project and what the project is called, as in Compose."""

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from orchestrator.errors import CorralError

DEFAULT_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_VALID_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def find_compose_files(
    explicit: Sequence[str], cwd: Path, environ: Mapping[str, str] | None = None
) -> tuple[Path, ...]:
    """The -f files (else COMPOSE_FILE's), or the first default file in `cwd`
    or one of its parents followed by its override file when there is one
    (compose.yaml -> compose.override.yaml), as Compose picks them."""
    environ = environ or {}
    if not explicit and environ.get("COMPOSE_FILE"):
        separator = environ.get("COMPOSE_PATH_SEPARATOR", ":")
        explicit = [name for name in environ["COMPOSE_FILE"].split(separator) if name]
    if explicit:
        files = tuple(_absolute(cwd / name) for name in explicit)
        for path in files:
            if path.is_dir():
                raise CorralError(f"{path}: is a directory, not a Compose file")
            if not path.exists():
                raise CorralError(f"{path}: no such file")
        return files
    for directory in (cwd, *cwd.parents):
        for name in DEFAULT_FILE_NAMES:
            candidate = directory / name
            if candidate.is_file():
                stem = name.rsplit(".", 1)[0]
                overrides = [directory / f"{stem}.override.{ext}" for ext in ("yaml", "yml")]
                found = [path for path in overrides if path.is_file()][:1]
                return tuple(path.resolve() for path in (candidate, *found))
    raise CorralError(
        f"no Compose file found in {cwd} or its parents "
        f"(looked for {', '.join(DEFAULT_FILE_NAMES)}); name one with -f"
    )


def normalize_project_name(raw: str) -> str:
    """Lowercase, keep [a-z0-9_-], strip leading '_' and '-' (for directory names)."""
    kept = re.sub(r"[^a-z0-9_-]", "", raw.lower())
    return kept.lstrip("_-")


def _absolute(path: Path) -> Path:
    """`path` with its links resolved, unless it is a link to something with
    no path of its own, as /dev/stdin is to a pipe."""
    resolved = path.resolve()
    return resolved if resolved.exists() or not path.exists() else Path(os.path.abspath(path))


def name_problem(value: str) -> str:
    """What is wrong with `value` as a project name; "" when nothing."""
    if _VALID_NAME.match(value):
        return ""
    return (
        f"project name {value!r} must contain only lowercase letters, "
        "digits, dashes and underscores, and start with a letter or digit"
    )


def project_name(
    flag: str | None,
    environ: Mapping[str, str],
    top_level_name: str | None,
    first_file: Path,
) -> str:
    """-p, then COMPOSE_PROJECT_NAME, then the file's `name`, then the directory."""
    for source, value in (
        ("-p", flag),
        ("COMPOSE_PROJECT_NAME", environ.get("COMPOSE_PROJECT_NAME") or None),
        (f"{first_file}: name", top_level_name),
    ):
        if value is not None:
            problem = name_problem(value)
            if problem:
                raise CorralError(f"{source}: {problem}")
            return value
    name = normalize_project_name(first_file.parent.name)
    if not name:
        raise CorralError(
            f"cannot derive a project name from directory {first_file.parent}; use -p"
        )
    return name
