"""A stop signal at any moment of a foreground `corral up`'s start stops it.

Each round starts `corral up`, sends one signal at a moment of its start,
and checks that the command exits interrupted, that no container runs on
and that nothing of the project is left. The moments are a series of delays
after the command was started (the interpreter loading the CLI, the files
read, the lock taken, the supervisor setting up), and points the test sees
for itself: the project's lock file made, its run directory made, and the
output of the first containers of a chain whose last one has yet to start.
"""

import os
import re
import select
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.stack_helpers import COMMAND_TIMEOUT, Corral

pytestmark = pytest.mark.root

CHAIN = "services:\n" + "".join(
    f"  s{i}:\n    image: busybox\n"
    + (f"    depends_on: [s{i - 1}]\n" if i else "")
    + "    command: [sh, -c, \"echo started; trap 'exit 0' TERM; sleep 1000 & wait\"]\n"
    for i in range(4)
)
"""s3 starts once s2 has, s2 once s1 has...: when s2 prints, s3 is still to start."""


@dataclass(frozen=True)
class Moment:
    """When the signal is sent: `after` seconds after `point` is seen."""

    point: str
    """"spawn", "lock" (the lock file exists), "run" (the run directory
    exists) or the name of a service whose first line was printed."""
    after: float = 0.0

    def __str__(self) -> str:
        return f"{self.point}+{self.after * 1000:.0f}ms"

    @property
    def in_corral(self) -> bool:
        """Whether Corral's own code runs by then (not only the interpreter's)."""
        return self.point != "spawn"


def _timed(step_ms: int) -> list[Moment]:
    return [Moment("spawn", ms / 1000) for ms in range(0, 401, step_ms)]


POINTS = [Moment("lock"), Moment("run"), Moment("s0"), Moment("s1"), Moment("s2")]


def _wait_for(corral: Corral, process: "subprocess.Popen[bytes]", moment: Moment) -> None:
    deadline = time.monotonic() + COMMAND_TIMEOUT
    seen: Callable[[], bool]
    if moment.point == "spawn":
        seen = lambda: True  # noqa: E731
    elif moment.point in ("lock", "run"):
        path = corral.run_root / (".locks" if moment.point == "lock" else "") / corral.project
        seen = path.exists
    else:
        line = re.compile(rf"^{corral.project}-{moment.point}-1 +\| started$", re.MULTILINE)
        assert process.stdout is not None
        stdout, output = process.stdout.fileno(), [b""]

        def seen() -> bool:
            readable, _, _ = select.select([stdout], [], [], 0.001)
            if readable:
                output[0] += os.read(stdout, 65536)
            return bool(line.search(output[0].decode()))

    while not seen():
        assert process.poll() is None, f"corral up exited before {moment}"
        assert time.monotonic() < deadline, f"{moment} not seen within {COMMAND_TIMEOUT} s"
        if moment.point in ("lock", "run"):
            time.sleep(0.001)
    time.sleep(moment.after)


def _round(corral: Corral, signum: int, moment: Moment, ignored: bool) -> tuple[int, str]:
    """One `corral up`, `signum` at `moment`: (exit code, stderr)."""
    popen: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    if ignored:  # as a shell script's `corral up &` starts it, or `nohup`
        popen["preexec_fn"] = lambda: signal.signal(signum, signal.SIG_IGN)
    process = corral.start("up", **popen)
    try:
        _wait_for(corral, process, moment)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=COMMAND_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # The lock file is never removed by Corral: removed here so that the
    # next round's "lock" point is that round's own.
    (corral.run_root / ".locks" / corral.project).unlink(missing_ok=True)
    return process.returncode, stderr.decode(errors="replace")


CASES = [
    (signal.SIGINT, False, _timed(25) + POINTS),
    (signal.SIGTERM, False, _timed(100) + POINTS[::2]),
    (signal.SIGHUP, False, _timed(100) + POINTS[::2]),
    # Inherited as ignored: a signal during the interpreter's own start-up is
    # discarded by the kernel before any code of Corral's runs.
    (signal.SIGINT, True, [Moment("lock"), Moment("lock", 0.05), Moment("lock", 0.1), *POINTS]),
    (signal.SIGTERM, True, [Moment("lock"), Moment("lock", 0.1), Moment("s1")]),
    (signal.SIGHUP, True, [Moment("lock"), Moment("lock", 0.1), Moment("s1")]),
]


@pytest.mark.parametrize(
    ("signum", "ignored", "moments"),
    CASES,
    ids=[f"{signal.Signals(s).name}{'-ignored' if i else ''}" for s, i, _ in CASES],
)
def test_a_stop_signal_at_any_moment_of_the_start_stops_it_and_leaves_nothing(
    corral: Corral, signum: int, ignored: bool, moments: list[Moment]
) -> None:
    corral.write(CHAIN)
    outcomes = []
    for moment in moments:
        code, stderr = _round(corral, signum, moment, ignored)
        outcomes.append((str(moment), code))
        # 130 once Corral runs. Before, during the interpreter's own start-up,
        # the signal's default action ends it, or Python gives up with exit 1
        # if the KeyboardInterrupt came while it imported `site`.
        early = code == -signum or (code == 1 and "init_import_site" in stderr)
        assert code == 130 or (early and not moment.in_corral), (
            f"{moment}: exit {code}; {outcomes}\n{stderr}"
        )
        if code == 130:
            assert "Traceback" not in stderr, f"{moment}: {stderr}"
        assert corral.ps() == {}, f"{moment}: a container runs on"
        assert corral.leftovers() == [], f"{moment}: left behind"
    print(f"{signal.Signals(signum).name} ignored={ignored}: {outcomes}")
