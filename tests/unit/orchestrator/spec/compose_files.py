"""Writing small Compose projects to disk for the loader's tests."""

import textwrap
from collections.abc import Mapping
from pathlib import Path

from orchestrator.spec import LoadOptions, ProjectSpec, load_project


def write_files(directory: Path, files: Mapping[str, str]) -> list[Path]:
    """Each `name: text` written under `directory` (dedented); the paths."""
    paths = []
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        paths.append(path)
    return paths


def load_files(
    directory: Path,
    files: Mapping[str, str],
    *,
    use: tuple[str, ...] | None = None,
    shell: Mapping[str, str] | None = None,
    warnings: list[str] | None = None,
    **options: object,
) -> ProjectSpec:
    """Write `files`, then load those named in `use` (default: the first)."""
    write_files(directory, files)
    names = use or (next(iter(files)),)
    sink: list[str] = [] if warnings is None else warnings
    return load_project(
        [directory / name for name in names],
        shell=shell or {},
        warn=sink.append,
        options=LoadOptions(project_flag="test", **options),  # type: ignore[arg-type]
    )
