"""`corral exec`'s standard streams on real containers: the caller's files
never reach the runtime, and what goes through the pipes in their place
arrives whole."""

import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from orchestrator.control.client import request
from orchestrator.errors import ControlError
from tests.integration.stack_helpers import COMMAND_TIMEOUT, RUNTIMES, Corral

pytestmark = [pytest.mark.root, pytest.mark.parametrize("runtime", RUNTIMES)]

UNPRIVILEGED = """
services:
  app:
    image: busybox
    user: "65534:65534"
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
"""


@pytest.fixture
def app(corral: Corral) -> Corral:
    corral.write(UNPRIVILEGED)
    result = corral("up", "-d")
    assert result.returncode == 0, result.stderr
    return corral


def _down(corral: Corral) -> None:
    result = corral("down")
    assert result.returncode == 0, result.stderr
    assert corral.leftovers() == []


def _private_file(path: Path, content: bytes = b"") -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(content)
    return path


def _owner_and_mode(path: Path) -> tuple[int, int, int]:
    status = path.stat()
    return status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode)


def _wait_until_gone(app: Corral, command: str) -> None:
    """Poll the container (a bounded wait) until no process runs `command`."""
    deadline = time.monotonic() + 10
    while True:
        listed = app("exec", "app", "ps", "-o", "args")
        assert listed.returncode == 0, listed.stderr
        if command not in listed.stdout.splitlines():
            return
        assert time.monotonic() < deadline, f"{command!r} still runs in the container"
        time.sleep(0.1)


def test_the_callers_files_stay_the_callers(app: Corral, tmp_path: Path) -> None:
    stdin = _private_file(tmp_path / "in", b"from-the-caller\n")
    stdout, stderr = _private_file(tmp_path / "out"), _private_file(tmp_path / "err")
    with stdin.open("rb") as i, stdout.open("wb") as o, stderr.open("wb") as e:
        result = subprocess.run(
            app.command("exec", "app", "sh", "-c", "id -u; cat; echo to-err >&2; exit 3"),
            cwd=app.workdir, env=app.env, stdin=i, stdout=o, stderr=e, timeout=COMMAND_TIMEOUT,
        )  # fmt: skip
    assert result.returncode == 3
    assert stdout.read_text() == "65534\nfrom-the-caller\n"
    assert stderr.read_text() == "to-err\n"
    for path in (stdin, stdout, stderr):
        assert _owner_and_mode(path) == (0, 0, 0o600), path

    # The supervisor takes pipes only, whoever asks it.
    with stdin.open("rb") as i, stdout.open("ab") as o, stderr.open("ab") as e:
        with pytest.raises(ControlError, match=r"^exec takes pipes for its streams, not files$"):
            request(
                app.run_root / app.project / "control.sock",
                {"op": "exec", "service": "app", "argv": ["true"]},
                fds=(i.fileno(), o.fileno(), e.fileno()),
            )
    for path in (stdin, stdout, stderr):
        assert _owner_and_mode(path) == (0, 0, 0o600), path
    _down(app)


def test_stdin_is_copied_to_its_end_and_output_arrives_whole(app: Corral) -> None:
    data = os.urandom(3_000_000)
    counted = subprocess.run(
        app.command("exec", "app", "sh", "-c", "cat | wc -c"),
        cwd=app.workdir, env=app.env, input=data, capture_output=True, timeout=COMMAND_TIMEOUT,
    )  # fmt: skip
    assert (counted.returncode, counted.stdout.strip()) == (0, b"3000000")
    echoed = subprocess.run(
        app.command("exec", "app", "cat"),
        cwd=app.workdir, env=app.env, input=data, capture_output=True, timeout=COMMAND_TIMEOUT,
    )  # fmt: skip
    assert (echoed.returncode, echoed.stdout == data) == (0, True)
    twice = "head -c 4000000 /dev/urandom | tee /proc/self/fd/2"
    both = subprocess.run(
        app.command("exec", "app", "sh", "-c", twice),
        cwd=app.workdir, env=app.env, capture_output=True, timeout=COMMAND_TIMEOUT,
    )  # fmt: skip
    assert (both.returncode, len(both.stdout), both.stdout == both.stderr) == (0, 4_000_000, True)
    _down(app)


def test_exec_returns_once_the_command_has_exited(app: Corral) -> None:
    # It does not read its stdin, which never ends.
    unread = app.start("exec", "app", "true", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert unread.wait(timeout=COMMAND_TIMEOUT) == 0
    finally:
        assert unread.stdin is not None
        unread.stdin.close()
    # What it left behind holds its stdout.
    left = app("exec", "app", "sh", "-c", "echo before; sleep 1000 & exit 4")
    assert (left.returncode, left.stdout) == (4, "before\n")
    _down(app)


def test_a_reader_or_caller_gone_stops_the_command(app: Corral) -> None:
    # `corral exec app yes | head -1`
    yes = app.start("exec", "app", "yes", stdout=subprocess.PIPE)
    assert yes.stdout is not None
    assert yes.stdout.readline() == b"y\n"
    yes.stdout.close()
    assert yes.wait(timeout=COMMAND_TIMEOUT) == 128 + signal.SIGPIPE
    _wait_until_gone(app, "yes")
    # Ctrl-C
    sleeping = app.start("exec", "app", "sh", "-c", "echo started; exec sleep 777",
                         stdout=subprocess.PIPE)  # fmt: skip
    assert sleeping.stdout is not None
    assert sleeping.stdout.readline() == b"started\n"
    assert "sleep 777" in app("exec", "app", "ps", "-o", "args").stdout.splitlines()
    sleeping.send_signal(signal.SIGINT)
    assert sleeping.wait(timeout=COMMAND_TIMEOUT) == 130
    _wait_until_gone(app, "sleep 777")
    _down(app)
