"""Compose files in, one frozen model out.

`located_yaml` parses YAML keeping each key's line; `model` is the typed,
frozen result; `loader` validates the supported subset of the Compose
Specification and builds the model; `project` finds the files and the
project name the way Docker Compose does. Nothing past this package sees a
dict from YAML.

The names below are imported on first use: the supervisor, which receives
a loaded model, needs `model` alone and should not pay for the loader.
"""

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.spec.loader import LoadOptions, load_project
    from orchestrator.spec.model import (
        NetworkSpec,
        ProjectSpec,
        RestartMode,
        RestartPolicy,
        ServiceSpec,
    )
    from orchestrator.spec.project import find_compose_files, project_name

_HOMES = {
    "LoadOptions": "loader",
    "load_project": "loader",
    "NetworkSpec": "model",
    "ProjectSpec": "model",
    "RestartMode": "model",
    "RestartPolicy": "model",
    "ServiceSpec": "model",
    "find_compose_files": "project",
    "project_name": "project",
}

__all__ = [
    "LoadOptions",
    "NetworkSpec",
    "ProjectSpec",
    "RestartMode",
    "RestartPolicy",
    "ServiceSpec",
    "find_compose_files",
    "load_project",
    "project_name",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)
