"""YAML parsing that remembers where each key stands.

PyYAML drops marks once it builds Python objects. This loader builds plain
dicts and lists, as `yaml.safe_load` would, but of subclasses that keep the
line of the mapping and of each of its keys, so validation can name the line
of the key it complains about. Duplicate keys are an error, as in Compose.

Compose reads YAML 1.2, where only true and false are booleans: `on`,
`yes` and `no` stay the words written (`restart: no`, `FLAG: on`), not
PyYAML's YAML 1.1 booleans.
"""

import re
from pathlib import Path
from typing import Any

import yaml


class LocatedDict(dict[Any, Any]):
    """A YAML mapping with the 1-based line of itself and of each key."""

    line: int
    key_lines: dict[Any, int]


class LocatedList(list[Any]):
    """A YAML sequence with the 1-based line of itself and of each item."""

    line: int
    item_lines: list[int]


class YamlSyntaxError(Exception):
    """The text is not valid YAML (or has a duplicate key)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


_MERGE_TAG = "tag:yaml.org,2002:merge"
_BOOL_TAG = "tag:yaml.org,2002:bool"


class _LocatingLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        assert isinstance(node, yaml.MappingNode)
        written = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE_TAG)
        self.flatten_mapping(node)  # merged pairs first, then the ones written here
        merged = len(node.value) - written
        mapping = LocatedDict()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        written_keys: set[Any] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            key = self.construct_object(key_node, deep=True)
            if index >= merged:  # a written key may override a merged one, not itself
                if key in written_keys:
                    raise YamlSyntaxError(
                        key_node.start_mark.line + 1, f"duplicate key {key!r} in one mapping"
                    )
                written_keys.add(key)
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_lines[key] = key_node.start_mark.line + 1
        return mapping

    def construct_located_sequence(self, node: yaml.Node) -> LocatedList:
        assert isinstance(node, yaml.SequenceNode)
        sequence = LocatedList(self.construct_object(child, deep=True) for child in node.value)
        sequence.line = node.start_mark.line + 1
        sequence.item_lines = [child.start_mark.line + 1 for child in node.value]
        return sequence


def _mapping(loader: _LocatingLoader, node: yaml.Node) -> dict[Any, Any]:
    return loader.construct_mapping(node)


def _sequence(loader: _LocatingLoader, node: yaml.Node) -> LocatedList:
    return loader.construct_located_sequence(node)


_LocatingLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LocatingLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_LocatingLoader.add_constructor("tag:yaml.org,2002:map", _mapping)
_LocatingLoader.add_constructor("tag:yaml.org,2002:seq", _sequence)


def load_yaml(path: Path) -> Any:
    """Parse one YAML file; raise YamlSyntaxError with the line on bad input."""
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.load(text, Loader=_LocatingLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YamlSyntaxError(line, f"invalid YAML: {exc.problem or exc}") from exc
