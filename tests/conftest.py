"""Suite-wide guards: root tests only inside a private network namespace,
and a leak check that fails the run if any kernel object of Corral's is
left once every test has finished."""

import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.leaks import leftovers

TEST_ROOT = pytest.StashKey[Path]()
PROJECT_PREFIX = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """One short base directory for every state root the suite makes (Unix
    socket paths must stay under 108 bytes)."""
    config.stash[TEST_ROOT] = Path(tempfile.mkdtemp(prefix="crtest-", dir="/tmp"))
    # Projects of this run are named <prefix><n>: the leak check then looks
    # at this run's objects only, not at a stack a user runs on the machine.
    config.stash[PROJECT_PREFIX] = f"t{secrets.token_hex(3)}-"


@pytest.fixture(scope="session")
def project_prefix(pytestconfig: pytest.Config) -> str:
    return pytestconfig.stash[PROJECT_PREFIX]


@pytest.fixture(scope="session")
def test_root(pytestconfig: pytest.Config) -> Path:
    return pytestconfig.stash[TEST_ROOT]


def _in_initial_netns() -> bool:
    try:
        return os.stat("/proc/self/ns/net").st_ino == os.stat("/proc/1/ns/net").st_ino
    except OSError:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that build bridges and namespaces never run in the machine's
    own network namespace: `make test` runs the suite under `unshare --net`."""
    if os.geteuid() == 0 and not _in_initial_netns():
        return
    reason = "needs root inside a private network namespace: run `make test`"
    for item in items:
        if "root" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    root = session.config.stash[TEST_ROOT]
    found = leftovers(root, name_marker=f"corral-{session.config.stash[PROJECT_PREFIX]}")
    if found:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("LEAK CHECK FAILED: Corral left these behind:", red=True)
            for line in found:
                reporter.write_line(f"  {line}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        shutil.rmtree(root, ignore_errors=True)
