"""YAML parsing that remembers where each key stands.

PyYAML drops marks once it builds Python objects. This loader builds plain
dicts and lists, as `yaml.safe_load` would, but of subclasses that keep the
file, line and column of the collection and of each key or item, so
validation can point at the key it complains about even after several files
were merged. Duplicate keys are an error, as in Compose.

Compose reads YAML 1.2, where only true and false are booleans: `on`,
`yes` and `no` stay the words written (`restart: no`, `FLAG: on`), not
PyYAML's YAML 1.1 booleans.

Compose's merge tags are kept for the merge step: `!reset` reads as the
RESET marker (the key is removed from what earlier files said), `!override`
flags a mapping or sequence that replaces the earlier value instead of
merging with it.
"""

import re
from pathlib import Path
from typing import Any, NamedTuple

import yaml


class Mark(NamedTuple):
    """Where something was written: file, 1-based line and column."""

    file: Path
    line: int
    column: int


class Reset:
    """The value of a key tagged `!reset`: remove what earlier files set."""

    def __repr__(self) -> str:
        return "RESET"


RESET = Reset()


class LocatedDict(dict[Any, Any]):
    """A YAML mapping with the mark of itself and of each key."""

    mark: Mark
    key_marks: dict[Any, Mark]
    override: bool = False
    has_resets: bool = False
    """Set on a document's root when `!reset` appears anywhere in it."""

    def key_mark(self, key: Any) -> Mark:
        return self.key_marks.get(key, self.mark)


class LocatedList(list[Any]):
    """A YAML sequence with the mark of itself and of each item."""

    mark: Mark
    item_marks: list[Mark]
    override: bool = False


def located_dict(mark: Mark, items: dict[Any, Any] | None = None) -> LocatedDict:
    """A new mapping written at `mark`; its keys take the same mark."""
    mapping = LocatedDict(items or {})
    mapping.mark = mark
    mapping.key_marks = dict.fromkeys(mapping, mark)
    return mapping


def located_list(mark: Mark, items: list[Any] | None = None) -> LocatedList:
    """A new sequence written at `mark`; its items take the same mark."""
    sequence = LocatedList(items or [])
    sequence.mark = mark
    sequence.item_marks = [mark] * len(sequence)
    return sequence


class YamlSyntaxError(Exception):
    """The text is not valid YAML (or has a duplicate key)."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


_MERGE_TAG = "tag:yaml.org,2002:merge"
_BOOL_TAG = "tag:yaml.org,2002:bool"


# libyaml's parser when PyYAML has it (about ten times faster), else PyYAML's own.
class _LocatingLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    file: Path
    has_resets = False

    def mark_of(self, node: yaml.Node) -> Mark:
        return Mark(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        assert isinstance(node, yaml.MappingNode)
        written = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE_TAG)
        self.flatten_mapping(node)  # merged pairs first, then the ones written here
        merged = len(node.value) - written
        mapping = located_dict(self.mark_of(node))
        written_keys: set[Any] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            key = self.construct_object(key_node, deep=True)
            if index >= merged:  # a written key may override a merged one, not itself
                if key in written_keys:
                    raise YamlSyntaxError(
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                        f"duplicate key {key!r} in one mapping",
                    )
                written_keys.add(key)
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_marks[key] = self.mark_of(key_node)
        return mapping

    def construct_located_sequence(self, node: yaml.Node) -> LocatedList:
        assert isinstance(node, yaml.SequenceNode)
        sequence = located_list(
            self.mark_of(node), [self.construct_object(child, deep=True) for child in node.value]
        )
        sequence.item_marks = [self.mark_of(child) for child in node.value]
        return sequence


def _mapping(loader: _LocatingLoader, node: yaml.Node) -> dict[Any, Any]:
    return loader.construct_mapping(node)


def _sequence(loader: _LocatingLoader, node: yaml.Node) -> LocatedList:
    return loader.construct_located_sequence(node)


def _reset(loader: _LocatingLoader, node: yaml.Node) -> Reset:
    loader.has_resets = True
    return RESET


def _override(loader: _LocatingLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        value: LocatedDict | LocatedList = loader.construct_mapping(node)  # type: ignore[assignment]
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_located_sequence(node)
    else:
        return loader.construct_scalar(node)
    value.override = True
    return value


_LocatingLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LocatingLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_LocatingLoader.add_constructor("tag:yaml.org,2002:map", _mapping)
_LocatingLoader.add_constructor("tag:yaml.org,2002:seq", _sequence)
_LocatingLoader.add_constructor("!reset", _reset)
_LocatingLoader.add_constructor("!override", _override)


def parse_yaml(text: str, file: Path) -> Any:
    """Parse YAML text read from `file`; raise YamlSyntaxError on bad input."""
    loader = _LocatingLoader(text)
    loader.file = file
    try:
        document = loader.get_single_data()
        if isinstance(document, LocatedDict):
            document.has_resets = loader.has_resets
        return document
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        raise YamlSyntaxError(line, column, f"invalid YAML: {exc.problem or exc}") from exc
    finally:
        loader.dispose()


def load_yaml(path: Path) -> Any:
    """Parse one YAML file; raise OSError or YamlSyntaxError."""
    return parse_yaml(path.read_text(encoding="utf-8"), path)
