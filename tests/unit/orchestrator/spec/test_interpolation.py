"""interpolate: Compose's variable interpolation of one string, form by form."""

import re

import pytest

from orchestrator.spec.interpolation import InterpolationError, interpolate

ENV = {"FOO": "first", "EMPTY": "", "REF": "${FOO}"}


def _env(name: str) -> str | None:
    return ENV.get(name)


def _no_lookup(name: str) -> str | None:
    raise AssertionError(f"looked up {name}")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty text"),
        pytest.param("plain text", id="no dollar"),
        pytest.param("{FOO} }{", id="braces without a dollar"),
    ],
)
def test_text_without_dollar_is_returned_without_lookups(text: str) -> None:
    assert interpolate(text, _no_lookup) is text


def _case(text: str, expected: str, rule: str) -> object:
    return pytest.param(text, expected, id=rule)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # $$
        _case("$$", "$", "double dollar is a literal dollar"),
        _case("a$$b", "a$b", "double dollar inside text"),
        _case("$${FOO}", "${FOO}", "double dollar before a brace is not a variable"),
        _case("$$FOO", "$FOO", "double dollar before a name is not a variable"),
        _case("$$$FOO", "$first", "double dollar then a variable"),
        # $NAME and ${NAME}
        _case("$FOO", "first", "named variable"),
        _case("${FOO}", "first", "braced variable"),
        _case("x${FOO}y", "xfirsty", "braced variable inside text"),
        _case("$FOO-bar", "first-bar", "a name stops at a non-name character"),
        _case("$FOO.txt", "first.txt", "a name stops at a dot"),
        _case("$FOO_X", "", "a name takes the longest run of name characters"),
        _case("$_", "", "underscore alone is a name"),
        _case("$foo", "", "names are case-sensitive"),
        _case("$UNSET", "", "unset named variable is empty"),
        _case("${UNSET}", "", "unset braced variable is empty"),
        _case("$EMPTY", "", "empty variable"),
        _case("$REF", "${FOO}", "a value is not interpolated again"),
        _case("$FOO$FOO", "firstfirst", "adjacent variables"),
        _case("} $FOO {", "} first {", "stray braces are literal"),
        # :- and -
        _case("${UNSET:-def}", "def", "colon-dash: unset takes the default"),
        _case("${EMPTY:-def}", "def", "colon-dash: empty takes the default"),
        _case("${FOO:-def}", "first", "colon-dash: set keeps its value"),
        _case("${UNSET-def}", "def", "dash: unset takes the default"),
        _case("${EMPTY-def}", "", "dash: empty keeps its empty value"),
        _case("${FOO-def}", "first", "dash: set keeps its value"),
        _case("${UNSET-}", "", "dash: empty default"),
        _case("${UNSET:-a b  c}", "a b  c", "default keeps its spaces"),
        _case("${UNSET:-/non:-alnum}", "/non:-alnum", "default may hold operators"),
        _case("${UNSET-a?b}", "a?b", "the operator is the one right after the name"),
        # :+ and +
        _case("${FOO:+alt}", "alt", "colon-plus: set takes the alternative"),
        _case("${EMPTY:+alt}", "", "colon-plus: empty is empty"),
        _case("${UNSET:+alt}", "", "colon-plus: unset is empty"),
        _case("${FOO+alt}", "alt", "plus: set takes the alternative"),
        _case("${EMPTY+alt}", "alt", "plus: empty takes the alternative"),
        _case("${UNSET+alt}", "", "plus: unset is empty"),
        # :? and ? when satisfied
        _case("${FOO:?msg}", "first", "colon-question: set keeps its value"),
        _case("${FOO?msg}", "first", "question: set keeps its value"),
        _case("${EMPTY?msg}", "", "question: empty is accepted"),
        # nesting
        _case("${UNSET:-${FOO}}", "first", "braced variable in a default"),
        _case("${UNSET-$FOO}", "first", "named variable in a default"),
        _case("${UNSET:-${UNSET2:-x}}", "x", "default in a default"),
        _case("${UNSET:-${FOO} and ${FOO}}", "first and first", "two variables in a default"),
        _case("${FOO:+[${FOO}]}", "[first]", "variable in an alternative"),
        _case("${UNSET:-$$}", "$", "double dollar in a default"),
        _case("${UNSET:-$${FOO}}", "${FOO}", "escaped braced variable in a default"),
        _case("${UNSET:-{x}}", "{x}", "braces nest inside a default"),
        _case("${UNSET:-x}}", "x}", "a brace after the closing one is literal"),
        _case("${UNSET:-a}${UNSET:-b}", "ab", "two defaults side by side"),
        _case("${UNSET:-a}-$FOO", "a-first", "text and a variable after a default"),
        # words are interpolated only when used
        _case("${FOO:-${UNSET:?never}}", "first", "unused default is not evaluated"),
        _case("${UNSET:+${UNSET2:?never}}", "", "unused alternative is not evaluated"),
        _case("${FOO:?${UNSET:?never}}", "first", "unused message is not evaluated"),
        _case("${FOO:-$1}", "first", "unused default is not even checked"),
    ],
)
def test_interpolates(text: str, expected: str) -> None:
    assert interpolate(text, _env) == expected


