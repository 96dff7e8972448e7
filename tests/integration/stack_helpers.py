"""Drive the real `corral` command as a user would, against private state
roots, and prove that nothing of a project is left once it is down."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests import log_file
from tests.leaks import leftovers

COMMAND_TIMEOUT = 60.0
RUNTIMES = [name for name in ("crun", "runc") if shutil.which(name)]
"""The OCI runtimes installed here; tests that must pass on each take `runtime`."""
REPO = Path(__file__).resolve().parents[2]
CORRAL = Path(sys.executable).with_name("corral")
"""The installed command, through its real entry point (`orchestrator.entry`)."""


@dataclass
class Corral:
    run_root: Path
    data_root: Path
    workdir: Path
    project: str
    runtime: str | None = None
    """CORRAL_RUNTIME for the commands; None leaves Corral's own choice."""

    @property
    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "CORRAL_RUN_ROOT": str(self.run_root),
            "CORRAL_DATA_ROOT": str(self.data_root),
            "PYTHONPATH": str(REPO),
        }
        if self.runtime is not None:
            env["CORRAL_RUNTIME"] = self.runtime
        return env

    @property
    def compose_file(self) -> Path:
        return self.workdir / "compose.yaml"

    def command(self, *args: str) -> list[str]:
        return [str(CORRAL), "-p", self.project, *args]

    def __call__(
        self, *args: str, timeout: float = COMMAND_TIMEOUT, stdin: int | None = subprocess.DEVNULL
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=stdin,
        )

    def start(self, *args: str, **popen: Any) -> "subprocess.Popen[Any]":
        """The command started in the background (Popen's keywords in `popen`)."""
        return subprocess.Popen(self.command(*args), cwd=self.workdir, env=self.env, **popen)

    def write(self, text: str, name: str = "compose.yaml") -> Path:
        path = self.workdir / name
        path.write_text(text, encoding="utf-8")
        return path

    def ps(self) -> dict[str, dict[str, Any]]:
        result = self("ps", "--format", "json")
        assert result.returncode == 0, result.stderr
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        return {row["Service"]: row for row in rows}

    def wait_for(
        self, condition: Callable[[dict[str, dict[str, Any]]], bool], timeout: float = 30.0
    ) -> dict[str, dict[str, Any]]:
        """Poll `ps` until `condition` holds (a bounded wait on real containers)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.ps()
            if condition(rows):
                return rows
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s; ps: {rows}")
            time.sleep(0.1)

    def run_foreground_until_interrupted(
        self, services: int, signum: int = signal.SIGINT
    ) -> tuple[int, str, str]:
        """`corral up` in the foreground, Ctrl-C (or `signum`) once every
        service runs: (exit code, stdout, stderr)."""
        foreground = self.start("up", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.wait_for(
                lambda r: len(r) == services and {x["State"] for x in r.values()} == {"running"}
            )
            time.sleep(0.3)
            foreground.send_signal(signum)
            stdout, stderr = foreground.communicate(timeout=30)
        finally:
            if foreground.poll() is None:
                foreground.kill()
                foreground.wait()
        return foreground.returncode, stdout, stderr

    def supervisor_pid(self) -> int:
        return int((self.run_root / self.project / "supervisor.pid").read_text())

    def log_text(self, service: str) -> str:
        path = self.run_root / self.project / "logs" / f"{self.project}-{service}-1.log"
        return path.read_text(encoding="utf-8")

    def log_lines(self, service: str) -> list[tuple[str, str]]:
        """(stream, line) of each line the service's container printed."""
        return log_file.lines(self.log_text(service))

    def supervisor_log(self) -> str:
        """What the detached supervisor wrote, or "" when it wrote nothing."""
        path = self.run_root / self.project / "supervisor.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def leftovers(self) -> list[str]:
        found = leftovers(self.run_root, name_marker=f"corral-{self.project}.")
        if (self.run_root / self.project).exists():
            found.append(f"directory {self.run_root / self.project}")
        if (self.data_root / "containers" / self.project).exists():
            found.append(f"directory {self.data_root / 'containers' / self.project}")
        return found

    def force_down(self) -> None:
        """Teardown for a test that failed half-way: down, then kill by pid."""
        self("down")
        pid_file = self.run_root / self.project / "supervisor.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
            self("down")
