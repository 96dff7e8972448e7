"""Compose files in, one frozen model out.

`located_yaml` parses YAML keeping each key's line; `model` is the typed,
frozen result; `loader` validates the supported subset of the Compose
Specification and builds the model; `project` finds the files and the
project name the way Docker Compose does. Nothing past this package sees a
dict from YAML.
"""

from orchestrator.spec.loader import LoadOptions, load_project
from orchestrator.spec.model import (
    NetworkSpec,
    ProjectSpec,
    RestartMode,
    RestartPolicy,
    ServiceSpec,
)
from orchestrator.spec.project import find_compose_files, project_name

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
