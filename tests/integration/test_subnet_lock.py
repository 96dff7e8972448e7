"""Two projects brought up at the same moment get subnets of their own."""

import json
import subprocess
import tempfile
from collections.abc import Iterator
from ipaddress import IPv4Interface
from pathlib import Path

import pytest

from netplug.bridge import link_name
from tests.integration.stack_helpers import COMMAND_TIMEOUT, Corral

pytestmark = pytest.mark.root

ROUNDS = 5
SLEEPER = """
services:
  app:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
"""


@pytest.fixture
def other(corral: Corral) -> Iterator[Corral]:
    """A second project beside `corral`'s, on the same state roots."""
    workdir = Path(tempfile.mkdtemp(prefix="w", dir=corral.workdir.parent))
    instance = Corral(corral.run_root, corral.data_root, workdir, f"{corral.project}-other")
    yield instance
    left = instance.leftovers()
    if left:
        instance.force_down()
        pytest.fail(f"project {instance.project} leaked: {left}")


def _bridge_address(project: str) -> IPv4Interface:
    bridge = link_name("b", f"{project}/default")
    shown = subprocess.run(
        ["ip", "-j", "-4", "addr", "show", "dev", bridge],
        capture_output=True, text=True, check=True, timeout=10,
    )  # fmt: skip
    (info,) = json.loads(shown.stdout)[0]["addr_info"]
    return IPv4Interface(f"{info['local']}/{info['prefixlen']}")


def test_projects_started_at_once_get_distinct_subnets_that_work(
    corral: Corral, other: Corral
) -> None:
    projects = (corral, other)
    for project in projects:
        project.write(SLEEPER)
    collisions: list[int] = []
    unreachable: list[tuple[int, str]] = []
    for round_ in range(ROUNDS):
        ups = [p.start("up", "-d", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for p in projects]  # fmt: skip
        try:
            outcomes = [up.communicate(timeout=COMMAND_TIMEOUT) for up in ups]
        finally:
            for up in ups:
                if up.poll() is None:
                    up.kill()
                    up.wait()
        try:
            assert [up.returncode for up in ups] == [0, 0], outcomes
            gateways = [_bridge_address(p.project) for p in projects]
            if gateways[0].network == gateways[1].network:
                collisions.append(round_)
            for project, gateway in zip(projects, gateways, strict=True):
                ping = project("exec", "app", "ping", "-c1", "-W1", str(gateway.ip))
                if ping.returncode != 0:
                    unreachable.append((round_, project.project))
        finally:
            for project in projects:
                down = project("down")
                assert down.returncode == 0, down.stderr
    assert (collisions, unreachable) == ([], []), (
        f"of {ROUNDS} rounds, the projects shared a subnet in {collisions};"
        f" these could not reach their gateway: {unreachable}"
    )
    assert corral.leftovers() == other.leftovers() == []
