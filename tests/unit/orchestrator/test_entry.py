"""The early supervisor fork: guessed from the raw command line, ended
unless the parsed command is `up -d`."""

import os
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.entry import looks_like_detached_up
from orchestrator.starter import fork_supervisor


@pytest.mark.parametrize(
    ("argv", "guess"),
    [
        (["up", "-d"], True),
        (["-p", "demo", "-f", "x.yaml", "up", "--detach", "web"], True),
        (["up"], False),
        (["-p", "up", "ps"], False),
        (["down"], False),
        ([], False),
    ],
)
def test_detached_up_is_guessed_from_the_raw_arguments(argv: list[str], guess: bool) -> None:
    assert looks_like_detached_up(argv) is guess


def _gone(pid: int) -> bool:
    """Whether our child `pid` was ended and reaped (nothing left to wait for)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_a_wrong_guess_ends_the_early_supervisor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n")
    monkeypatch.chdir(tmp_path)
    supervisor = fork_supervisor()
    assert not _gone(supervisor.pid)
    assert main(["config", "--services"], supervisor=supervisor) == 0
    assert capsys.readouterr().out == "web\n"
    assert _gone(supervisor.pid)


def test_bad_arguments_end_the_early_supervisor(capsys: pytest.CaptureFixture[str]) -> None:
    supervisor = fork_supervisor()
    with pytest.raises(SystemExit):
        main(["up", "-d", "--no-such-flag"], supervisor=supervisor)
    assert "unrecognized arguments" in capsys.readouterr().err
    assert _gone(supervisor.pid)
