"""A stop honoured whatever state a restarting service is in, on real containers."""

import json
import signal
import subprocess

import pytest

from tests.integration.stack_helpers import Corral

pytestmark = pytest.mark.root


def test_sigterm_ends_a_foreground_up_whose_service_keeps_failing_to_start(
    corral: Corral,
) -> None:
    """`restart: always` retries a command that cannot start, with backoff;
    SIGTERM between two attempts ends the retries and the process."""
    corral.write(
        """
services:
  broken:
    image: busybox
    command: [/nonexistent]
    restart: always
"""
    )
    foreground = corral.start("up", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        corral.wait_for(lambda rows: rows.get("broken", {}).get("RestartCount", 0) >= 3)
        foreground.send_signal(signal.SIGTERM)
        _, stderr = foreground.communicate(timeout=30)
    finally:
        if foreground.poll() is None:
            foreground.kill()
            foreground.wait()
    assert foreground.returncode == 0, stderr
    events = [json.loads(line)["event"] for line in stderr.splitlines()]
    assert events.count("container failed to start") >= 3
    after_stop = events[events.index("stopping") :]
    assert "restarting" not in after_stop
    assert "container failed to start" not in after_stop
    assert corral.leftovers() == []