_FORMAT = 'invalid interpolation format in "{}": {}'
_DOLLAR = '; write "$$" for a literal "$"'
_OPERATORS = '; expected "}" or one of ":-", "-", ":?", "?", ":+", "+"'


def _error(text: str, message: str, variable: str | None, rule: str) -> object:
    return pytest.param(text, message, variable, id=rule)


def _format(text: str, reason: str, rule: str) -> object:
    quoted = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return _error(text, _FORMAT.format(quoted, reason), None, rule)


@pytest.mark.parametrize(
    ("text", "message", "variable"),
    [
        _error(
            "${DB_PASSWORD:?set it in .env}",
            "required variable DB_PASSWORD is missing a value: set it in .env",
            "DB_PASSWORD",
            "colon-question: unset",
        ),
        _error(
            "${EMPTY:?must not be empty}",
            "required variable EMPTY is missing a value: must not be empty",
            "EMPTY",
            "colon-question: empty",
        ),
        _error(
            "${UNSET?needed}",
            "required variable UNSET is missing a value: needed",
            "UNSET",
            "question: unset",
        ),
        _error(
            "x ${UNSET:?}",
            "required variable UNSET is missing a value",
            "UNSET",
            "colon-question without a message",
        ),
        _error(
            "${UNSET?}",
            "required variable UNSET is missing a value",
            "UNSET",
            "question without a message",
        ),
        _error(
            "${UNSET:?need ${FOO} here}",
            "required variable UNSET is missing a value: need first here",
            "UNSET",
            "message is interpolated",
        ),
        _error(
            "${UNSET?bar-baz}",
            "required variable UNSET is missing a value: bar-baz",
            "UNSET",
            "message may hold operators",
        ),
        _error(
            "${UNSET:-${INNER:?inner}}",
            "required variable INNER is missing a value: inner",
            "INNER",
            "required variable inside a used default",
        ),
        _format("$1", f'"$" followed by "1" is not a variable{_DOLLAR}', "dollar then a digit"),
        _format("costs 5$", f'"$" at the end{_DOLLAR}', "dollar at the end"),
        _format("a $ b", f'"$" followed by " " is not a variable{_DOLLAR}', "dollar then a space"),
        _format("$-x", f'"$" followed by "-" is not a variable{_DOLLAR}', "dollar then a dash"),
        _format("$}", f'"$" followed by "}}" is not a variable{_DOLLAR}', "dollar then a brace"),
        _format("${", '"${" has no closing "}"', "lone dollar-brace"),
        _format("${FOO", '"${" has no closing "}"', "unterminated braced variable"),
        _format("${FOO:-${BAR}", '"${" has no closing "}"', "unterminated around a nested one"),
        _format("${}", '"${" must be followed by a variable name', "empty braces"),
        _format("${ FOO}", '"${" must be followed by a variable name', "space before the name"),
        _format("${1}", '"${" must be followed by a variable name', "digit in braces"),
        _format("${FOO }", f'unexpected " " after "${{FOO"{_OPERATORS}', "space after the name"),
        _format("${FOO!}", f'unexpected "!" after "${{FOO"{_OPERATORS}', "unknown operator"),
        _format("${FOO:x}", f'unexpected ":x" after "${{FOO"{_OPERATORS}', "colon then a letter"),
        _format("${FOO:}", f'unexpected ":" after "${{FOO"{_OPERATORS}', "colon alone"),
        _format("${FOO:=x}", f'unexpected ":=" after "${{FOO"{_OPERATORS}', "shell assign form"),
        _format("${FOO=x}", f'unexpected "=" after "${{FOO"{_OPERATORS}', "equals form"),
        _format("${UNSET:-$1}", f'"$" followed by "1" is not a variable{_DOLLAR}', "in a default"),
        _format('say "$1"\n', f'"$" followed by "1" is not a variable{_DOLLAR}', "quoted text"),
    ],
)
def test_errors(text: str, message: str, variable: str | None) -> None:
    with pytest.raises(InterpolationError, match=f"^{re.escape(message)}$") as caught:
        interpolate(text, _env)
    assert caught.value.variable == variable


def test_error_is_a_value_error() -> None:
    assert issubclass(InterpolationError, ValueError)
