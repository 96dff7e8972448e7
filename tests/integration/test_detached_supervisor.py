"""The detached supervisor of `corral up -d`: what the next `up` sees of a
stack that is starting or going away, and its independence from the
directory it was started in."""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.integration.stack_helpers import COMMAND_TIMEOUT, RUNTIMES, Corral

pytestmark = pytest.mark.root

CHAIN = "services:\n" + "".join(
    f"  s{i}:\n    image: busybox\n"
    + (f"    depends_on: [s{i - 1}]\n" if i else "")
    + "    command: [sh, -c, \"trap 'exit 0' TERM; sleep 1000 & wait\"]\n"
    for i in range(4)
)


def _down(corral: Corral) -> None:
    result = corral("down")
    assert result.returncode == 0, result.stderr
    assert corral.leftovers() == []


def test_up_after_an_up_d_killed_mid_start_is_up_or_says_why_not(corral: Corral) -> None:
    """`up -d` killed while its supervisor starts: the supervisor reads EOF
    and takes the stack down; an `up -d` run at once must not take that
    stack for one that is up."""
    corral.write(CHAIN)
    outcomes = []
    for after in (0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2):
        first = corral.start("up", "-d", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + COMMAND_TIMEOUT
        # The run directory: the supervisor has the project and holds its lock.
        while not (corral.run_root / corral.project).exists():
            assert first.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.001)
        time.sleep(after)
        first.kill()
        first.wait()
        second = corral("up", "-d")
        states = sorted(row["State"] for row in corral.ps().values())
        said = (second.stdout + second.stderr).strip().replace(corral.project, "P")
        outcomes.append((after, second.returncode, said, states))
        if second.returncode == 0:
            assert states == ["running"] * 4, outcomes
        else:
            assert second.stderr.startswith("corral: "), second.stderr
            assert "Traceback" not in second.stderr, second.stderr
        _down(corral)
    print(f"killed-up rounds: {outcomes}")


RESTARTING = """
services:
  app:
    image: busybox
    restart: always
    command: [sh, -c, "sleep 3"]
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_detached_stack_runs_on_once_the_directory_it_was_started_in_is_gone(
    corral: Corral,
) -> None:
    gone = Path(tempfile.mkdtemp(prefix="gone", dir=corral.workdir))
    (gone / "compose.yaml").write_text(RESTARTING, encoding="utf-8")
    up = subprocess.run(
        corral.command("up", "-d"),
        cwd=gone,
        env=corral.env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    assert up.returncode == 0, up.stderr
    shutil.rmtree(gone)  # a temporary directory, a checkout switched away
    # It works from `/` (runtimes differ in what fails from a deleted one).
    assert os.readlink(f"/proc/{corral.supervisor_pid()}/cwd") == "/"
    # ps, exec and down with -p only, from the fixture's directory (no file there).
    before = corral.ps()["app"]["RestartCount"]
    rows = corral.wait_for(
        lambda r: r["app"]["RestartCount"] >= before + 2 and r["app"]["State"] == "running"
    )
    assert rows["app"]["ExitCode"] == 0
    result = corral("exec", "app", "sh", "-c", "echo from-$(hostname)")
    assert (result.returncode, result.stdout) == (0, "from-app\n")
    _down(corral)
