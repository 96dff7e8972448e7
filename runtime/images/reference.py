"""Image references: `[registry/]path[:tag][@digest]`, following Docker's grammar.

The first component of a name is a registry host when it holds a `.` or a
`:`, is `localhost`, or has an uppercase letter; otherwise the registry is
Docker Hub (`docker.io`), where a one-component name gets the `library/`
prefix. A reference with neither tag nor digest gets the tag `latest`.

The store keys images by Docker's "familiar" form: `busybox:latest` for
`docker.io/library/busybox:latest`, `org/app:1` for `docker.io/org/app:1`,
and any other registry's names as they are.
"""

import re
from typing import NamedTuple

from runtime.errors import ImageError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"

_REFERENCE = re.compile(
    rf"(?P<name>{_NAME})(?::(?P<tag>[\w][\w.-]{{0,127}}))?(?:@(?P<digest>sha256:[0-9a-f]{{64}}))?",
    re.ASCII,
)
_NAME_MAX = 255


class Reference(NamedTuple):  # half a dataclass's cost to define, on every pull's path
    """A parsed reference: `registry` as written (Docker Hub as `docker.io`),
    `repository` with Docker Hub's `library/` prefix, and a tag or digest or both."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def api_host(self) -> str:
        """The host[:port] serving the registry API."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def familiar_name(self) -> str:
        if self.registry != DOCKER_HUB:
            return f"{self.registry}/{self.repository}"
        library, _, rest = self.repository.partition("/")
        return rest if library == "library" and "/" not in rest else self.repository

    @property
    def manifest_reference(self) -> str:
        """What to ask the registry for: the digest when there is one, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        tag = f":{self.tag}" if self.tag else ""
        digest = f"@{self.digest}" if self.digest else ""
        return f"{self.familiar_name}{tag}{digest}"


def parse_reference(reference: str) -> Reference:
    """Parse `reference`, adding the tag `latest` when it has neither tag nor digest.

    Raises ImageError naming the reference when it is empty or malformed.
    """
    match = _REFERENCE.fullmatch(reference)
    if match is None:
        raise ImageError(f"invalid image reference {reference!r}: {_why_invalid(reference)}")
    name: str = match["name"]
    if len(name) > _NAME_MAX:
        raise ImageError(
            f"invalid image reference {reference!r}: name longer than {_NAME_MAX} characters"
        )
    registry, repository = _split_registry(name)
    tag = match["tag"]
    if tag is None and match["digest"] is None:
        tag = "latest"
    return Reference(registry, repository, tag, match["digest"])


def normalize_reference(reference: str) -> str:
    """The familiar form of `reference`, with `:latest` when it has neither tag nor digest."""
    return str(parse_reference(reference))


def _split_registry(name: str) -> tuple[str, str]:
    first, slash, rest = name.partition("/")
    is_host = slash and (
        "." in first or ":" in first or first == "localhost" or first != first.lower()
    )
    if not is_host:
        first, rest = DOCKER_HUB, name
    if first in _DOCKER_HUB_ALIASES:
        first = DOCKER_HUB
        if "/" not in rest:
            rest = f"library/{rest}"
    return first, rest


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
