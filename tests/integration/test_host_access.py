"""What an unprivileged host user can reach of a running stack: nothing.

A container's root can plant a setuid-root binary in its filesystem, and so
can an image. Their host paths (the overlay's upper directory and mount
point, the image's unpacked layer) must be out of reach of every other host
user, as must the bundle (its config.json holds the container's
environment), the logs and the supervisor's files (CVE-2021-41091's class).
The roots here sit in a world-traversable directory, so that Corral's own
modes are all that stands in the way.
"""

import io
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.stack_helpers import Corral

pytestmark = pytest.mark.root

NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
          "sh", "-c", 'exec "$@"', "sh")  # fmt: skip
"""Run a command as nobody. Through a shell: setpriv keeps root's
capabilities until its own execve, which would look the command up with
CAP_DAC_OVERRIDE; the shell it starts has none, as a real user would not."""

STACK = """
services:
  planter:
    image: setuid-image
    command: ["sh", "-c", "cp /bin/busybox /planted && chmod 4755 /planted && echo planted;
      trap 'exit 0' TERM; sleep 1000 & wait"]
    environment:
      DB_PASSWORD: hunter2
  nonroot:
    image: setuid-image
    user: "65534:65534"
    command: ["sh", "-c", "cat /etc/hosts > /dev/null && ls / > /dev/null && echo nonroot-ok;
      trap 'exit 0' TERM; sleep 1000 & wait"]
"""


def _as_nobody(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NOBODY, *argv], capture_output=True, text=True, timeout=10)


def _setuid_image(busybox_tar: Path, output: Path) -> None:
    """The busybox root with a setuid-root copy of busybox at /image-planted."""
    with tarfile.open(busybox_tar) as source, tarfile.open(output, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member) if member.isfile() else None
            target.addfile(member, data)
        binary = source.getmember("./bin/busybox" if "./bin/busybox" in source.getnames()
                                  else "bin/busybox")  # fmt: skip
        content = source.extractfile(binary)
        assert content is not None
        payload = content.read()
        planted = tarfile.TarInfo("image-planted")
        planted.size, planted.mode, planted.uid, planted.gid = len(payload), 0o4755, 0, 0
        target.addfile(planted, io.BytesIO(payload))


@pytest.fixture
def exposed(test_root: Path, image_data_root: Path, project_prefix: str) -> Iterator[Corral]:
    """A project whose roots already exist with an older installation's
    open modes, inside a directory every user may traverse."""
    base = Path(tempfile.mkdtemp(prefix="open-", dir="/tmp"))
    base.chmod(0o755)
    for root in ("run", "data"):
        (base / root).mkdir(mode=0o755)
        (base / root).chmod(0o755)
    (base / "work").mkdir()
    corral = Corral(base / "run", base / "data", base / "work", f"{project_prefix}open")
    image = base / "setuid.tar"
    _setuid_image(test_root / "busybox.tar", image)
    try:
        result = corral("image", "import", str(image), "setuid-image")
        assert result.returncode == 0, result.stderr
        yield corral
    finally:
        left = corral.leftovers()
        corral.force_down()
        shutil.rmtree(base, ignore_errors=True)
        assert left == []


def _setuid_files(*roots: Path) -> list[Path]:
    found = []
    for root in roots:
        for directory, _, files in os.walk(root):
            for name in files:
                path = Path(directory, name)
                mode = path.lstat().st_mode
                if stat.S_ISREG(mode) and mode & stat.S_ISUID:
                    found.append(path)
    return found


def test_no_host_user_reaches_a_containers_files(exposed: Corral) -> None:
    corral = exposed
    corral.write(STACK)
    result = corral("up", "-d")
    assert result.returncode == 0, result.stderr
    corral.wait_for(lambda rows: all(r["State"] == "running" for r in rows.values()))
    assert "planted" in corral.log_text("planter")
    assert "nonroot-ok" in corral.log_text("nonroot"), corral.log_text("nonroot")

    for root in (corral.run_root, corral.data_root):
        assert stat.S_IMODE(root.stat().st_mode) == 0o700, f"{root} was not tightened"
        listing = _as_nobody("ls", str(root))
        assert listing.returncode != 0
        assert "Permission denied" in listing.stderr

    planted = _setuid_files(corral.run_root, corral.data_root)
    names = sorted(path.name for path in planted)
    # The merged root and the upper directory of the container, and the
    # image's layer, seen through the merged root too.
    assert names.count("planted") >= 2, names
    assert "image-planted" in names, names
    assert any("/images/" in str(path) for path in planted), planted
    project_run = corral.run_root / corral.project
    secrets = [
        project_run / "containers" / f"{corral.project}-planter-1" / "config.json",
        corral.run_root / corral.project / "logs" / f"{corral.project}-planter-1.log",
        project_run / "supervisor.log",
        project_run / "supervisor.pid",
    ]
    for path in [*planted, *secrets]:
        assert path.exists(), path
        assert _as_nobody("test", "-e", str(path)).returncode == 1, f"nobody sees {path}"
        run = _as_nobody(str(path), "id", "-u")
        assert run.returncode != 0, (path, run)
        assert "Permission denied" in run.stderr, (path, run)
    for path in secrets:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert "hunter2" in secrets[0].read_text()  # the secret that must stay root's

    result = corral("down")
    assert result.returncode == 0, result.stderr
