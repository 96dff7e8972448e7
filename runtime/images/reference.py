"""Image references: `name[:tag][@digest]`, following Docker's grammar.

Only the tag is normalized for now (a missing one becomes `latest`); names are
kept as written, without Docker Hub's `docker.io/library/` prefix.
"""

import re

from runtime.errors import ImageError

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"

_REFERENCE = re.compile(
    rf"(?P<name>{_NAME})(?::(?P<tag>[\w][\w.-]{{0,127}}))?(?:@(?P<digest>sha256:[0-9a-f]{{64}}))?",
    re.ASCII,
)
_NAME_MAX = 255


def normalize_reference(reference: str) -> str:
    """Return `reference` with a `:latest` tag when it has neither tag nor digest.

    Raises ImageError naming the reference when it is empty or malformed.
    """
    match = _REFERENCE.fullmatch(reference)
    if match is None:
        raise ImageError(f"invalid image reference {reference!r}: {_why_invalid(reference)}")
    if len(match["name"]) > _NAME_MAX:
        raise ImageError(
            f"invalid image reference {reference!r}: name longer than {_NAME_MAX} characters"
        )
    if match["tag"] is None and match["digest"] is None:
        return f"{reference}:latest"
    return reference


def _why_invalid(reference: str) -> str:
    if not reference:
        return "it is empty"
    if any(c.isspace() for c in reference):
        return "it contains whitespace"
    components = reference.split("@", 1)[0].split("/")
    components[-1] = components[-1].split(":", 1)[0]
    # In a name of several components the first may be a registry host, where
    # uppercase is allowed; the grammar would have accepted it there.
    repository = components[1:] if len(components) > 1 else components
    if any(c != c.lower() for c in repository):
        return "repository names must be lowercase"
    return "expected name[:tag][@sha256:<64 hex digits>]"
