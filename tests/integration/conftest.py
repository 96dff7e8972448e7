import itertools
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.stack_helpers import REPO, Corral

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def image_data_root(test_root: Path) -> Path:
    """A data root holding the busybox image the demo uses, imported once."""
    data_root = test_root / "data"
    tarball = test_root / "busybox.tar"
    subprocess.run([str(REPO / "specs/busybox-rootfs.sh"), str(tarball)], check=True, timeout=60)
    probe = Corral(test_root / "run", data_root, test_root, "probe")
    result = probe("image", "import", str(tarball), "busybox")
    assert result.returncode == 0, result.stderr
    return data_root


@pytest.fixture
def runtime() -> str | None:
    """The OCI runtime of the `corral` fixture: Corral's own choice, unless a
    test parametrizes `runtime` (over stack_helpers.RUNTIMES)."""
    return None


@pytest.fixture
def corral(
    test_root: Path, image_data_root: Path, project_prefix: str, runtime: str | None
) -> Iterator[Corral]:
    """A fresh project with its own run root; fails the test if anything of
    the project is left when the test is over."""
    workdir = Path(tempfile.mkdtemp(prefix="w", dir=test_root))
    instance = Corral(
        test_root / "run", image_data_root, workdir, f"{project_prefix}{next(_counter)}", runtime
    )
    yield instance
    left = instance.leftovers()
    if left:
        log = instance.supervisor_log()
        instance.force_down()
        pytest.fail(f"project {instance.project} leaked: {left}; supervisor log:\n{log}")
