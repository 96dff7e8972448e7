"""From a project's files to one merged tree, as Docker Compose builds it.

Each file is parsed and interpolated on its own; then its services' `extends`
are resolved (from the same file or another, chained) and its `include`d
projects are added; then the files are merged in order with the Compose
merge rules. What comes out is still a located YAML tree: the model is built
from it in one place, `loader`.

A problem met in another file while following an `extends` is reported at
the `extends` key that led there, its message naming where in the other
file it is: the file that refers and the file referred to are both named.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from orchestrator.errors import Problem
from orchestrator.spec.environment import project_environment
from orchestrator.spec.located_yaml import (
    LocatedDict,
    LocatedList,
    Mark,
    YamlSyntaxError,
    load_yaml,
    located_dict,
)
from orchestrator.spec.merge import merge, strip_resets
from orchestrator.spec.problems import Problems
from orchestrator.spec.relocate import relocate_document, relocate_service
from orchestrator.spec.substitute import substitute

RESOURCE_SECTIONS = ("services", "networks", "volumes", "secrets", "configs")
_INCLUDE_KEYS = ("env_file", "path", "project_directory")
MAX_EXTENDS_CHAIN = 100
"""The most services one `extends` chain may go through."""
MAX_INCLUDE_DEPTH = 50
"""The most files one chain of `include`s may go through."""


class _ChainError(Exception):
    """An extends chain that cannot be followed (a cycle, or too long),
    reported once at the service it started from."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _ChainTooLong(_ChainError):
    """Every service along the chain would say the same: told once."""


def _strings(value: Any) -> list[str] | None:
    """A string or a list of strings as a list; None for anything else."""
    items = [value] if isinstance(value, str) else value
    if isinstance(items, list) and all(isinstance(item, str) for item in items):
        return items
    return None


def clone(value: Any) -> Any:
    """A deep copy of a located tree, marks included."""
    if isinstance(value, LocatedDict):
        copy = located_dict(value.mark, {k: clone(v) for k, v in value.items()})
        copy.key_marks = dict(value.key_marks)
        copy.override = value.override
        return copy
    if isinstance(value, LocatedList):
        sequence = LocatedList(clone(v) for v in value)
        sequence.mark, sequence.item_marks = value.mark, list(value.item_marks)
        sequence.override = value.override
        return sequence
    return value


