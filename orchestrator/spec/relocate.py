"""Relative paths of a service read from another directory made absolute.

Paths in a project's own files are relative to the project directory. A
service taken from another file by `extends`, or from an `include`d project,
keeps paths relative to that file's own directory, so they are made absolute
before it joins the project.
"""

from pathlib import Path
from typing import Any

from orchestrator.spec.located_yaml import LocatedDict, LocatedList

_BIND_PREFIXES = (".", "/", "~")
_URL_PREFIXES = ("http://", "https://", "git://", "git@", "github.com/", "ssh://")


def _absolute(text: str, base: Path) -> str:
    if text.startswith(("/", "~")) or text.startswith(_URL_PREFIXES):
        return text
    return str((base / text).resolve())


def _relocate_volume(entry: Any, base: Path) -> Any:
    if isinstance(entry, str):
        host_path, sep, rest = entry.partition(":")
        if sep and host_path.startswith("."):
            return f"{_absolute(host_path, base)}:{rest}"
        return entry
    if isinstance(entry, LocatedDict) and entry.get("type") == "bind":
        source = entry.get("source")
        if isinstance(source, str):
            entry["source"] = _absolute(source, base)
    return entry


def _relocate_list_or_path(value: Any, base: Path, key: str = "path") -> Any:
    if isinstance(value, str):
        return _absolute(value, base)
    if isinstance(value, LocatedList):
        value[:] = [_relocate_list_or_path(item, base, key) for item in value]
    elif isinstance(value, LocatedDict) and isinstance(value.get(key), str):
        value[key] = _absolute(value[key], base)
    return value


def relocate_service(service: Any, base: Path) -> None:
    """Make the relative paths of one service's mapping absolute, in place."""
    if not isinstance(service, LocatedDict):
        return
    build = service.get("build")
    if isinstance(build, str):
        service["build"] = _absolute(build, base)
    elif isinstance(build, LocatedDict) and isinstance(build.get("context"), str):
        build["context"] = _absolute(build["context"], base)
    for key in ("env_file", "label_file"):
        if key in service:
            service[key] = _relocate_list_or_path(service[key], base)
    volumes = service.get("volumes")
    if isinstance(volumes, LocatedList):
        volumes[:] = [_relocate_volume(entry, base) for entry in volumes]
    extends = service.get("extends")
    if isinstance(extends, LocatedDict) and isinstance(extends.get("file"), str):
        extends["file"] = _absolute(extends["file"], base)


def relocate_document(document: LocatedDict, base: Path) -> None:
    """Every relative path of an included project made absolute, in place."""
    services = document.get("services")
    if isinstance(services, LocatedDict):
        for body in services.values():
            relocate_service(body, base)
    for section in ("secrets", "configs"):
        entries = document.get(section)
        if isinstance(entries, LocatedDict):
            for body in entries.values():
                if isinstance(body, LocatedDict) and isinstance(body.get("file"), str):
                    body["file"] = _absolute(body["file"], base)
