"""Problems of what a Compose file refers to: its image references, env
files (which may hold secrets) and the files its `extends` reads."""

from pathlib import Path

import pytest

from orchestrator.errors import SpecError
from tests.unit.orchestrator.spec.compose_files import load_files

DIGEST = "sha256:" + "0123456789abcdef" * 4
_EXPECTED = "expected name[:tag][@sha256:<64 hex digits>]"


@pytest.mark.parametrize(
    ("image", "why"),
    [
        pytest.param("name@sha256:not-hex", _EXPECTED, id="digest not hex"),
        pytest.param("name@" + DIGEST.upper().replace("SHA", "sha"), _EXPECTED, id="uppercase"),
        pytest.param("name@sha256:abc", _EXPECTED, id="short digest"),
        pytest.param("name:-bad", _EXPECTED, id="tag starting with a dash"),
        pytest.param(":tag", _EXPECTED, id="empty name"),
        pytest.param("Name", "repository names must be lowercase", id="uppercase name"),
    ],
)
def test_a_malformed_image_reference_is_a_problem_at_its_key(
    tmp_path: Path, image: str, why: str
) -> None:
    files = {"compose.yaml": f"services:\n  web:\n    image: '{image}'\n"}
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files)
    assert str(caught.value) == (
        f"{tmp_path / 'compose.yaml'}:3:5: services.web.image: "
        f"invalid image reference {image!r}: {why}"
    )


@pytest.mark.parametrize(
    "image",
    [
        "localhost:5000/a/b:tag",
        f"name@{DIGEST}",
        f"name:tag@{DIGEST}",
        "Registry.Example.com:443/org/app:v1.2_3",
        "a/b/c/d",
    ],
)
def test_valid_image_references_are_read(tmp_path: Path, image: str) -> None:
    files = {"compose.yaml": f"services:\n  web:\n    image: '{image}'\n"}
    assert load_files(tmp_path, files).service("web").image == image


def test_without_interpolation_an_image_holding_variables_is_kept(tmp_path: Path) -> None:
    files = {"compose.yaml": "services:\n  web:\n    image: ${IMAGE}:${TAG}\n"}
    web = load_files(tmp_path, files, interpolate=False).service("web")
    assert web.image == "${IMAGE}:${TAG}"


SECRET_LINES = 'DB_HOST=db\nPASSWORD="hunter2\nTOKEN=abc\n'


def test_a_dotenv_error_names_line_and_column_not_the_text(tmp_path: Path) -> None:
    files = {".env": SECRET_LINES, "compose.yaml": "services:\n  web:\n    image: alpine\n"}
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files, use=("compose.yaml",))
    assert str(caught.value) == (
        f'{tmp_path / ".env"}:2:10: unterminated quoted value; expected a closing "'
    )


def test_an_env_file_option_error_names_line_and_column_not_the_text(tmp_path: Path) -> None:
    files = {
        "s.env": "hunter2 is my password\n",
        "compose.yaml": "services:\n  web:\n    image: a\n",
    }
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files, use=("compose.yaml",), env_files=(tmp_path / "s.env",))
    assert str(caught.value) == (
        f"{tmp_path / 's.env'}:1:8: a variable name cannot contain a space"
    )


def test_a_service_env_file_error_names_its_line_and_column_not_the_text(tmp_path: Path) -> None:
    files = {
        "compose.yaml": "services:\n  web:\n    image: alpine\n    env_file: web.env\n",
        "web.env": "A=1\nTOKEN='hunter2' and more\n",
    }
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files)
    assert str(caught.value) == (
        f"{tmp_path / 'compose.yaml'}:4:5: services.web.env_file: {tmp_path / 'web.env'}:2:17: "
        "unexpected text after the closing quote; expected a comment or the end of the line"
    )


def _extends_problems(tmp_path: Path, base: str, compose: str | None = None) -> str:
    files = {
        "compose.yaml": compose
        or "services:\n  web:\n    extends:\n      file: common/base.yaml\n      service: base\n",
        "common/base.yaml": base,
    }
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files, use=("compose.yaml",))
    return str(caught.value)


def test_extends_of_a_service_another_file_lacks(tmp_path: Path) -> None:
    assert _extends_problems(tmp_path, "services:\n  other:\n    image: a\n") == (
        f"{tmp_path / 'compose.yaml'}:3:5: services.web.extends: "
        f"extends undefined service 'base' in {tmp_path / 'common/base.yaml'}"
    )


def test_extends_of_a_missing_file_is_told_at_the_extends_key(tmp_path: Path) -> None:
    compose = "services:\n  web:\n    extends:\n      file: none.yaml\n      service: base\n"
    assert _extends_problems(tmp_path, "", compose) == (
        f"{tmp_path / 'compose.yaml'}:3:5: services.web.extends: "
        f"{tmp_path / 'none.yaml'}: cannot read: No such file or directory"
    )


def test_an_error_in_the_file_extended_names_both_files(tmp_path: Path) -> None:
    assert _extends_problems(tmp_path, "services:\n  base:\n    image: [a\n") == (
        f"{tmp_path / 'compose.yaml'}:3:5: services.web.extends: "
        f"{tmp_path / 'common/base.yaml'}:4:1: invalid YAML: did not find expected ',' or ']'"
    )


def test_an_unknown_key_in_the_next_extends_of_a_chain_names_both_files(tmp_path: Path) -> None:
    base = "services:\n  base:\n    extends: {file: other.yaml, service: x, fle: y}\n"
    assert _extends_problems(tmp_path, base) == (
        f"{tmp_path / 'compose.yaml'}:3:5: services.web.extends: "
        f"{tmp_path / 'common/base.yaml'}:3:45: services.base.extends.fle: "
        "unknown key; expected file, service"
    )


def test_an_extends_cycle_through_files_names_every_file(tmp_path: Path) -> None:
    base = "services:\n  base:\n    extends: {file: ../compose.yaml, service: web}\n"
    assert _extends_problems(tmp_path, base) == (
        f"{tmp_path / 'compose.yaml'}:3:5: services.web.extends: extends cycle: "
        f"web -> {tmp_path / 'common/base.yaml'}:base -> web"
    )


def test_each_service_extending_a_broken_file_is_told(tmp_path: Path) -> None:
    compose = (
        "services:\n  web:\n    extends: {file: common/base.yaml, service: base}\n"
        "  worker:\n    extends: {file: common/base.yaml, service: base}\n"
    )
    assert _extends_problems(tmp_path, "", compose).splitlines() == [
        f"{tmp_path / 'compose.yaml'}:3:5: services.web.extends: "
        f"{tmp_path / 'common/base.yaml'}:1:1: the file is empty",
        f"{tmp_path / 'compose.yaml'}:5:5: services.worker.extends: "
        f"{tmp_path / 'common/base.yaml'}:1:1: the file is empty",
    ]
