"""Removing a project goes on past a step that fails."""

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from orchestrator.cleanup import remove_project_objects
from orchestrator.errors import StackError
from orchestrator.paths import ProjectPaths
from runtime.engine import Engine
from runtime.errors import EngineError


@dataclass(frozen=True)
class Listed:
    id: str


class FailingEngine:
    """Lists two runtime containers; deleting the first one fails."""

    def __init__(self) -> None:
        self.deleted: list[str] = []

    async def list(self) -> list[Listed]:
        return [Listed("corral-gone.a-1"), Listed("corral-gone.b-1")]

    async def delete(self, container: str) -> None:
        self.deleted.append(container)
        if container.endswith("a-1"):
            raise EngineError("delete", container, "container is paused")


async def test_a_failed_step_does_not_keep_the_others_from_running(tmp_path: Path) -> None:
    paths = ProjectPaths("gone", tmp_path / "run" / "gone", tmp_path / "data" / "gone")
    (paths.run / "logs").mkdir(parents=True)
    (paths.data / "gone-a-1" / "upper").mkdir(parents=True)
    engine = FailingEngine()
    with pytest.raises(StackError) as caught:
        await remove_project_objects(paths, cast(Engine, engine))
    assert str(caught.value) == (
        "could not remove everything of project gone: "
        "delete of container 'corral-gone.a-1' failed: container is paused"
    )
    assert engine.deleted == ["corral-gone.a-1", "corral-gone.b-1"]
    assert not paths.run.exists()
    assert not paths.data.exists()
