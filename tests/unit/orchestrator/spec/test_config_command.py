"""`corral config` on realistic projects, compared with expected output files.

Each project under projects/ is a directory a user could have: compose.yaml,
an override file, .env, extends and include. The expected files hold the
output with the project's absolute path written as {project_dir}.
"""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from orchestrator.cli import main
from orchestrator.spec.render import service_hash
from tests.unit.orchestrator.spec.compose_files import load_files

PROJECTS = Path(__file__).parent / "projects"


@pytest.fixture
def run_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> "RunConfig":
    for name in ("NODE_ENV", "LOG_LEVEL", "TAG", "PORT", "COMPOSE_FILE", "COMPOSE_PROFILES",
                 "COMPOSE_PROJECT_NAME", "COMPOSE_DISABLE_ENV_FILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return RunConfig(tmp_path, monkeypatch, capsys)


class RunConfig:
    def __init__(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.tmp_path, self.monkeypatch, self.capsys = tmp_path, monkeypatch, capsys

    def __call__(self, project: str, *argv: str) -> tuple[int, str, Path]:
        """Copy `project` to a fresh directory, run corral there; exit code,
        stdout, and the directory."""
        directory = self.tmp_path / project
        shutil.copytree(PROJECTS / project, directory)
        self.monkeypatch.chdir(directory)
        code = main(list(argv))
        captured = self.capsys.readouterr()
        self.err = captured.err
        return code, captured.out, directory


def expected(project: str, name: str, directory: Path) -> str:
    text = (PROJECTS / project / "expected" / name).read_text(encoding="utf-8")
    return text.replace("{project_dir}", str(directory))


@pytest.mark.parametrize(
    ("project", "argv", "output"),
    [
        pytest.param("shop", ["config"], "config.yaml", id="shop-merged-with-override-and-extends"),
        pytest.param("shop", ["--profile", "debug", "config", "--services"], "services-debug.txt",
                     id="shop-services-with-profile"),
        pytest.param("shop", ["config", "--volumes"], "volumes.txt", id="shop-volumes"),
        pytest.param("shop", ["config", "--networks"], "networks.txt", id="shop-networks"),
        pytest.param("shop", ["config", "--images"], "images.txt", id="shop-images"),
        pytest.param("shop", ["-f", "compose.yaml", "config", "--no-interpolate"],
                     "no-interpolate.yaml", id="shop-no-interpolate-without-override"),
        pytest.param("blog", ["config"], "config.yaml", id="blog-with-include"),
        pytest.param("blog", ["--profile", "ops", "config", "--services"], "services-ops.txt",
                     id="blog-services-with-profile"),
        pytest.param("blog", ["config", "--profiles"], "profiles.txt", id="blog-profiles"),
    ],
)  # fmt: skip
def test_config_output(run_config: RunConfig, project: str, argv: list[str], output: str) -> None:
    code, out, directory = run_config(project, *argv)
    assert code == 0
    assert out == expected(project, output, directory)


def test_json_format_is_the_same_model(run_config: RunConfig) -> None:
    code, out, directory = run_config("shop", "config", "--format", "json")
    assert code == 0
    assert json.loads(out) == yaml.safe_load(expected("shop", "config.yaml", directory))


def test_quiet_prints_nothing_and_fails_on_a_bad_file(
    run_config: RunConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_config("shop", "config", "-q")[:2] == (0, "")
    (run_config.tmp_path / "shop" / ".env").write_text("TAG=1\n")
    code, out, directory = run_config("blog", "config", "-q")
    assert (code, out) == (0, "")
    (directory / ".env").unlink()
    assert main(["config", "-q"]) == 1
    assert capsys.readouterr().err == (
        f"corral: {directory / 'compose.yaml'}:7:5: services.app.image: required variable "
        "GHOST_VERSION is missing a value: set GHOST_VERSION in .env\n"
    )


def test_hash_lists_each_service(run_config: RunConfig) -> None:
    code, out, _ = run_config("blog", "config", "--hash", "*")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ["app", "mysql", "search"]
    assert all(len(line.split()[1]) == 64 for line in out.splitlines())


def test_hash_changes_with_the_container_not_with_ordering_or_dependencies(
    tmp_path: Path,
) -> None:
    def web_hash(body: str) -> str:
        text = "services:\n  db: {image: pg}\n  web:\n    image: a\n" + body
        return service_hash(load_files(tmp_path, {"compose.yaml": text}).service("web"))

    plain = web_hash("    environment: {A: '1', B: '2'}\n")
    assert web_hash("    environment: [A=1, B=2]\n") == plain
    assert web_hash("    environment: {A: '1', B: '2'}\n    depends_on: [db]\n") == plain
    assert web_hash("    environment: {A: '1', B: '3'}\n") != plain


def test_hash_of_an_unknown_service(run_config: RunConfig) -> None:
    code, _, _ = run_config("blog", "config", "--hash", "nope")
    assert code == 1
    assert run_config.err.splitlines()[-1] == "corral: no such service: nope"
