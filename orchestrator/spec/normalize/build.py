"""A service's `build` section: a context string, or the long form."""

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from orchestrator.spec.normalize import values as _values
from orchestrator.spec.normalize._errors import NormalizeError
from orchestrator.spec.normalize.mappings import (
    Ulimit,
    parse_extra_hosts,
    parse_key_values,
    parse_ulimits,
    scalar_text,
)
from orchestrator.spec.normalize.relations import FileReference, parse_file_references
from orchestrator.spec.normalize.units import parse_size

_KEYS = frozenset(
    {
        "context", "dockerfile", "dockerfile_inline", "args", "ssh", "cache_from", "cache_to",
        "extra_hosts", "isolation", "labels", "network", "no_cache", "platforms", "privileged",
        "pull", "shm_size", "tags", "target", "secrets", "ulimits", "additional_contexts",
        "entitlements", "provenance", "sbom",
    }
)  # fmt: skip
# A context with one of these prefixes (or any "scheme://") is not a local path.
_REMOTE_PREFIXES = ("git@", "github.com/", "service:")
_T = TypeVar("_T")


@dataclass(frozen=True)
class BuildConfig:
    context: str
    """An absolute directory, or a URL (git, http, docker-image://...) kept as written."""
    dockerfile: str | None = "Dockerfile"
    """Relative to the context; None when dockerfile_inline is given."""
    dockerfile_inline: str | None = None
    args: tuple[tuple[str, str | None], ...] = ()
    """A None value is taken from the environment, if set there."""
    ssh: tuple[tuple[str, str | None], ...] = ()
    """(id, path); the path is None for the agent socket ("default")."""
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    extra_hosts: tuple[tuple[str, str], ...] = ()
    isolation: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    network: str | None = None
    no_cache: bool = False
    platforms: tuple[str, ...] = ()
    privileged: bool = False
    pull: bool = False
    shm_size: int | None = None
    tags: tuple[str, ...] = ()
    target: str | None = None
    secrets: tuple[FileReference, ...] = ()
    ulimits: tuple[Ulimit, ...] = ()
    additional_contexts: tuple[tuple[str, str], ...] = ()
    """Name to a directory (resolved like `context`), a URL, or service:NAME."""
    entitlements: tuple[str, ...] = ()
    provenance: str | None = None
    sbom: str | None = None


def parse_build(value: object, *, project_dir: Path) -> BuildConfig:
    """`build`: a context path or URL, or a mapping. A local context is made
    absolute against the project directory, as compose-go does; the
    dockerfile defaults to "Dockerfile" unless dockerfile_inline is given."""
    if isinstance(value, str):
        return BuildConfig(context=_context(value, project_dir))
    mapping = _values.mapping(value, "a build context or a build mapping")
    _values.check_keys(mapping, _KEYS, "build")
    dockerfile = _values.text(mapping, "dockerfile")
    inline = _values.text(mapping, "dockerfile_inline")
    if dockerfile is not None and inline is not None:
        raise NormalizeError("dockerfile and dockerfile_inline exclude each other", ("dockerfile",))
    return BuildConfig(
        context=_context(_values.text(mapping, "context") or ".", project_dir),
        dockerfile=dockerfile or (None if inline is not None else "Dockerfile"),
        dockerfile_inline=inline,
        args=_parsed(mapping, "args", parse_key_values, ()),
        ssh=_parsed(mapping, "ssh", parse_key_values, ()),
        cache_from=_parsed(mapping, "cache_from", _strings, ()),
        cache_to=_parsed(mapping, "cache_to", _strings, ()),
        extra_hosts=_parsed(mapping, "extra_hosts", parse_extra_hosts, ()),
        isolation=_values.text(mapping, "isolation"),
        labels=_parsed(mapping, "labels", _labels, ()),
        network=_values.text(mapping, "network"),
        no_cache=_values.flag(mapping, "no_cache"),
        platforms=_parsed(mapping, "platforms", _strings, ()),
        privileged=_values.flag(mapping, "privileged"),
        pull=_values.flag(mapping, "pull"),
        shm_size=_parsed(mapping, "shm_size", parse_size, None),
        tags=_parsed(mapping, "tags", _strings, ()),
        target=_values.text(mapping, "target"),
        secrets=_parsed(mapping, "secrets", _secrets, ()),
        ulimits=_parsed(mapping, "ulimits", parse_ulimits, ()),
        additional_contexts=_parsed(mapping, "additional_contexts", _contexts(project_dir), ()),
        entitlements=_parsed(mapping, "entitlements", _strings, ()),
        provenance=_parsed(mapping, "provenance", scalar_text, None),
        sbom=_parsed(mapping, "sbom", scalar_text, None),
    )


def _parsed(
    mapping: Mapping[str, object], key: str, parse: Callable[[object], _T], default: _T
) -> _T:
    item = mapping.get(key)
    return default if item is None else _values.at(key, parse, item)


def _strings(value: object) -> tuple[str, ...]:
    return _values.strings(value, "a list of strings")


def _labels(value: object) -> tuple[tuple[str, str], ...]:
    return parse_key_values(value, allow_none=False)


def _secrets(value: object) -> tuple[FileReference, ...]:
    return parse_file_references(value, kind="secret")


def _contexts(project_dir: Path) -> Callable[[object], tuple[tuple[str, str], ...]]:
    def parse(value: object) -> tuple[tuple[str, str], ...]:
        named = parse_key_values(value, allow_none=False)
        return tuple((name, _context(location, project_dir)) for name, location in named)

    return parse


def _context(location: str, project_dir: Path) -> str:
    if "://" in location or location.startswith(_REMOTE_PREFIXES):
        return location
    return posixpath.normpath(posixpath.join(project_dir, location))
