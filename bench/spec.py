"""Speed of the Compose loader (issue 3's targets), no root needed.

(d) loading and validating a 200-service file in one process: median of 20,
    target 150 ms;
(e) `corral config` on a small file, the whole process: median of 10,
    target 250 ms.

Run by `make bench` (or alone: `python -m bench.spec`); prints figures only.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORRAL = Path(sys.executable).with_name("corral")
"""The installed command, as a user runs it."""


def _big_file(services: int) -> str:
    """A realistic service body repeated: ports, volumes, healthcheck,
    environment, depends_on, labels, interpolation."""
    lines = ["x-env: &env", "  LOG_LEVEL: ${LOG_LEVEL:-info}", "services:"]
    for index in range(services):
        lines += [
            f"  s{index}:",
            f"    image: registry.local/app{index}:${{TAG:-1.0}}",
            "    command: [serve, --port, '8080']",
            "    environment:",
            "      <<: *env",
            f"      SERVICE_INDEX: '{index}'",
            f"    ports: ['{10000 + index}:8080']",
            f"    volumes: ['./data/{index}:/data', 'cache{index % 5}:/cache']",
            "    healthcheck: {test: [CMD, 'true'], interval: 10s, retries: 3}",
            "    labels: [team=core, tier=backend]",
            "    restart: on-failure:3",
        ]
        if index:
            lines.append(f"    depends_on: [s{index - 1}]")
    lines.append("volumes:")
    lines += [f"  cache{index}: {{}}" for index in range(5)]
    return "\n".join(lines) + "\n"


def bench_load(directory: Path, services: int = 200) -> None:
    from orchestrator.spec import LoadOptions, load_project

    compose = directory / "compose.yaml"
    compose.write_text(_big_file(services), encoding="utf-8")
    options = LoadOptions(project_flag="bench")
    times = []
    for _ in range(20):
        started = time.perf_counter()
        project = load_project([compose], shell={}, options=options)
        times.append(time.perf_counter() - started)
    assert len(project.services) == services
    print(
        f"(d) load + validate {services} services: median {statistics.median(times) * 1e3:.1f} ms"
        f" (min {min(times) * 1e3:.1f}, max {max(times) * 1e3:.1f}); target 150 ms"
    )


def bench_config_process(directory: Path) -> None:
    compose = directory / "small.yaml"
    compose.write_text(
        "services:\n  web:\n    image: nginx\n    ports: ['8080:80']\n"
        "  db:\n    image: postgres:16\n    environment: [POSTGRES_PASSWORD=x]\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [str(CORRAL), "-f", str(compose), "config"]
    times = []
    for _ in range(10):
        started = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    print(
        f"(e) `corral config` process on a small file: median "
        f"{statistics.median(times) * 1e3:.0f} ms (min {min(times) * 1e3:.0f}); target 250 ms"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="crbench-spec-") as directory:
        bench_load(Path(directory))
        bench_config_process(Path(directory))


if __name__ == "__main__":
    main()
