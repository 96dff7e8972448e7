"""Checks shared by the normalizers: the YAML types each key expects.

Each helper raises NormalizeError with the key's path, so a normalizer reads
as a list of fields.
"""

import re
from collections.abc import Callable, Collection, Mapping
from typing import TypeVar

from orchestrator.spec.normalize._errors import NormalizeError

_T = TypeVar("_T", bound=str)
_A = TypeVar("_A")
_R = TypeVar("_R")
_INTEGER = re.compile(r"-?\d+")


def at(where: str | int, parse: Callable[[_A], _R], item: _A) -> _R:
    """`parse(item)`, its errors placed at `where`."""
    try:
        return parse(item)
    except NormalizeError as error:
        raise error.within(where) from None


def mapping(value: object, what: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise NormalizeError(f"{value!r} is not a mapping; expected {what}")
    for key in value:
        if not isinstance(key, str):
            raise NormalizeError(f"{key!r} is not a string key", (str(key),))
    return value


def check_keys(value: Mapping[str, object], allowed: Collection[str], what: str) -> None:
    """Reject keys `what` does not define; `x-` extension keys are allowed."""
    for key in value:
        if key not in allowed and not key.startswith("x-"):
            expected = ", ".join(sorted(allowed))
            raise NormalizeError(f"unknown key {key!r} in {what}; expected {expected}", (key,))


def text(value: Mapping[str, object], key: str) -> str | None:
    item = value.get(key)
    if item is None or isinstance(item, str):
        return item
    raise NormalizeError(f"{item!r} is not a string", (key,))


def required_text(value: Mapping[str, object], key: str, what: str) -> str:
    item = text(value, key)
    if not item:
        raise NormalizeError(f"{what} needs {key!r}", (key,) if key in value else ())
    return item


# Interpolation turns every value into a string, so booleans and integers are
# also read from their spelling, as compose-go casts interpolated values.
_BOOLEANS = {"true": True, "yes": True, "y": True, "on": True}
_BOOLEANS |= {"false": False, "no": False, "n": False, "off": False}


def flag(value: Mapping[str, object], key: str, default: bool = False) -> bool:
    item = value.get(key)
    if item is None:
        return default
    if isinstance(item, str):
        item = _BOOLEANS.get(item.lower(), item)
    if not isinstance(item, bool):
        raise NormalizeError(f"{item!r} is not a boolean (true or false)", (key,))
    return item


def to_int(item: object) -> int | None:
    """`item` as an integer when it is one or spells one, else None."""
    if isinstance(item, int) and not isinstance(item, bool):
        return item
    if isinstance(item, str) and _INTEGER.fullmatch(item):
        return int(item)
    return None


def integer(value: Mapping[str, object], key: str, *, minimum: int = 0) -> int | None:
    item = value.get(key)
    if item is None:
        return None
    number = to_int(item)
    if number is None or number < minimum:
        raise NormalizeError(f"{item!r} is not an integer >= {minimum}", (key,))
    return number


def member(item: object, choices: tuple[_T, ...]) -> _T | None:
    """The choice equal to `item`, typed as the choices are; None if none is."""
    for option in choices:
        if item == option:
            return option
    return None


def choice(value: Mapping[str, object], key: str, choices: tuple[_T, ...], default: _T) -> _T:
    item = value.get(key)
    if item is None:
        return default
    chosen = member(item, choices)
    if chosen is None:
        raise NormalizeError(f"{item!r} is not one of {', '.join(choices)}", (key,))
    return chosen


def optional_choice(value: Mapping[str, object], key: str, choices: tuple[_T, ...]) -> _T | None:
    if value.get(key) is None:
        return None
    return choice(value, key, choices, choices[0])


def strings(value: object, what: str) -> tuple[str, ...]:
    """A list of strings (numbers are written as strings)."""
    if not isinstance(value, list | tuple):
        raise NormalizeError(f"{value!r} is not a list; expected {what}")
    result = []
    for index, item in enumerate(value):
        if isinstance(item, int | float) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str):
            raise NormalizeError(f"{item!r} is not a string", (index,))
        result.append(item)
    return tuple(result)


def octal_mode(item: object, key: str) -> int | None:
    """A file mode: an integer (YAML reads 0440 as octal), or a string of
    octal digits such as "0440"."""
    if item is None:
        return None
    if isinstance(item, str):
        try:
            item = int(item, 8)
        except ValueError:
            raise NormalizeError(f"{item!r} is not a file mode such as 0440", (key,)) from None
    if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= 0o7777:
        raise NormalizeError(f"{item!r} is not a file mode such as 0440", (key,))
    return item
