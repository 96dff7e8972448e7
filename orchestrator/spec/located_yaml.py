"""YAML parsing that remembers where each key stands.

PyYAML drops marks once it builds Python objects. This loader builds plain
dicts and lists, as `yaml.safe_load` would, but of subclasses that keep the
file, line and column of the collection and of each key or item, so
validation can point at the key it complains about even after several files
were merged. Duplicate keys are an error, as in Compose.

Plain scalars are read as Compose's YAML decoder (Go's yaml.v3) reads them,
not as PyYAML's YAML 1.1: only true and false are booleans (`restart: no`
and `FLAG: on` stay the words written), `22:22` and `1:30` are strings, not
base-60 numbers, a date is a string, and `1e3` is a number.

An alias is built anew wherever it is used, as Compose's decoder does: two
services merging one anchor (`<<: *common`) get mappings of their own, which
interpolation and merging may change without touching each other. So that
a small file cannot expand into billions of objects through nested aliases,
building stops after `MAX_OBJECTS`.

Compose's merge tags are kept for the merge step: `!reset` reads as the
RESET marker (the key is removed from what earlier files said), `!override`
flags a mapping or sequence that replaces the earlier value instead of
merging with it.
"""

import re
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from orchestrator.spec.text_files import NotText, read_text
from orchestrator.spec.yaml_depth import MAX_DEPTH, find_too_deep


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
    """The text is not valid YAML (or has a duplicate key, or nests too
    deeply); `key` is the key path at fault when one is known."""

    def __init__(self, line: int, column: int, message: str, key: str = "") -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message
        self.key = key


_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"

MAX_OBJECTS = 200_000
"""The most values one document may build again for its aliases: tens of
times what a large Compose file needs, and a second or two of work."""


class _LocatingLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser when PyYAML has it (about ten times faster), else
    PyYAML's own; the constructor is PyYAML's safe one, changed as the module
    says."""

    file: Path
    has_resets = False
    rebuilt = 0
    merged_counts: dict[yaml.Node, int]
    flattening: set[yaml.Node]

    def mark_of(self, node: yaml.Node) -> Mark:
        return Mark(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:  # an alias, or inside one: built anew
            del self.constructed_objects[node]
            self.rebuilt += 1
            if self.rebuilt > MAX_OBJECTS:
                message = f"too many values once aliases are expanded (over {MAX_OBJECTS})"
                raise YamlSyntaxError(*self.mark_of(node)[1:], message)
        elif node in self.recursive_objects:
            raise YamlSyntaxError(*self.mark_of(node)[1:], "an alias is used inside its own anchor")
        try:
            return yaml.constructor.BaseConstructor.construct_object(self, node, deep)
        except ValueError as exc:  # `!!int abc`, say
            raise YamlSyntaxError(*self.mark_of(node)[1:], f"invalid value: {exc}") from None

    def flatten_mapping(self, node: yaml.Node) -> None:
        """Apply the node's `<<` keys: the pairs they merge in come first, then
        those written here, which the constructor lets win. Of one merged
        mapping, its own last word on a key counts (`<<: *base` where base
        overrides what it merged); of several (`<<: [*a, *b]`), the first
        that has the key. Done once per node (an aliased one is built again),
        recording how many pairs were merged in."""
        if node in self.merged_counts:
            return
        if node in self.flattening:
            raise YamlSyntaxError(*self.mark_of(node)[1:], "an alias is used inside its own anchor")
        self.flattening.add(node)
        merged: dict[object, tuple[yaml.Node, yaml.Node]] = {}
        written = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                written.append((key_node, value_node))
                continue
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for source in dict.fromkeys(sources):  # a source listed twice adds nothing
                if not isinstance(source, yaml.MappingNode):
                    raise YamlSyntaxError(
                        *self.mark_of(source)[1:], "`<<` merges a mapping or a list of mappings"
                    )
                self.flatten_mapping(source)
                own_word = {_key_identity(k): (k, v) for k, v in source.value}
                for identity, pair in own_word.items():
                    merged.setdefault(identity, pair)
        self.flattening.discard(node)
        node.value = [*merged.values(), *written]
        self.merged_counts[node] = len(merged)

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        assert isinstance(node, yaml.MappingNode)
        self.flatten_mapping(node)
        merged = self.merged_counts[node]
        mapping = located_dict(self.mark_of(node))
        written_keys: set[Any] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            key_mark = self.mark_of(key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlSyntaxError(*key_mark[1:], "a mapping, list or set cannot be a key")
            key = key_node.value  # the text written: `true:` or `1:` names "true" or "1"
            if index >= merged:  # a written key may override a merged one, not itself
                if key in written_keys:
                    raise YamlSyntaxError(*key_mark[1:], f"duplicate key {key!r} in one mapping")
                written_keys.add(key)
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_marks[key] = key_mark
        return mapping

    def construct_located_sequence(self, node: yaml.Node) -> LocatedList:
        assert isinstance(node, yaml.SequenceNode)
        sequence = located_list(
            self.mark_of(node), [self.construct_object(child, deep=True) for child in node.value]
        )
        sequence.item_marks = [self.mark_of(child) for child in node.value]
        return sequence


def _key_identity(node: yaml.Node) -> object:
    """What makes two merged keys the same key: a scalar's text, as a key is
    named by its text (`1` and `'1'` are one key)."""
    return node.value if isinstance(node, yaml.ScalarNode) else id(node)


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


def _integer(loader: _LocatingLoader, node: yaml.Node) -> int:
    """An integer as Go reads one (`strconv.ParseInt` in base 0): a leading
    0 means octal (`mode: 0440`), 0b, 0o and 0x their bases; `_` separates.
    Like Go's, it has 64 bits at most."""
    written = loader.construct_scalar(node)
    text = written.replace("_", "").lstrip("+-").lower()
    sign = -1 if written.startswith("-") else 1
    base = {"0b": 2, "0o": 8, "0x": 16}.get(text[:2])
    if base is not None:
        text = text[2:]
    elif len(text) > 1 and text.startswith("0") and not set(text) & {"8", "9"}:
        base = 8
    if len(text.lstrip("0")) > 64 or abs(number := sign * int(text, base or 10)) >= 2**64:
        line, column = loader.mark_of(node)[1:]
        raise YamlSyntaxError(line, column, f"the number {written[:40]} is too large (64 bits)")
    return number


