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

_TRUE = {"1", "true", "yes", "on"}


def _read_env_file(path: Path, known: Mapping[str, str], problems: Problems) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.add(Mark(path, 0, 0), "", f"cannot read env file: {exc.strerror}")
        return {}
    try:
        return parse_dotenv(text, known.get)
    except DotenvError as exc:
        problems.add(Mark(path, exc.line, 0), "", exc.message)
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
    path: Path, environment: Mapping[str, str], mark: Mark, key: str, problems: Problems
) -> dict[str, str] | None:
    """A service's `env_file`, interpolated with the project's environment;
    None when it cannot be read, so the caller can honour `required: false`.
    A syntax error is reported at `mark`, naming the env file's own line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    try:
        return parse_dotenv(text, environment.get)
    except DotenvError as exc:
        problems.add(mark, key, f"{path}:{exc.line}: {exc.message}")
        return {}
