"""Interpolation of every value of one file's tree (never its keys)."""

from collections.abc import Callable
from typing import Any

from orchestrator.spec.interpolation import InterpolationError, Unset, interpolate
from orchestrator.spec.located_yaml import LocatedDict, LocatedList, Mark
from orchestrator.spec.problems import Problems


def substitute(
    tree: Any,
    lookup: Callable[[str], str | None],
    problems: Problems,
    unset: Unset,
    path: str = "",
) -> None:
    """Interpolate every string value of `tree` in place; each failure is
    reported at the key holding it, naming the variable where known, and
    each variable used but not set is told to `unset`."""
    if isinstance(tree, LocatedDict):
        for key, value in tree.items():
            key_path = f"{path}.{key}" if path else str(key)
            if isinstance(value, str):
                tree[key] = _one(value, lookup, unset, problems, tree.key_mark(key), key_path)
            else:
                substitute(value, lookup, problems, unset, key_path)
    elif isinstance(tree, LocatedList):
        for index, (value, mark) in enumerate(zip(tree, tree.item_marks, strict=True)):
            item_path = f"{path}[{index}]"
            if isinstance(value, str):
                tree[index] = _one(value, lookup, unset, problems, mark, item_path)
            else:
                substitute(value, lookup, problems, unset, item_path)


def _one(
    text: str,
    lookup: Callable[[str], str | None],
    unset: Unset,
    problems: Problems,
    mark: Mark,
    path: str,
) -> str:
    if "$" not in text:
        return text
    try:
        return interpolate(text, lookup, unset)
    except InterpolationError as exc:
        problems.add(mark, path, str(exc))
        return text
