"""Log lines go where `configure_logging` said, though structlog is imported late.

Run in a fresh interpreter: structlog's configuration is global, and the
point is what a supervisor process has imported before its first line.
"""

import json
import subprocess
import sys

SUPERVISOR = """
import io, sys
from orchestrator import daemon
from orchestrator.logconfig import configure_logging, get_logger

stream = io.StringIO()
configure_logging(stream)
print("structlog" in sys.modules)
get_logger("corral").warning("restarting", container="web-1", delay=0.4)
print(stream.getvalue(), end="")
"""


def test_the_supervisor_imports_structlog_with_its_first_log_line() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SUPERVISOR], capture_output=True, text=True, check=True, timeout=60
    )
    imported, line = result.stdout.splitlines()
    assert imported == "False"
    record = json.loads(line)
    assert record.pop("timestamp").endswith("Z")
    assert record == {"event": "restarting", "container": "web-1", "delay": 0.4, "level": "warning"}


UNWRITABLE = """
from orchestrator.logconfig import configure_logging, get_logger

configure_logging(open("/dev/full", "w", buffering=1))
get_logger("corral").info("stopping", signal="SIGHUP")
print("still running")
"""


def test_a_log_line_that_cannot_be_written_is_lost_not_raised() -> None:
    result = subprocess.run(
        [sys.executable, "-c", UNWRITABLE], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "still running\n", "")
