"""Values nested too deeply, by YAML, by `${...}`, by include or extends
chains: one problem naming file, line and key, never a traceback."""

from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.errors import SpecError
from tests.unit.orchestrator.spec.compose_files import load_files, write_files


def _with_nested_default(levels: int) -> str:
    value = "${X:-" * levels + "a" + "}" * levels
    return f'services:\n  web:\n    image: alpine\n    environment:\n      A: "{value}"\n'


def test_config_reports_interpolation_nested_too_deeply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _with_nested_default(300)
    write_files(tmp_path, {"compose.yaml": text})
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("X", raising=False)
    assert main(["config", "-q"]) == 1
    assert capsys.readouterr().err == (
        f"corral: {tmp_path / 'compose.yaml'}:5:7: services.web.environment.A: "
        'invalid interpolation format: "${" nested more than 100 levels deep\n'
    )


def test_interpolation_nested_a_hundred_deep_is_read(tmp_path: Path) -> None:
    text = _with_nested_default(100)
    web = load_files(tmp_path, {"compose.yaml": text}).service("web")
    assert web.environment == (("A", "a"),)


@pytest.mark.parametrize(
    ("value", "column", "key"),
    [
        pytest.param("[" * 300 + "]" * 300, 107, "services.web.x-a", id="sequences"),
        pytest.param("{a: " * 300 + "1" + "}" * 300, 398, "services.web.x-a.a", id="mappings"),
        pytest.param("[{a: " * 150 + "1" + "}]" * 150, 251, "services.web.x-a", id="both"),
    ],
)
def test_yaml_nested_too_deeply_is_one_problem_at_its_place(
    tmp_path: Path, value: str, column: int, key: str
) -> None:
    text = f"services:\n  web:\n    image: alpine\n    x-a: {value}\n"
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, {"compose.yaml": text})
    assert str(caught.value) == (
        f"{tmp_path / 'compose.yaml'}:4:{column}: {key}: nested more than 100 levels deep"
    )


def test_nesting_through_aliases_counts(tmp_path: Path) -> None:
    inner = "[" * 60 + "]" * 60
    text = (
        f"x-deep: &deep {inner}\n"
        f"x-deeper: &deeper {'[' * 60}*deep{']' * 60}\n"
        "services:\n  web:\n    image: alpine\n"
    )
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, {"compose.yaml": text})
    assert str(caught.value) == (
        f"{tmp_path / 'compose.yaml'}:1:54: x-deeper: nested more than 100 levels deep"
    )


def test_a_value_nested_to_the_limit_goes_through_extends_and_merging(tmp_path: Path) -> None:
    deep = "{a: " * 96 + "1" + "}" * 96  # the 100th level, under services.web.x-a
    files = {
        "compose.yaml": "services:\n  web:\n    extends: {file: base.yaml, service: base}\n"
        f"    x-a: {deep}\n",
        "compose.override.yaml": f"services:\n  web:\n    x-a: {deep}\n",
        "base.yaml": f"services:\n  base:\n    image: alpine\n    x-a: {deep}\n",
    }
    project = load_files(tmp_path, files, use=("compose.yaml", "compose.override.yaml"))
    assert project.service("web").image == "alpine"


def test_an_include_chain_too_deep_is_one_problem(tmp_path: Path) -> None:
    files = {"compose.yaml": "include: [i0.yaml]\nservices:\n  web:\n    image: a\n"}
    for i in range(60):
        files[f"i{i}.yaml"] = f"include: [i{i + 1}.yaml]\nservices:\n  s{i}:\n    image: a\n"
    files["i60.yaml"] = "services:\n  last:\n    image: a\n"
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files)
    assert str(caught.value) == (
        f"{tmp_path / 'i49.yaml'}:1:11: include[0]: includes nested more than 50 files deep"
    )


def test_an_extends_chain_through_files_too_long_is_one_problem(tmp_path: Path) -> None:
    files = {"compose.yaml": "services:\n  web:\n    extends: {file: e0.yaml, service: s0}\n"}
    for i in range(150):
        files[f"e{i}.yaml"] = (
            f"services:\n  s{i}:\n    extends: {{file: e{i + 1}.yaml, service: s{i + 1}}}\n"
        )
    files["e150.yaml"] = "services:\n  s150:\n    image: a\n"
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files)
    assert str(caught.value) == (
        f"{tmp_path / 'compose.yaml'}:3:5: services.web.extends: "
        "the extends chain goes through more than 100 services"
    )
