"""The `.env` file syntax, as Docker Compose v2 reads it (compose-go's `dotenv`, v2.13).

- Blank lines and lines whose first non-blank character is `#` are skipped;
  a UTF-8 BOM at the start is ignored; CRLF line endings work.
- A statement is `KEY=value` or `KEY: value`, optionally after `export `.
  A key is letters, digits, `_`, `.`, `-`, `[` and `]`; blanks around it and
  after the `=` are ignored.
- An unquoted value is the rest of the line, cut at the first " #" (an inline
  comment), trailing blanks removed, then interpolated.
- A 'single-quoted' value is literal: no escapes but `\\'`, no interpolation.
- A "double-quoted" value has its escapes replaced (`\\n`, `\\t`, `\\"`,
  `\\\\`, `\\$` for a literal `$`, ...), then is interpolated.
- Quoted values may span lines.
- A key alone on its line takes its value from `lookup`, and is left out
  when `lookup` has none; on the last line, without a newline, too (where
  compose-go would store the key's name as the value of a key "").

Interpolation (`orchestrator.spec.interpolation`) looks a name up in `lookup`
first, then among the keys defined earlier in the file: like compose-go, a
shell variable wins over the file's own definition. The returned mapping
holds the file's values; giving the shell precedence over them is the
caller's business, as it is in Compose.

Where this is stricter than compose-go: text after a closing quote other
than a comment is an error (compose-go reads it as the next statement), and
so is a statement with no key (compose-go stores it under the key "").

An env file often holds secrets, so an error names the line and column at
fault and what was expected, never any of the file's text (compose-go quotes
the line).
"""

import re

from orchestrator.spec.interpolation import InterpolationError, Lookup, interpolate

_BLANK = "\\t\\v\\f\\r \\x85\\xa0"  # as a regex class body: blanks, not newlines
_SKIP = re.compile(r"(?:\s|#[^\n]*)*")
_EXPORT = re.compile(rf"export[{_BLANK}]+(?=\S)")
_KEY_TEXT = re.compile(r"[^=:\n]*")
_BAD_KEY_CHAR = re.compile(rf"[^\w.\-\[\]{_BLANK}]")
_BLANKS = re.compile(rf"[{_BLANK}]*")
_AFTER_QUOTE = re.compile(rf"[{_BLANK}]*(?:#[^\n]*)?(?:\n|\Z)")
_QUOTED = {quote: re.compile(rf"((?:[^{quote}\\]|\\.)*){quote}", re.DOTALL) for quote in "\"'"}
_ESCAPE = re.compile(r"\\(?:[abfnrtv$\"\\]|0[0-9]{0,3})")
_ESCAPED = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
    '"': '"', "\\": "\\", "$": "$$",
}  # fmt: skip


class DotenvError(ValueError):
    """A `.env` text could not be parsed, or a value in it not interpolated."""

    line: int
    """1-based line of the character at fault (of the value, for interpolation)."""
    column: int
    """1-based column of that character."""
    message: str
    """What is wrong and what was expected, quoting none of the text."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.line = line
        self.column = column
        self.message = message


def parse_dotenv(text: str, lookup: Lookup) -> dict[str, str]:
    """Parse the text of a `.env` file; `lookup` gives the variables from outside it."""
    return _Parser(text.removeprefix("\ufeff"), lookup).parse()


class _Parser:
    def __init__(self, text: str, lookup: Lookup) -> None:
        self.text = text
        self.lookup = lookup
        self.values: dict[str, str] = {}
        self.pos = 0
        self.line = 1
        self._counted_to = 0

    def parse(self) -> dict[str, str]:
        while self._skip_to_statement():
            self._statement()
        return self.values

    def _skip_to_statement(self) -> bool:
        """Move past blanks and comments; False at the end of the text."""
        self.pos = _match_end(_SKIP, self.text, self.pos)
        self.line += self.text.count("\n", self._counted_to, self.pos)
        self._counted_to = self.pos
        return self.pos < len(self.text)

    def _statement(self) -> None:
        text = self.text
        export = _EXPORT.match(text, self.pos)
        start = export.end() if export else self.pos
        end = _match_end(_KEY_TEXT, text, start)
        key = self._key(text[start:end], start)
        if end == len(text) or text[end] == "\n":
            self._inherit(key)
            self.pos = end + 1
            return
        if not key:
            raise self._error(end, f'missing variable name before "{text[end]}"')
        self.pos = _match_end(_BLANKS, text, end + 1)
        self.values[key] = self._value()

    def _key(self, raw: str, start: int) -> str:
        bad = _BAD_KEY_CHAR.search(raw)
        if bad:
            raise self._error(
                start + bad.start(),
                'unexpected character in a variable name; expected letters, digits, "_", ".", '
                '"-", "[", "]", then "=" or ":"',
            )
        key = raw.rstrip()
        blank = next((i for i, char in enumerate(key) if char.isspace()), None)
        if blank is not None:
            raise self._error(start + blank, "a variable name cannot contain a space")
        return key

    def _error(self, pos: int, message: str) -> DotenvError:
        """The error at `pos` of the text."""
        line_start = self.text.rfind("\n", 0, pos) + 1
        return DotenvError(self.text.count("\n", 0, pos) + 1, pos - line_start + 1, message)

    def _inherit(self, key: str) -> None:
        """A key alone on its line: Compose takes it from outside, or leaves it out."""
        value = self.lookup(key)
        if value is not None:
            self.values[key] = value

    def _value(self) -> str:
        quote = self.text[self.pos : self.pos + 1]
        if quote in ('"', "'"):
            return self._quoted(quote)
        start = self.pos
        end = self.text.find("\n", start)
        end = len(self.text) if end == -1 else end
        raw = self.text[start:end].split(" #", 1)[0].rstrip()
        self.pos = end + 1
        return self._interpolate(raw, start)

    def _quoted(self, quote: str) -> str:
        text = self.text
        start = self.pos
        body = _QUOTED[quote].match(text, start + 1)
        if body is None:
            raise self._error(start, f"unterminated quoted value; expected a closing {quote}")
        after = _AFTER_QUOTE.match(text, body.end())
        if after is None:
            raise self._error(
                _match_end(_BLANKS, text, body.end()),
                "unexpected text after the closing quote; expected a comment or the end of"
                " the line",
            )
        self.pos = after.end()
        # Inside quotes a backslash only escapes the quote itself; in a run of
        # backslashes before a quote, replacing the last pair is that rule.
        value = body.group(1).replace("\\" + quote, quote)
        if quote == "'":
            return value
        return self._interpolate(_ESCAPE.sub(_unescape, value), start)

    def _interpolate(self, raw: str, start: int) -> str:
        """`raw`, the value written at `start`, interpolated."""
        try:
            return interpolate(raw, self._resolve)
        except InterpolationError as exc:
            raise self._error(start, exc.reason) from exc

    def _resolve(self, name: str) -> str | None:
        value = self.lookup(name)
        return self.values.get(name) if value is None else value


def _match_end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where `pattern`, which also matches the empty string, stops matching at `pos`."""
    match = pattern.match(text, pos)
    assert match is not None
    return match.end()


def _unescape(match: re.Match[str]) -> str:
    """One escape of a double-quoted value; `\\$` becomes `$$` for interpolation."""
    sequence = match.group()[1:]
    if not sequence.startswith("0"):
        return _ESCAPED[sequence]
    digits = sequence[1:]
    if len(digits) == 3 and all(digit in "01234567" for digit in digits) and digits <= "377":
        return chr(int(digits, 8))
    # compose-go drops the 0 of an octal escape it cannot read: `\0` + "12".
    return "\\" + digits
