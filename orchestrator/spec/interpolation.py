"""Variable interpolation of one string, as Docker Compose v2 does it.

The grammar is compose-go's `template` package (v2.13):

- `$$` is a literal `$`.
- `$NAME` and `${NAME}`: the value, or "" when unset (which `interpolate`
  tells its `unset` callback, for Compose's warning). A name is an ASCII
  letter or `_`, then letters, digits and `_`; `$NAME` takes the longest
  such run (`$FOO-bar` is FOO's value then "-bar").
- `${NAME:-word}` / `${NAME-word}`: `word` when NAME is unset or empty /
  only when unset.
- `${NAME:+word}` / `${NAME+word}`: `word` when NAME is set and not empty /
  set at all, else "".
- `${NAME:?message}` / `${NAME?message}`: an error naming NAME when it is
  unset or empty / unset.

`word` and `message` are interpolated in turn, and only when used, as
Compose does: `${A:-${B:?}}` fails only when A is unset or empty. A `$`
that starts none of these (`$1`, `$-`, a `$` at the end, `${}`, `${A:x}`)
is an error, as in Compose, where the fix is to write `$$`.

Where this differs from compose-go on purpose: a `${` without its closing
`}` is always an error, even when compose-go would have silently used the
variable's value and never looked at the malformed default; and `${` may
nest MAX_NESTING deep, so that a value nested hundreds deep is one error,
not Python's recursion limit.
"""

import re
from collections.abc import Callable

Lookup = Callable[[str], str | None]
Unset = Callable[[str], None]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATOR = re.compile(r":?[-+?]")
_BRACE = re.compile(r"[{}]")
_DOLLAR_HINT = 'write "$$" for a literal "$"'

MAX_NESTING = 100
"""How deeply `${...}` may nest in a default, alternative or message."""


class InterpolationError(ValueError):
    """A string could not be interpolated.

    Raised for a required variable that is unset (or empty, for `:?`), and
    for text that is not valid interpolation syntax.
    """

    variable: str | None
    """The variable's name when one is known (a required one that is unset), else None."""
    reason: str
    """The message without quoting any of the text, for a text that must not
    be shown (an env file of secrets); a required variable's own message,
    written to be shown, is kept."""

    def __init__(self, message: str, variable: str | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.variable = variable
        self.reason = reason or message


class _FormatError(Exception):
    """Raised deep inside the scan; `interpolate` adds the whole text to it.
    `plain` says the same without quoting any of the text."""

    def __init__(self, reason: str, plain: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.plain = plain or reason


class _TooDeep(Exception):
    """`${` nested more than MAX_NESTING deep; the text is too long to show."""


def _ignore(name: str) -> None:
    pass


def interpolate(text: str, lookup: Lookup, unset: Unset = _ignore) -> str:
    """Return `text` with its variables replaced, using `lookup` (None = unset);
    `unset` is called with each variable used plainly but not set."""
    if "$" not in text:
        return text
    try:
        return _expand(text, lookup, unset, 0)
    except _TooDeep:
        message = f'invalid interpolation format: "${{" nested more than {MAX_NESTING} levels deep'
        raise InterpolationError(message) from None
    except _FormatError as exc:
        raise InterpolationError(
            f"invalid interpolation format in {_quoted(text)}: {exc.reason}",
            reason=f"invalid interpolation format: {exc.plain}",
        ) from None


def _quoted(text: str) -> str:
    """`text` in double quotes, escaped so the message stays on one line."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


def _expand(text: str, lookup: Lookup, unset: Unset, depth: int) -> str:
    """`text` interpolated, inside `depth` enclosing `${...}`."""
    if "$" not in text:
        return text
    parts: list[str] = []
    pos = 0
    while (dollar := text.find("$", pos)) != -1:
        parts.append(text[pos:dollar])
        value, pos = _substitution(text, dollar + 1, lookup, unset, depth)
        parts.append(value)
    parts.append(text[pos:])
    return "".join(parts)


def _substitution(
    text: str, start: int, lookup: Lookup, unset: Unset, depth: int
) -> tuple[str, int]:
    """Resolve what follows the `$` at `start - 1`; return it and where it ends."""
    if start == len(text):
        raise _FormatError(f'"$" at the end; {_DOLLAR_HINT}')
    char = text[start]
    if char == "$":
        return "$", start + 1
    if char == "{":
        return _braced(text, start + 1, lookup, unset, depth)
    name = _NAME.match(text, start)
    if name is None:
        raise _FormatError(
            f'"$" followed by "{char}" is not a variable; {_DOLLAR_HINT}',
            f'"$" not followed by a variable name; {_DOLLAR_HINT}',
        )
    return _plain(name.group(), lookup, unset), name.end()


def _braced(text: str, start: int, lookup: Lookup, unset: Unset, depth: int) -> tuple[str, int]:
    """Resolve `${...}` whose body starts at `start`, inside `depth` others."""
    if depth == MAX_NESTING:
        raise _TooDeep
    close = _closing_brace(text, start)
    if close == -1:
        raise _FormatError('"${" has no closing "}"')
    name = _NAME.match(text, start, close)
    if name is None:
        raise _FormatError('"${" must be followed by a variable name')
    if name.end() == close:
        return _plain(name.group(), lookup, unset), close + 1
    operator = _OPERATOR.match(text, name.end(), close)
    if operator is None:
        rest = text[name.end() : close]
        found = rest[:2] if rest.startswith(":") else rest[:1]
        expected = 'expected "}" or one of ":-", "-", ":?", "?", ":+", "+"'
        raise _FormatError(
            f'unexpected "{found}" after "${{{name.group()}"; {expected}',
            f"unexpected text after the variable name; {expected}",
        )
    word = text[operator.end() : close]
    return _apply(operator.group(), name.group(), word, lookup, unset, depth + 1), close + 1


def _closing_brace(text: str, start: int) -> int:
    """Index of the `}` that closes a `{` just before `start`, or -1.

    Braces nest, so a default may hold `${...}` or plain `{...}` text.
    """
    depth = 1
    for brace in _BRACE.finditer(text, start):
        depth += 1 if brace.group() == "{" else -1
        if depth == 0:
            return brace.start()
    return -1


def _plain(name: str, lookup: Lookup, unset: Unset) -> str:
    value = lookup(name)
    if value is None:
        unset(name)
    return value or ""


def _apply(operator: str, name: str, word: str, lookup: Lookup, unset: Unset, depth: int) -> str:
    """Apply one `${NAME<operator>word}` form; `word`, inside `depth` enclosing
    `${...}`, is interpolated only if used."""
    value = lookup(name)
    missing = not value if operator.startswith(":") else value is None
    if operator[-1] == "-":
        return _expand(word, lookup, unset, depth) if missing else value or ""
    if operator[-1] == "+":
        return "" if missing else _expand(word, lookup, unset, depth)
    if missing:
        raise _required(name, _expand(word, lookup, unset, depth))
    return value or ""


def _required(name: str, message: str) -> InterpolationError:
    text = f"required variable {name} is missing a value"
    return InterpolationError(f"{text}: {message}" if message else text, variable=name)
