"""How deeply a YAML document nests, measured before anything is built from it.

Building the tree, interpolating it, merging and cloning it are recursive,
one or a few Python frames per level; a value nested a few hundred levels
deep would exhaust Python's recursion limit in one of them and surface as a
traceback. So a document nested deeper than MAX_DEPTH is refused at once,
at the first collection too deep, walked here without recursion.

Aliases are followed (a nested alias builds a deeper tree); an alias used
inside its own anchor is left to the constructor, which names that error.
"""

from typing import NamedTuple

import yaml

MAX_DEPTH = 100
"""The most collections one value may nest: ten times what Compose files
use, and well within the recursion limit for every later pass over it."""

_KEY_PARTS = 4
"""How many mapping keys, from the top, the reported key path names."""


class TooDeep(NamedTuple):
    """The first collection nested deeper than MAX_DEPTH, and the key path of
    the value holding it (its first mapping keys, down to the first list)."""

    node: yaml.Node
    key: str


class _Visit(NamedTuple):
    node: yaml.Node
    depth: int
    keys: tuple[str, ...]
    """The mapping keys on the way here, as far as the key path names them."""
    named: bool
    """Whether the key path may still grow: no list entered yet."""


def find_too_deep(root: yaml.Node) -> TooDeep | None:
    """The first collection of `root` nested deeper than MAX_DEPTH, or None."""
    reached: dict[yaml.Node, int] = {}
    on_path: set[yaml.Node] = set()
    stack: list[_Visit | yaml.Node] = [_Visit(root, 1, (), True)]
    while stack:
        visit = stack.pop()
        if isinstance(visit, yaml.Node):  # every child of it was walked
            on_path.discard(visit)
            continue
        node = visit.node
        if not isinstance(node, yaml.CollectionNode):
            continue
        if node in on_path or reached.get(node, 0) >= visit.depth:
            continue  # a recursive alias, or already walked at least this deep
        if visit.depth > MAX_DEPTH:
            return TooDeep(node, ".".join(visit.keys))
        reached[node] = visit.depth
        on_path.add(node)
        stack.append(node)
        stack.extend(reversed(_children(visit)))
    return None


def _children(visit: _Visit) -> list[_Visit]:
    depth = visit.depth + 1
    if isinstance(visit.node, yaml.SequenceNode):
        return [_Visit(child, depth, visit.keys, False) for child in visit.node.value]
    children = []
    for key, value in visit.node.value:
        keys = visit.keys
        if visit.named and len(keys) < _KEY_PARTS and isinstance(key, yaml.ScalarNode):
            keys = (*keys, str(key.value))
        children.append(_Visit(value, depth, keys, visit.named))
    return children
