"""Start-up speed and memory of a stack, measured on real containers.

(a) `corral up -d` until every container runs, 10 `sleep` services, median of 5;
(b) the cold start of one container, from plan to process running with its
    network (netns, veth, overlay, bundle, runc), median of 10, next to
    `runc run -d` alone on a ready bundle;
(c) the supervisor's RSS with 10 containers running, and its child processes.

(d), (e): the Compose loader, see bench/spec.py; (f) the pull: bench/pull.py;
(g) the log pump under a flood of output: bench/logs.py.

The machine's speed is printed first and last (`machine_speed_ms`), so that
figures from a slow stretch of this VM can be told apart.

Corral's bytecode is compiled first, as installing it (or any first run
without PYTHONDONTWRITEBYTECODE) does, so that no `corral` process timed
here compiles Corral's sources anew (see bench/pull.py).

Run by `make bench` inside a private network namespace; prints figures only.
`python -m bench up cold rss` runs only the parts named (up, cold, rss, pull,
spec, logs); no argument runs them all.
"""

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

from bench.logs import bench_logs
from bench.pull import bench_pull
from bench.spec import main as bench_spec

REPO = Path(__file__).resolve().parents[1]


def _stack(services: int) -> str:
    lines = ["services:"]
    for index in range(services):
        lines += [f"  s{index}:", "    image: busybox", "    command: [sleep, '1000']"]
    return "\n".join(lines) + "\n"


class Bench:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {
            **os.environ,
            "CORRAL_RUN_ROOT": str(root / "run"),
            "CORRAL_DATA_ROOT": str(root / "data"),
            "PYTHONPATH": str(REPO),
        }
        self.corral = [str(Path(sys.executable).with_name("corral"))]

    def run(self, *args: str, cwd: Path | None = None) -> float:
        began = time.perf_counter()
        subprocess.run([*self.corral, *args], env=self.env, cwd=cwd or self.root, check=True,
                       capture_output=True, timeout=120)  # fmt: skip
        return time.perf_counter() - began

    def import_image(self) -> None:
        tarball = self.root / "busybox.tar"
        subprocess.run([str(REPO / "specs/busybox-rootfs.sh"), str(tarball)], check=True)
        self.run("image", "import", str(tarball), "busybox")