_SCALARS = (
    (_BOOL_TAG, "true|True|TRUE|false|False|FALSE", "tTfF"),
    (
        _INT_TAG,
        "[-+]?(?:0[bB]_?[01][01_]*|0[oO]_?[0-7][0-7_]*|0[xX]_?[0-9a-fA-F][0-9a-fA-F_]*|[0-9][0-9_]*)",
        "-+0123456789",
    ),
    (
        "tag:yaml.org,2002:float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "-+.0123456789",
    ),
)
"""The plain scalars that are not strings, besides null, as Compose's YAML
decoder (Go's yaml.v3) reads them."""

# PyYAML's resolvers of YAML 1.1 give way to those, but for null and the
# merge key `<<`.
_LocatingLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag in (_NULL_TAG, _MERGE_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, _pattern, _first in _SCALARS:
    _LocatingLoader.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), list(_first))
_LocatingLoader.add_constructor(_INT_TAG, _integer)
_LocatingLoader.add_constructor("tag:yaml.org,2002:map", _mapping)
_LocatingLoader.add_constructor("tag:yaml.org,2002:seq", _sequence)
_LocatingLoader.add_constructor("!reset", _reset)
_LocatingLoader.add_constructor("!override", _override)


def parse_yaml(text: str, file: Path) -> Any:
    """Parse YAML text read from `file`; raise YamlSyntaxError on bad input."""
    loader = _LocatingLoader(text)
    loader.file = file
    loader.merged_counts = {}
    loader.flattening = set()
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        if too_deep := find_too_deep(root):
            line, column = loader.mark_of(too_deep.node)[1:]
            message = f"nested more than {MAX_DEPTH} levels deep"
            raise YamlSyntaxError(line, column, message, too_deep.key)
        document = loader.construct_document(root)
        if isinstance(document, LocatedDict):
            document.has_resets = loader.has_resets
        return document
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        raise YamlSyntaxError(line, column, f"invalid YAML: {exc.problem or exc}") from exc
    except RecursionError:
        raise YamlSyntaxError(0, 0, "invalid YAML: nested too deeply") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        message = f"invalid YAML: the character U+{exc.character:04X} is not allowed"
        raise YamlSyntaxError(line, column, message) from exc
    finally:
        loader.dispose()


def load_yaml(path: Path) -> Any:
    """Parse one YAML file; raise OSError or YamlSyntaxError."""
    try:
        text = read_text(path)
    except NotText as exc:
        raise YamlSyntaxError(exc.line, 0, exc.message) from exc
    return parse_yaml(text, path)
