"""parse_dotenv: the .env syntax as Compose reads it, rule by rule."""

import re

import pytest

from orchestrator.spec.dotenv import DotenvError, parse_dotenv
from orchestrator.spec.interpolation import InterpolationError

SHELL = {"HOME": "/home/me", "A": "shell", "EMPTY": ""}


def _shell(name: str) -> str | None:
    return SHELL.get(name)


def _case(text: str, expected: dict[str, str], rule: str) -> object:
    return pytest.param(text, expected, id=rule)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # statements
        _case("X=1", {"X": "1"}, "key and value"),
        _case("X=1\nY=2\n", {"X": "1", "Y": "2"}, "one statement a line"),
        _case("X = 1", {"X": "1"}, "blanks around the equals sign"),
        _case("  \tX=1", {"X": "1"}, "leading blanks"),
        _case("X: 1", {"X": "1"}, "yaml style colon"),
        _case("X: b=c", {"X": "b=c"}, "yaml style value with an equals sign"),
        _case("X=b:c", {"X": "b:c"}, "value with a colon"),
        _case("X=a=b", {"X": "a=b"}, "value with an equals sign"),
        _case("X=1\nX=2", {"X": "2"}, "a later definition wins"),
        # export
        _case("export X=1", {"X": "1"}, "export prefix"),
        _case("export\tX=1", {"X": "1"}, "export prefix with a tab"),
        _case("  export X=1", {"X": "1"}, "indented export prefix"),
        _case("exportX=1", {"exportX": "1"}, "export glued to the key is the key"),
        _case("export_X=1", {"export_X": "1"}, "export underscore is the key"),
        _case("export=1", {"export": "1"}, "export alone is a key"),
        # key characters
        _case("a.b=1", {"a.b": "1"}, "dot in a key"),
        _case("a-b=1", {"a-b": "1"}, "dash in a key"),
        _case("a[0]=1", {"a[0]": "1"}, "brackets in a key"),
        _case("1X=1", {"1X": "1"}, "key starting with a digit"),
        _case("ÄRVÍZ=1", {"ÄRVÍZ": "1"}, "non-ascii letters in a key"),
        # blank lines and comments
        _case("\n\n  \n", {}, "blank lines"),
        _case("# X=1\n\t# indented\nY=2", {"Y": "2"}, "comment lines"),
        _case("X=1\n#", {"X": "1"}, "comment on the last line"),
        # empty values
        _case("X=", {"X": ""}, "nothing after the equals sign"),
        _case("X=   ", {"X": ""}, "only blanks after the equals sign"),
        _case('X=""', {"X": ""}, "empty double quotes"),
        _case("X=''", {"X": ""}, "empty single quotes"),
        # unquoted values
        _case("X=a b  c", {"X": "a b  c"}, "unquoted inner spaces kept"),
        _case("X=  a  ", {"X": "a"}, "unquoted value trimmed"),
        _case("X=a # note", {"X": "a"}, "inline comment after a space"),
        _case("X=a#b", {"X": "a#b"}, "hash without a space is kept"),
        _case("X=a\t# note", {"X": "a\t# note"}, "only a space starts an inline comment"),
        _case("X= # note", {"X": "# note"}, "blanks after the equals sign are skipped first"),
        _case("X=a\\nb", {"X": "a\\nb"}, "no escapes in unquoted values"),
        _case("X=$HOME/x", {"X": "/home/me/x"}, "unquoted value interpolated"),
        _case("X=${NOPE:-d}", {"X": "d"}, "unquoted default"),
        _case("X=$$HOME", {"X": "$HOME"}, "unquoted double dollar"),
        # single quotes
        _case("X='a b '", {"X": "a b "}, "single quotes keep blanks"),
        _case("X='$HOME'", {"X": "$HOME"}, "single quotes are not interpolated"),
        _case("X='a\\nb'", {"X": "a\\nb"}, "single quotes have no escapes"),
        _case("X='it\\'s'", {"X": "it's"}, "backslash escapes a single quote"),
        _case("X='a#b' # note", {"X": "a#b"}, "comment after single quotes"),
        _case("X='1\n2'", {"X": "1\n2"}, "single-quoted value over lines"),
        # double quotes
        _case('X="a b "', {"X": "a b "}, "double quotes keep blanks"),
        _case('X="a#b" # note', {"X": "a#b"}, "comment after double quotes"),
        _case('X="$HOME/x"', {"X": "/home/me/x"}, "double quotes are interpolated"),
        _case('X="a\\nb"', {"X": "a\nb"}, "escaped newline"),
        _case('X="a\\tb\\rc"', {"X": "a\tb\rc"}, "escaped tab and carriage return"),
        _case('X="\\a\\b\\f\\v"', {"X": "\a\b\f\v"}, "escaped control characters"),
        _case('X="say \\"hi\\""', {"X": 'say "hi"'}, "escaped double quote"),
        _case('X="a\\\\b"', {"X": "a\\b"}, "escaped backslash"),
        _case('X="a\\\\"', {"X": "a\\"}, "escaped backslash before the closing quote"),
        _case('X="\\$HOME"', {"X": "$HOME"}, "escaped dollar is not interpolated"),
        _case('X="\\${HOME}"', {"X": "${HOME}"}, "escaped dollar before a brace"),
        _case('X="\\\\$HOME"', {"X": "\\/home/me"}, "escaped backslash then a variable"),
        _case('X="\\0101"', {"X": "A"}, "octal escape"),
        _case('X="\\0"', {"X": "\\"}, "short octal escape loses its zero"),
        _case('X="\\x41\\q"', {"X": "\\x41\\q"}, "unknown escapes are kept"),
        _case('X="it\'s"', {"X": "it's"}, "single quote inside double quotes"),
        _case('X="1\n2"\nY=3', {"X": "1\n2", "Y": "3"}, "double-quoted value over lines"),
        # a key alone
        _case("HOME", {"HOME": "/home/me"}, "a key alone takes the shell value"),
        _case("HOME  \nX=1", {"HOME": "/home/me", "X": "1"}, "a key alone with blanks"),
        _case("export HOME", {"HOME": "/home/me"}, "exported key alone"),
        _case("EMPTY", {"EMPTY": ""}, "a key alone set empty in the shell"),
        _case("NOPE\nX=1", {"X": "1"}, "a key alone unset in the shell is left out"),
        # which value interpolation sees
        _case("B=1\nC=$B", {"B": "1", "C": "1"}, "an earlier key of the file"),
        _case("C=$B\nB=1", {"C": "", "B": "1"}, "a later key is not seen"),
        _case("A=file\nC=$A", {"A": "file", "C": "shell"}, "the shell wins over the file"),
        _case("HOME=/x", {"HOME": "/x"}, "the file's value is returned as written"),
        _case("B=\nC=${B-unset}", {"B": "", "C": ""}, "an empty file key is set"),
        _case("B='$A'\nC=$B", {"B": "$A", "C": "$A"}, "values are not interpolated twice"),
        # file encoding
        _case("\ufeffX=1", {"X": "1"}, "utf-8 byte order mark"),
        _case("X=1\r\nY='2'\r\nHOME\r\n", {"X": "1", "Y": "2", "HOME": "/home/me"}, "crlf"),
    ],
)
def test_parses(text: str, expected: dict[str, str]) -> None:
    assert parse_dotenv(text, _shell) == expected


