"""(g) The log pump under a flood: what the supervisor spends on one container
printing 40 MB without a newline, next to 40 MB of ordinary 100-byte lines.

Each stream runs as a real container of a detached stack (`corral up -d`).
The container first sleeps, so that the supervisor's CPU time and its peak
memory (VmHWM) can be read once it is up and idle; they are read again once
the container has exited, which is after its pumps have read its pipes to
the end. The difference is what the pump cost. Prints figures only.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

CORRAL = Path(sys.executable).with_name("corral")
"""The installed command, as a user runs it."""
TOTAL = 40_000_000
STREAMS = {
    "one 40 MB line, no newline": f"head -c {TOTAL} /dev/zero | tr '\\0' x",
    "40 MB of 100-byte lines": f"yes {'y' * 99} | head -c {TOTAL}",
}


def _usage(pid: int) -> tuple[float, int]:
    """The CPU time (ms) a process has used, and its peak RSS (VmHWM, KiB)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu_ms = (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return cpu_ms, int(line.split()[1])
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def _flood(root: Path, env: Mapping[str, str], project: str, script: str) -> str:
    workdir = root / project
    workdir.mkdir()
    command = json.dumps(["sh", "-c", f"sleep 2; {script}"])
    (workdir / "compose.yaml").write_text(f"services:\n  flood:\n    image: busybox\n"
                                          f"    command: {command}\n")  # fmt: skip

    def corral(*args: str) -> str:
        command = [str(CORRAL), "-p", project, *args]
        return subprocess.run(command, env=env, cwd=workdir, check=True, capture_output=True,
                              text=True, timeout=600).stdout  # fmt: skip

    corral("up", "-d")
    try:
        pid = int((Path(env["CORRAL_RUN_ROOT"]) / project / "supervisor.pid").read_text())
        cpu_before, peak_before = _usage(pid)
        deadline = time.monotonic() + 600
        while json.loads(corral("ps", "--format", "json").splitlines()[0])["State"] != "exited":
            if time.monotonic() > deadline:
                return "did not finish within 600 s"
            time.sleep(0.5)
        cpu_after, peak_after = _usage(pid)
        log_file = Path(env["CORRAL_RUN_ROOT"]) / project / "logs" / f"{project}-flood-1.log"
        with log_file.open("rb") as file:
            lines = sum(1 for _ in file)
        return (
            f"supervisor CPU {cpu_after - cpu_before:.0f} ms, peak RSS (VmHWM)"
            f" {peak_before / 1024:.1f} -> {peak_after / 1024:.1f} MB;"
            f" log file {log_file.stat().st_size / 1e6:.1f} MB in {lines} lines"
        )
    finally:
        corral("down")


def bench_logs(root: Path, env: Mapping[str, str]) -> None:
    """Needs the busybox image in the data root of `env`."""
    print("(g) the supervisor while one container prints 40 MB:")
    for index, (name, script) in enumerate(STREAMS.items()):
        print(f"    {name}: {_flood(root, env, f'benchlogs{index}', script)}")
