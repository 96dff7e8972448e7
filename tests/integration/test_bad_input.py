"""Bad input: one clear message naming file, line and key; exit 1; no
traceback; nothing started."""

import pytest

from tests.integration.stack_helpers import Corral

pytestmark = pytest.mark.root


def _rejected(corral: Corral, *args: str) -> str:
    result = corral(*args)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert corral.leftovers() == []
    assert not (corral.run_root / corral.project).exists()
    return result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "services:\n  web:\n    image: busybox\n    command: [unclosed\n",
            "{file}:5:1: invalid YAML: did not find expected ',' or ']'",
        ),
        (
            "services:\n  web:\n    image: busybox\n    imagee: busybox\n",
            "{file}:4:5: services.web.imagee: unknown key",
        ),
        (
            "services:\n  web:\n    image: busybox\n    ports: ['80:80']\n",
            "{file}:4:5: services.web.ports: Corral does not run this key yet; it is ignored",
        ),
        (
            "services:\n  web:\n    image: nosuch\n    pull_policy: never\n",
            "{file}:3:5: services.web.image: image 'nosuch:latest' is not in the image store,"
            " and its pull_policy is never"
            " (add it with `corral image pull`, `image load` or `image import`)",
        ),
        (
            "services:\n  web:\n    image: 127.0.0.1:1/nosuch\n",
            "{file}:3:5: services.web.image: cannot pull 127.0.0.1:1/nosuch: registry 127.0.0.1:1"
            " failed 5 times: cannot connect to 127.0.0.1:1: Connection refused",
        ),
        (
            "services:\n  a:\n    image: busybox\n    depends_on: [b]\n"
            "  b:\n    image: busybox\n    depends_on: [a]\n",
            "{file}:4:5: services.a.depends_on: dependency cycle: a -> b -> a",
        ),
        (
            "services:\n  web:\n    image: busybox\n    restart: sometimes\n",
            "{file}:4:5: services.web.restart: 'sometimes' is not one of no, always,"
            " on-failure[:N], unless-stopped",
        ),
    ],
    ids=[
        "malformed-yaml",
        "unknown-key",
        "unsupported-key",
        "unknown-image",
        "unreachable-registry",
        "cycle",
        "restart",
    ],
)
def test_bad_compose_file_is_rejected_with_file_line_and_key(
    corral: Corral, text: str, message: str
) -> None:
    file = corral.write(text)
    # --strict: a key Corral does not run yet is refused instead of ignored
    assert _rejected(corral, "--strict", "up", "-d") == f"corral: {message.format(file=file)}\n"


def test_every_problem_of_a_file_is_reported_together(corral: Corral) -> None:
    file = corral.write(
        "services:\n  web:\n    image: busybox\n    imagee: x\n"
        "  db:\n    image: busybox\n    stop_grace_period: soon\n"
    )
    assert _rejected(corral, "up", "-d").splitlines() == [
        f"corral: {file}:4:5: services.web.imagee: unknown key",
        f"{file}:7:5: services.db.stop_grace_period: 'soon' is not a duration"
        " such as 10s, 1m30s or 500ms",
    ]


def test_unknown_service_on_the_command_line(corral: Corral) -> None:
    corral.write("services:\n  web:\n    image: busybox\n")
    assert _rejected(corral, "up", "-d", "nosuch") == "corral: no such service: nosuch\n"


def test_missing_compose_file(corral: Corral) -> None:
    missing = corral.workdir / "nosuch.yaml"
    assert _rejected(corral, "-f", str(missing), "up") == f"corral: {missing}: no such file\n"
