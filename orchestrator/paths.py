"""Where a project's state lives, and the names of its kernel objects.

Runtime state (control socket, bundles, rootfs mount points, logs, the OCI
runtime's state) lives under the run root, persistent data (images,
container layers) under the data root. Both move with CORRAL_RUN_ROOT and
CORRAL_DATA_ROOT.

Kernel objects are named `corral-<project>.<...>`: a project name cannot
hold a dot, so the prefix `corral-<project>.` never matches another
project's objects (`corral-a.` is not a prefix of `corral-a-b.`).
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import CorralError
from runtime.private import private_directory


@dataclass(frozen=True)
class StateRoots:
    run: Path
    data: Path

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> "StateRoots":
        """The roots, absolute: a supervisor works from `/`, not from the
        directory a relative CORRAL_RUN_ROOT was given in."""
        return cls(
            Path(environ.get("CORRAL_RUN_ROOT", "/run/corral")).absolute(),
            Path(environ.get("CORRAL_DATA_ROOT", "/var/lib/corral")).absolute(),
        )

    def secure(self) -> None:
        """Make both roots, or tighten them, so that no other user can reach
        anything under them (see `runtime.private`)."""
        for root in (self.run, self.data):
            try:
                private_directory(root)
            except OSError as exc:
                raise CorralError(f"cannot make state root {root}: {exc.strerror}") from exc

    @property
    def images(self) -> Path:
        return self.data / "images"

    def project(self, project: str) -> "ProjectPaths":
        return ProjectPaths(project, self.run / project, self.data / "containers" / project)


@dataclass(frozen=True)
class ProjectPaths:
    project: str
    run: Path
    data: Path

    @property
    def control_socket(self) -> Path:
        return self.run / "control.sock"

    @property
    def lock_file(self) -> Path:
        """Beside the run directories, not in this one, which `down` removes;
        `.locks` is no project's name (a name cannot start with a dot)."""
        return self.run.parent / ".locks" / self.project

    @property
    def subnet_lock_file(self) -> Path:
        """The lock every project of these state roots takes to choose its
        subnets and make its bridges (see `subnets`); a dotted name is no
        project's."""
        return self.run.parent / ".locks" / ".subnets"

    @property
    def runtime_state(self) -> Path:
        return self.run / "runtime"

    @property
    def pid_file(self) -> Path:
        return self.run / "supervisor.pid"

    @property
    def supervisor_log(self) -> Path:
        return self.run / "supervisor.log"

    def bundle(self, container: str) -> Path:
        return self.run / "containers" / container

    def rootfs(self, container: str) -> Path:
        return self.bundle(container) / "rootfs"

    def layer(self, container: str) -> Path:
        """The container's own writable layer (overlay upper and work)."""
        return self.data / container

    def log_file(self, container: str) -> Path:
        return self.run / "logs" / f"{container}.log"

    @property
    def kernel_prefix(self) -> str:
        """Prefix of this project's netns and cgroup names."""
        return f"corral-{self.project}."

    @property
    def link_label_prefix(self) -> str:
        """Prefix of the ifalias of this project's bridges and veths."""
        return f"corral:{self.project}:"
