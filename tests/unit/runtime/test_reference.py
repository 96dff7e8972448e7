import re

import pytest

from runtime.errors import ImageError
from runtime.images import Reference, normalize_reference, parse_reference

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("reference", "normalized"),
    [
        ("busybox", "busybox:latest"),
        ("busybox:1.36", "busybox:1.36"),
        ("busybox:Latest_1.x-rc", "busybox:Latest_1.x-rc"),
        ("library/busybox", "busybox:latest"),
        ("docker.io/library/busybox:1", "busybox:1"),
        ("index.docker.io/org/app", "org/app:latest"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/app", "localhost:5000/app:latest"),
        ("localhost:5000/app:v2", "localhost:5000/app:v2"),
        ("registry.example.com/team/app", "registry.example.com/team/app:latest"),
        ("Registry.Example.com:443/a/b", "Registry.Example.com:443/a/b:latest"),
        ("my_app/my-service.v2", "my_app/my-service.v2:latest"),
        ("a__b/c---d", "a__b/c---d:latest"),
        (f"x@{DIGEST}", f"x@{DIGEST}"),
        (f"x:1@{DIGEST}", f"x:1@{DIGEST}"),
        (f"localhost:5000/x@{DIGEST}", f"localhost:5000/x@{DIGEST}"),
    ],
)
def test_normalize(reference: str, normalized: str) -> None:
    assert normalize_reference(reference) == normalized


def test_normalize_is_idempotent() -> None:
    assert normalize_reference(normalize_reference("localhost:5000/app")) == (
        "localhost:5000/app:latest"
    )


@pytest.mark.parametrize(
    ("reference", "reason"),
    [
        ("", "it is empty"),
        ("busy box", "it contains whitespace"),
        (" busybox", "it contains whitespace"),
        ("busybox\n", "it contains whitespace"),
        ("BusyBox", "repository names must be lowercase"),
        ("localhost:5000/App", "repository names must be lowercase"),
        ("a/B/c:tag", "repository names must be lowercase"),
        ("busybox:", "expected name[:tag][@sha256:<64 hex digits>]"),
        ("busybox:-x", "expected name[:tag][@sha256:<64 hex digits>]"),
        ("busybox:" + "t" * 129, "expected name[:tag][@sha256:<64 hex digits>]"),
        ("/busybox", "expected name[:tag][@sha256:<64 hex digits>]"),
        ("busybox/", "expected name[:tag][@sha256:<64 hex digits>]"),
        ("a//b", "expected name[:tag][@sha256:<64 hex digits>]"),
        ("-app", "expected name[:tag][@sha256:<64 hex digits>]"),
        ("app.", "expected name[:tag][@sha256:<64 hex digits>]"),
        ("x@sha256:abc", "expected name[:tag][@sha256:<64 hex digits>]"),
        ("x@" + DIGEST.upper(), "expected name[:tag][@sha256:<64 hex digits>]"),
        ("x@md5:" + "0" * 32, "expected name[:tag][@sha256:<64 hex digits>]"),
        ("caf\u00e9", "expected name[:tag][@sha256:<64 hex digits>]"),
    ],
)
def test_invalid_reference(reference: str, reason: str) -> None:
    message = f"invalid image reference {reference!r}: {reason}"
    with pytest.raises(ImageError, match=f"^{re.escape(message)}$"):
        normalize_reference(reference)


def test_name_too_long() -> None:
    reference = "a" * 256
    message = f"invalid image reference {reference!r}: name longer than 255 characters"
    with pytest.raises(ImageError, match=f"^{re.escape(message)}$"):
        normalize_reference(reference)


@pytest.mark.parametrize(
    ("reference", "parsed"),
    [
        ("redis", Reference("docker.io", "library/redis", "latest", None)),
        ("org/app:1", Reference("docker.io", "org/app", "1", None)),
        ("localhost/app", Reference("localhost", "app", "latest", None)),
        ("Host/app", Reference("Host", "app", "latest", None)),
        (f"ghcr.io/o/a@{DIGEST}", Reference("ghcr.io", "o/a", None, DIGEST)),
    ],
)
def test_parse_reference_follows_docker(reference: str, parsed: Reference) -> None:
    assert parse_reference(reference) == parsed
    assert parse_reference(reference).api_host == (
        "registry-1.docker.io" if parsed.registry == "docker.io" else parsed.registry
    )
