"""The challenges of WWW-Authenticate headers (RFC 9110, section 11).

Imported on a registry's first 401 only: a pull from a registry that asks
for no authentication does not pay for compiling these expressions.
"""

import re
from typing import NamedTuple

# challenge = scheme [ token68 / #( name "=" ( token / quoted-string ) ) ]
# A value without quotes is taken up to the next space or comma, URL characters and all.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_SCHEME = re.compile(rf"[\s,]*({_TOKEN})")
_TOKEN68 = re.compile(r"[ \t]+[0-9A-Za-z._~+/-]+=*[ \t]*(?=,|$)")
_AUTH_PARAM = re.compile(
    rf'[\s,]*({_TOKEN})[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))[ \t]*(?=,|$)'
)
_QUOTED_PAIR = re.compile(r"\\(.)")


class Challenge(NamedTuple):
    scheme: str  # lower case
    params: dict[str, str]  # names in lower case


def parse_challenges(values: list[str]) -> list[Challenge]:
    """The challenges of WWW-Authenticate header values, each of which may hold several.

    Schemes and parameter names are case-insensitive; values are quoted strings
    (with backslash escapes, commas allowed) or bare. Unparsable text ends the
    challenges of its value.
    """
    challenges = []
    for value in values:
        position = 0
        while scheme := _SCHEME.match(value, position):
            position = scheme.end()
            params: dict[str, str] = {}
            if token68 := _TOKEN68.match(value, position):
                position = token68.end()  # e.g. Negotiate's: no parameters follow
            while param := _AUTH_PARAM.match(value, position):
                quoted = param[2]
                params[param[1].lower()] = (
                    param[3] if quoted is None else _QUOTED_PAIR.sub(r"\1", quoted)
                )
                position = param.end()
            challenges.append(Challenge(scheme[1].lower(), params))
    return challenges


def preferred(challenges: list[Challenge]) -> Challenge | None:
    """Bearer (with a realm) over Basic, as Docker chooses; None if neither is offered."""
    for scheme in ("bearer", "basic"):
        for challenge in challenges:
            if challenge.scheme == scheme and (scheme == "basic" or "realm" in challenge.params):
                return challenge
    return None