def _error(text: str, line: int, column: int, message: str, rule: str) -> object:
    return pytest.param(text, line, column, message, id=rule)


_KEY_CHARACTER = (
    'unexpected character in a variable name; expected letters, digits, "_", ".", "-", "[", "]",'
    ' then "=" or ":"'
)
_AFTER_QUOTE = "unexpected text after the closing quote; expected a comment or the end of the line"


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        _error("MY KEY=1", 1, 3, "a variable name cannot contain a space", "space in a key"),
        _error(
            "X=1\n\nMY KEY", 3, 3, "a variable name cannot contain a space", "space in a bare key"
        ),
        _error("X%Y=1", 1, 2, _KEY_CHARACTER, "invalid character in a key"),
        _error("X=1\n'Y'=2", 2, 1, _KEY_CHARACTER, "quoted key"),
        _error("X # note", 1, 3, _KEY_CHARACTER, "comment after a bare key"),
        _error("=1", 1, 1, 'missing variable name before "="', "no key before equals"),
        _error(": 1", 1, 1, 'missing variable name before ":"', "no key before colon"),
        _error(
            'X=1\nY="abc\nZ=2',
            2,
            3,
            'unterminated quoted value; expected a closing "',
            "unterminated double quote",
        ),
        _error(
            "Y='abc",
            1,
            3,
            "unterminated quoted value; expected a closing '",
            "unterminated single quote",
        ),
        _error(
            'Y="abc\\"',
            1,
            3,
            'unterminated quoted value; expected a closing "',
            "escaped closing quote",
        ),
        _error('X="a"  b', 1, 8, _AFTER_QUOTE, "text after a closing quote"),
        _error('X="a\nb" c', 2, 4, _AFTER_QUOTE, "text after a quote closed on a later line"),
        _error(
            'X="1\n2\n3"\nMY KEY=1',
            4,
            3,
            "a variable name cannot contain a space",
            "lines of a quoted value are counted",
        ),
        _error("X=1\r\nMY KEY=1", 2, 3, "a variable name cannot contain a space", "crlf lines"),
        _error(
            "X=1\n\nDB=${DB_PASSWORD:?set it in .env}",
            3,
            4,
            "required variable DB_PASSWORD is missing a value: set it in .env",
            "required variable in an unquoted value",
        ),
        _error(
            'X="a\nb $1"',
            1,
            3,
            'invalid interpolation format: "$" not followed by a variable name; '
            'write "$$" for a literal "$"',
            "invalid interpolation in a quoted value is at its opening quote",
        ),
        _error(
            "X= ${A?x}${B:x}",
            1,
            4,
            'invalid interpolation format: unexpected text after the variable name; expected "}"'
            ' or one of ":-", "-", ":?", "?", ":+", "+"',
            "invalid interpolation in an unquoted value is at its start",
        ),
        _error(
            "X=" + "${U:-" * 101 + "}" * 101,
            1,
            3,
            'invalid interpolation format: "${" nested more than 100 levels deep',
            "interpolation nested too deeply",
        ),
    ],
)
def test_errors(text: str, line: int, column: int, message: str) -> None:
    where = f"line {line}, column {column}"
    with pytest.raises(DotenvError, match=f"^{where}: {re.escape(message)}$") as caught:
        parse_dotenv(text, _shell)
    assert (caught.value.line, caught.value.column, caught.value.message) == (
        line,
        column,
        message,
    )


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("s3cr3t%pw", id="a bare secret with a character no key may hold"),
        pytest.param("my s3cr3t pw", id="a bare secret with spaces"),
        pytest.param('PW="s3cr3t', id="an unterminated quote"),
        pytest.param('PW="a" s3cr3t', id="text after the closing quote"),
        pytest.param("PW=s3cr3t$3", id="a dollar in an unquoted secret"),
        pytest.param('PW="s3cr3t${Q3:3}"', id="bad interpolation in a quoted secret"),
        pytest.param("PW=s3cr3t${", id="an unclosed brace"),
    ],
)
def test_no_error_shows_the_text_of_the_file(text: str) -> None:
    with pytest.raises(DotenvError) as caught:
        parse_dotenv(text, _shell)
    assert "s3cr3t" not in str(caught.value)
    assert "3" not in caught.value.message


def test_failed_interpolation_keeps_the_variable_as_cause() -> None:
    with pytest.raises(DotenvError) as caught:
        parse_dotenv("X=1\nY=${NEEDED?}", _shell)
    cause = caught.value.__cause__
    assert isinstance(cause, InterpolationError)
    assert cause.variable == "NEEDED"