def _cpu_ms(pid: int) -> tuple[float, float]:
    """CPU a process has used, its own (all threads) and its reaped children's."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(fields[index]) for index in range(11, 15))
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    return (utime + stime) * tick_ms, (cutime + cstime) * tick_ms


def bench_up(bench: Bench) -> None:
    """Besides wall time, the CPU each part of an `up -d` used until it
    returned: wall time on this VM varies with what its host does (steal),
    CPU time much less, and it shows where the time goes."""
    compose = bench.root / "compose.yaml"
    compose.write_text(_stack(10))
    ups, downs, cpu = [], [], []
    for _ in range(5):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        ups.append(bench.run("-p", "benchup", "up", "-d"))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cli = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
        pid = int((bench.root / "run/benchup/supervisor.pid").read_text())
        cpu.append((cli, *_cpu_ms(pid)))
        downs.append(bench.run("-p", "benchup", "down"))
    print(f"(a) up -d, 10 services, until all run: median {statistics.median(ups) * 1000:.0f} ms"
          f" (runs: {', '.join(f'{u * 1000:.0f}' for u in ups)} ms)")  # fmt: skip
    cli, supervisor, runtime = (statistics.median(part) for part in zip(*cpu, strict=True))
    print(f"    CPU until it returned (medians): the command {cli:.0f} ms, the supervisor"
          f" {supervisor:.0f} ms, the processes it ran (runtime) {runtime:.0f} ms")  # fmt: skip
    print(f"    down, 10 services: median {statistics.median(downs) * 1000:.0f} ms")


def bench_cold_start(bench: Bench) -> None:
    os.environ.update(bench.env)
    from netplug.bridge import ensure_bridge
    from netplug.ipam import networks_in_use
    from orchestrator.cleanup import remove_project_objects
    from orchestrator.launch import RuncLauncher, prepare_root
    from orchestrator.paths import StateRoots
    from orchestrator.plan import make_plan, plan_networks
    from orchestrator.spec import LoadOptions, load_project
    from runtime.engine import Engine, become_subreaper
    from runtime.images import ImageStore

    compose = bench.root / "one.yaml"
    compose.write_text(_stack(1))
    roots = StateRoots.from_environ(bench.env)
    image = ImageStore(roots.images).resolve("busybox")

    async def once(attempt: int) -> tuple[float, float]:
        project = load_project(
            [compose], shell={}, warn=print, options=LoadOptions(project_flag=f"cold{attempt}")
        )
        paths = roots.project(project.name)
        engine = Engine(paths.runtime_state)
        networks = plan_networks(project, paths, await networks_in_use())
        plan = make_plan(project, {"s0": image}, networks, paths)
        network = plan.networks[0]
        await ensure_bridge(network.bridge, network.gateway, label=network.label)
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            launcher = RuncLauncher(plan.containers[0], paths, engine)
            began = trio.current_time()
            await prepare_root(plan.containers[0], paths, engine)
            await launcher.prepare()
            process = await launcher.start(null, null)
            cold = trio.current_time() - began
            # The runtime alone, on the bundle that is now ready: delete, run again.
            await engine.delete(plan.containers[0].name)
            await process.wait()
            began = trio.current_time()
            process = await launcher.start(null, null)
            runc_alone = trio.current_time() - began
        finally:
            os.close(null)
            await remove_project_objects(paths, engine)
        return cold, runc_alone

    runtime = Engine(roots.run).name

    async def main() -> None:
        become_subreaper()
        results = [await once(attempt) for attempt in range(10)]
        cold = statistics.median(r[0] for r in results)
        alone = statistics.median(r[1] for r in results)
        print(
            f"(b) cold start of one container, plan to running with network: median"
            f" {cold * 1000:.1f} ms; {runtime} run -d alone on the same bundle:"
            f" {alone * 1000:.1f} ms"
        )

    trio.run(main)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _children(pid: int) -> list[str]:
    names = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            names.append(Path(f"/proc/{child}/comm").read_text().strip())
    return names


def bench_memory(bench: Bench) -> None:
    (bench.root / "compose.yaml").write_text(_stack(10))
    bench.run("-p", "benchrss", "up", "-d")
    try:
        pid = int((bench.root / "run/benchrss/supervisor.pid").read_text())
        time.sleep(1)
        children = _children(pid)
        print(
            f"(c) supervisor RSS with 10 containers running: {_rss_kib(pid) / 1024:.1f} MB;"
            f" its child processes: {len(children)} ({', '.join(sorted(set(children)))})"
        )
    finally:
        bench.run("-p", "benchrss", "down")


PARTS = ("up", "cold", "rss", "pull", "spec", "logs")


def machine_speed_ms() -> float:
    """Median time of a fixed pure-Python loop, in this process. This VM's
    speed varies by up to 2x within minutes (its host's load): printed at the
    start and the end, it tells a slow stretch from slower code."""

    def loop() -> float:
        began = time.perf_counter()
        total = 0
        for number in range(2_000_000):
            total += number
        return (time.perf_counter() - began) * 1000

    return statistics.median(loop() for _ in range(3))


def main(argv: list[str]) -> None:
    unknown = [part for part in argv if part not in PARTS]
    if unknown:
        sys.exit(f"usage: python -m bench [{' '.join(PARTS)}]...; unknown: {' '.join(unknown)}")
    parts = argv or PARTS
    root = Path(tempfile.mkdtemp(prefix="crbench-", dir="/tmp"))
    try:
        speed = machine_speed_ms()
        print(f"machine speed: a fixed loop of 2M Python additions takes {speed:.0f} ms")
        bench = Bench(root)
        if {"up", "cold", "rss", "logs"} & set(parts):
            packages = [str(REPO / package) for package in ("orchestrator", "runtime", "netplug")]
            subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], check=True)
            bench.import_image()
        if "up" in parts:
            bench_up(bench)
        if "cold" in parts:
            bench_cold_start(bench)
        if "rss" in parts:
            bench_memory(bench)
        if "pull" in parts:
            bench_pull(root)
        if "spec" in parts:
            bench_spec()
        if "logs" in parts:
            bench_logs(root, bench.env)
        print(f"machine speed at the end: {machine_speed_ms():.0f} ms")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