class DocumentLoader:
    """Reads, interpolates and merges the files of one project (or of one
    included project), collecting every problem on the way."""

    def __init__(
        self,
        environment: Mapping[str, str],
        shell: Mapping[str, str],
        problems: Problems,
        *,
        interpolate: bool = True,
        unset: dict[str, None] | None = None,
    ) -> None:
        self.environment = environment
        self.shell = shell
        self.problems = problems
        self.interpolate = interpolate
        self.unset: dict[str, None] = {} if unset is None else unset
        """The variables used but not set, in the order first met (shared
        with the loaders of included projects)."""
        self._read: dict[Path, tuple[LocatedDict | None, list[Problem]]] = {}
        """Each file read, with the problems found in it (told again to each
        `extends` that reads it)."""

    def read(self, path: Path) -> LocatedDict | None:
        """One file parsed and interpolated (cached); None, reported, when it
        cannot be used."""
        if path in self._read:
            document, found = self._read[path]
            self.problems.extend(found)
            return document
        first = len(self.problems.found)
        document = self._parse(path)
        self._read[path] = (document, self.problems.found[first:])
        return document

    def _parse(self, path: Path) -> LocatedDict | None:
        document: LocatedDict | None = None
        try:
            loaded = load_yaml(path)
        except OSError as exc:
            self.problems.add(Mark(path, 0, 0), "", f"cannot read: {exc.strerror}")
        except YamlSyntaxError as exc:
            self.problems.add(Mark(path, exc.line, exc.column), exc.key, exc.message)
        else:
            if isinstance(loaded, LocatedDict):
                document = loaded
                if self.interpolate:
                    substitute(document, self.environment.get, self.problems, self.unset.setdefault)
            elif loaded is None:
                self.problems.add(Mark(path, 1, 1), "", "the file is empty")
            else:
                self.problems.add(Mark(path, 1, 1), "", "a Compose file must be a mapping")
        return document

    def load(self, files: Sequence[Path], chain: tuple[Path, ...] = ()) -> LocatedDict:
        """`files` merged in order, each with its extends and includes applied."""
        merged: LocatedDict | None = None
        resets = False
        for path in files:
            document = self.read(path)
            if document is None:
                continue
            # The project's own copy: a later `extends` of this file reads it anew.
            del self._read[path]
            resets |= document.has_resets
            self._resolve_extends(document, path)
            self._apply_include(document, path, (*chain, path))
            merged = document if merged is None else merge(merged, document)
        if merged is None:
            return located_dict(Mark(files[0] if files else Path("."), 0, 0))
        return strip_resets(merged) if resets else merged

    # extends

    def _resolve_extends(self, document: LocatedDict, path: Path) -> None:
        services = document.get("services")
        if not isinstance(services, LocatedDict):
            return
        for name in list(services):
            body = services[name]
            try:
                self._resolved_service(services, str(name), path, ())
            except _ChainError as exc:
                self.problems.add(body.key_mark("extends"), f"services.{name}.extends", exc.message)
                if isinstance(exc, _ChainTooLong):
                    return

    def _resolved_service(
        self,
        services: LocatedDict,
        name: str,
        path: Path,
        chain: tuple[tuple[Path, str], ...],
    ) -> LocatedDict | None:
        """Service `name` of `services` (read from `path`) with its extends
        chain applied, replaced in place; None when it cannot be resolved."""
        body = services.get(name)
        if not isinstance(body, LocatedDict) or "extends" not in body:
            return body if isinstance(body, LocatedDict) else None
        key = f"services.{name}.extends"
        mark = body.key_mark("extends")
        if (path, name) in chain:
            start = chain[0][0]
            steps = (s if p == start else f"{p}:{s}" for p, s in (*chain, (path, name)))
            raise _ChainError(f"extends cycle: {' -> '.join(steps)}")
        if len(chain) == MAX_EXTENDS_CHAIN:
            raise _ChainTooLong(
                f"the extends chain goes through more than {MAX_EXTENDS_CHAIN} services"
            )
        extends = body["extends"]
        if isinstance(extends, str):
            extends = located_dict(mark, {"service": extends})
        base_name = extends.get("service") if isinstance(extends, LocatedDict) else None
        if not isinstance(base_name, str):
            self.problems.add(mark, key, "must be a service name or a mapping with `service`")
            return None
        if self._has_unknown_keys(extends, ("file", "service"), key):
            return None
        base_file = extends.get("file")
        base_path = path if base_file is None else (path.parent / str(base_file)).resolve()
        with self._reported_at(mark, key):
            base_services = services if base_file is None else self._services_of(base_path)
            if base_services is None:
                return None
            if base_name not in base_services:
                where = f" in {base_path}" if base_file is not None else ""
                self.problems.add(mark, key, f"extends undefined service {base_name!r}{where}")
                return None
            link = (*chain, (path, name))
            found = self._resolved_service(base_services, base_name, base_path, link)
        if found is None:
            return None
        base = clone(found)
        if base_path.parent != path.parent:
            relocate_service(base, base_path.parent)
        own = clone(body)
        del own["extends"]
        resolved: LocatedDict = merge(base, own, ("services", name))
        services[name] = resolved
        return resolved

    def _services_of(self, path: Path) -> LocatedDict | None:
        """A copy of the services of the file at `path` (none when it has no
        `services`); None, reported, when the file cannot be used."""
        other = self.read(path)
        if other is None:
            return None
        services = other.get("services")
        return clone(services) if isinstance(services, LocatedDict) else located_dict(other.mark)

    @contextmanager
    def _reported_at(self, mark: Mark, key: str) -> Iterator[None]:
        """Problems found in another file while following the `extends` at
        `mark` are reported there, each naming its own place."""
        outer, self.problems = self.problems, Problems()
        try:
            yield
        finally:
            found, self.problems = self.problems.found, outer
            for problem in found:
                if problem.file == mark.file:
                    outer.extend([problem])
                else:
                    outer.add(mark, key, str(problem))

    # include

    def _apply_include(self, document: LocatedDict, path: Path, chain: tuple[Path, ...]) -> None:
        entries = document.pop("include", None)
        if entries is None:
            return
        mark = document.key_mark("include")
        if not isinstance(entries, LocatedList):
            self.problems.add(mark, "include", "must be a list of files or mappings")
            return
        for index, (entry, entry_mark) in enumerate(zip(entries, entries.item_marks, strict=True)):
            key = f"include[{index}]"
            included = self._include_one(entry, entry_mark, key, path, chain)
            if included is not None:
                self._add_resources(document, included, entry_mark, key)

    def _include_one(
        self, entry: Any, mark: Mark, key: str, path: Path, chain: tuple[Path, ...]
    ) -> LocatedDict | None:
        if isinstance(entry, str):
            entry = located_dict(mark, {"path": entry})
        if not isinstance(entry, LocatedDict) or "path" not in entry:
            self.problems.add(mark, key, "must be a file path or a mapping with `path`")
            return None
        unknown = self._has_unknown_keys(entry, _INCLUDE_KEYS, key)
        raw_paths = _strings(entry["path"])
        raw_env = _strings(entry.get("env_file", []))
        directory = entry.get("project_directory")
        if not raw_paths or raw_env is None or not isinstance(directory, str | None):
            self.problems.add(
                mark,
                key,
                "path must be a path or a list of paths, env_file the same or none,"
                " project_directory a path",
            )
            return None
        if unknown:
            return None
        files = [(path.parent / p).resolve() for p in raw_paths]
        for file in files:
            if file in chain:
                cycle = " -> ".join(p.name for p in (*chain, file))
                self.problems.add(mark, key, f"include cycle: {cycle}")
                return None
        if len(chain) > MAX_INCLUDE_DEPTH:
            self.problems.add(
                mark, key, f"includes nested more than {MAX_INCLUDE_DEPTH} files deep"
            )
            return None
        project_dir = (path.parent / directory).resolve() if directory else files[0].parent
        env_files = [(path.parent / p).resolve() for p in raw_env]
        environment = project_environment(self.shell, project_dir, env_files, self.problems)
        loader = DocumentLoader(
            environment, self.shell, self.problems, interpolate=self.interpolate, unset=self.unset
        )
        for file in files:
            if not file.is_file():
                self.problems.add(mark, f"{key}.path", f"{file}: no such file")
                return None
        included = loader.load(files, chain)
        relocate_document(included, project_dir)
        return included

    def _has_unknown_keys(self, mapping: LocatedDict, allowed: Sequence[str], key: str) -> bool:
        """Report each key of `mapping` not in `allowed`; whether there was one."""
        unknown = sorted(str(k) for k in mapping if k not in allowed)
        for name in unknown:
            self.problems.add(
                mapping.key_mark(name),
                f"{key}.{name}",
                f"unknown key; expected {', '.join(allowed)}",
            )
        return bool(unknown)

    def _add_resources(
        self, document: LocatedDict, included: LocatedDict, mark: Mark, key: str
    ) -> None:
        for section in RESOURCE_SECTIONS:
            theirs = included.get(section)
            if not isinstance(theirs, LocatedDict):
                continue
            ours = document.get(section)
            if not isinstance(ours, LocatedDict):
                ours = located_dict(mark)
                document[section] = ours
                document.key_marks[section] = mark
            for name, body in theirs.items():
                if name in ours and ours[name] != body:
                    self.problems.add(
                        ours.key_mark(name), f"{section}.{name}",
                        f"is also defined by the included {theirs.key_mark(name).file}",
                    )  # fmt: skip
                    continue
                ours[name] = body
                ours.key_marks[name] = theirs.key_mark(name)
