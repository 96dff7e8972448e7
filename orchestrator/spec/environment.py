"""The variables a project's files are interpolated with.

As in Docker Compose: the shell's variables, over those of the env files
(`--env-file`, repeatable, later files winning; else `.env` in the project
directory when it exists). COMPOSE_DISABLE_ENV_FILE=1 skips the env files.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path

from orchestrator.spec.dotenv import DotenvError, parse_dotenv
from orchestrator.spec.located_yaml import Mark
from orchestrator.spec.problems import Problems
from orchestrator.spec.text_files import NotText, read_text

_TRUE = {"1", "true", "yes", "on"}
NOT_UTF8 = "not UTF-8 text"
"""An env file's encoding error, naming no byte of it: it may hold secrets."""


def _read_env_file(path: Path, known: Mapping[str, str], problems: Problems) -> dict[str, str]:
    try:
        text = read_text(path)
    except OSError as exc:
        problems.add(Mark(path, 0, 0), "", f"cannot read env file: {exc.strerror}")
        return {}
    except NotText as exc:
        problems.add(Mark(path, exc.line, exc.column), "", NOT_UTF8)
        return {}
    try:
        return parse_dotenv(text, known.get)
    except DotenvError as exc:
        problems.add(Mark(path, exc.line, exc.column), "", exc.message)
        return {}


def project_environment(
    shell: Mapping[str, str],
    project_dir: Path,
    env_files: Sequence[Path],
    problems: Problems,
) -> dict[str, str]:
    """The shell's variables over the env files'; problems name the env file."""
    if shell.get("COMPOSE_DISABLE_ENV_FILE", "").lower() in _TRUE:
        return dict(shell)
    if not env_files:
        default = project_dir / ".env"
        env_files = (default,) if default.is_file() else ()
    from_files: dict[str, str] = {}
    for path in env_files:
        from_files.update(_read_env_file(path, {**from_files, **shell}, problems))
    return {**from_files, **shell}


def read_service_env_file(
    path: Path,
    required: bool,
    environment: Mapping[str, str],
    mark: Mark,
    key: str,
    problems: Problems,
) -> dict[str, str]:
    """A service's `env_file`, interpolated with the project's environment.
    A missing file that is not `required` is skipped, as in Compose; any
    other problem is reported at `mark`, naming the env file (and its line)."""
    try:
        text = read_text(path)
    except FileNotFoundError:
        if required:
            problems.add(mark, key, f"{path}: no such file")
        return {}
    except OSError as exc:
        problems.add(mark, key, f"cannot read {path}: {exc.strerror}")
        return {}
    except NotText as exc:
        problems.add(mark, key, f"{path}:{exc.line}:{exc.column}: {NOT_UTF8}")
        return {}
    try:
        return parse_dotenv(text, environment.get)
    except DotenvError as exc:
        problems.add(mark, key, f"{path}:{exc.line}:{exc.column}: {exc.message}")
        return {}
