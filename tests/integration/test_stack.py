"""`corral up` / `ps` / `exec` / `down` on real containers, end to end."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netplug.bridge import link_name
from orchestrator import project_lock
from orchestrator.paths import StateRoots
from tests import log_file
from tests.integration.stack_helpers import COMMAND_TIMEOUT, RUNTIMES, Corral

pytestmark = pytest.mark.root

WEB_AND_CLIENT = """
services:
  web:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; echo hello-from-web > /tmp/index.html;
      echo web-ready; httpd -f -p 8080 -h /tmp & wait"]
  client:
    image: busybox
    depends_on: [web]
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
"""

TICKER = """
services:
  ticker:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do echo tick; sleep 0.1; done"]
"""

FETCH_WEB = "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc web 8080 | tail -n 1"


def _up(corral: Corral, *extra: str) -> None:
    result = corral("up", "-d", *extra)
    assert result.returncode == 0, result.stderr


def _down(corral: Corral) -> subprocess.CompletedProcess[str]:
    result = corral("down")
    assert result.returncode == 0, result.stderr
    assert corral.leftovers() == []
    return result


def _child_commands(pid: int) -> list[str]:
    children = [
        child
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]
    return sorted(Path(f"/proc/{child}/comm").read_text().strip() for child in children)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_services_reach_each_other_by_name_and_down_removes_everything(corral: Corral) -> None:
    corral.write(WEB_AND_CLIENT)
    _up(corral)
    rows = corral.ps()
    assert {row["State"] for row in rows.values()} == {"running"}
    assert rows["web"]["Name"] == f"{corral.project}-web-1"
    assert set(rows["web"]) >= {
        "Name", "Service", "State", "ExitCode", "Health", "RestartCount", "IPAddress"
    }  # fmt: skip

    by_service = corral("exec", "client", "sh", "-c", FETCH_WEB)
    assert (by_service.returncode, by_service.stdout) == (0, "hello-from-web\n")
    by_container_name = corral(
        "exec", "client", "sh", "-c", FETCH_WEB.replace("nc web", f"nc {corral.project}-web-1")
    )
    assert by_container_name.stdout == "hello-from-web\n"
    address = corral("exec", "client", "sh", "-c", "ip -4 -o addr show eth0")
    assert rows["client"]["IPAddress"] + "/" in address.stdout
    # The containers' first processes are the supervisor's only children: no
    # helper per container, and no runtime process left over (or as a zombie).
    assert _child_commands(corral.supervisor_pid()) == ["sh", "sh"]

    result = _down(corral)
    assert f"project {corral.project} is down" in result.stdout


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exec_returns_the_commands_exit_code_and_output(corral: Corral) -> None:
    corral.write(WEB_AND_CLIENT)
    _up(corral)
    result = corral("exec", "web", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert (result.returncode, result.stdout, result.stderr) == (7, "out\n", "err\n")
    killed = corral("exec", "web", "sh", "-c", "kill -KILL $$")
    assert killed.returncode == 128 + signal.SIGKILL  # as `docker exec` reports it
    missing = corral("exec", "nosuch", "true")
    assert missing.returncode == 1
    assert missing.stderr == "corral: no such service: nosuch\n"
    _down(corral)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_container_is_isolated_as_docker_isolates_it(corral: Corral) -> None:
    corral.write(WEB_AND_CLIENT)
    _up(corral)
    inside = corral(
        "exec", "client", "sh", "-c",
        "hostname; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status;"
        " cat /proc/1/cmdline | tr '\\0' ' '; echo;"
        " cat /proc/timer_list /proc/keys | wc -c; touch /sys/x 2>&1 | grep -c Read-only;"
        " echo written > /written-by-client; readlink /proc/self/ns/net",
    )  # fmt: skip
    lines = inside.stdout.splitlines()
    assert lines[0] == "client"
    docker_capabilities = "00000000a80425fb"
    assert lines[1:4] == [
        f"CapEff:\t{docker_capabilities}",
        f"CapBnd:\t{docker_capabilities}",
        "NoNewPrivs:\t0",  # as Docker: only with security_opt no-new-privileges
    ]
    assert lines[4].startswith("sh -c trap")  # the service's command is pid 1
    assert lines[5] == "0"  # masked: the host's are not empty
    assert lines[6] == "1"  # /sys is read-only
    assert lines[7] != os.readlink("/proc/self/ns/net")

    upper = corral.data_root / "containers" / corral.project / f"{corral.project}-client-1"
    assert (upper / "upper" / "written-by-client").read_text() == "written\n"
    image_layers = corral.data_root / "images" / "layers"
    assert not list(image_layers.glob("*/written-by-client"))
    _down(corral)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_containers_and_their_execs_run_in_cgroups_nested_under_the_supervisors(
    corral: Corral,
) -> None:
    host_mounts = _mount_points()
    corral.write(WEB_AND_CLIENT)
    _up(corral)
    supervisor = corral.supervisor_pid()
    own = _cgroups_of(supervisor)
    for service in ("web", "client"):
        container = f"{corral.project}-{service}-1"
        init = int(
            (corral.run_root / corral.project / "containers" / container / "pid").read_text()
        )
        name = f"corral-{corral.project}.{service}-1"
        assert _cgroups_of(init) == {
            hierarchy: f"{path.rstrip('/')}/{name}" for hierarchy, path in own.items()
        }

    inside = corral(
        "exec", "client", "sh", "-c",
        "cat /proc/self/cgroup; echo --; cat /proc/1/cgroup; echo --;"
        " cat /sys/fs/cgroup/devices/devices.list",
    )  # fmt: skip
    exec_cgroups, init_cgroups, devices = inside.stdout.split("--\n")
    assert exec_cgroups == init_cgroups
    assert "c 1:3 rwm" in devices.splitlines()  # /dev/null
    assert "a *:* rwm" not in devices.splitlines()
    # On a hybrid host the runtime runs where the v2 hierarchy is unmounted;
    # the host keeps it.
    cgroup_mounts = {path for path in _mount_points() if path.startswith("/sys/fs/cgroup")}
    assert cgroup_mounts == {path for path in host_mounts if path.startswith("/sys/fs/cgroup")}
    _down(corral)


def _mount_points() -> set[str]:
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return {line.split()[4] for line in lines}


def _cgroups_of(pid: int) -> dict[str, str]:
    """Hierarchy (its controllers) -> cgroup path of a process."""
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    return {line.split(":", 2)[1]: line.split(":", 2)[2] for line in lines}


def test_failing_service_is_restarted_per_policy(corral: Corral) -> None:
    corral.write(
        """
services:
  worker:
    image: busybox
    command: ["sh", "-c", "echo attempt; exit 3"]
    restart: on-failure:2
"""
    )
    _up(corral)
    rows = corral.wait_for(lambda r: r["worker"]["State"] == "exited")
    assert (rows["worker"]["ExitCode"], rows["worker"]["RestartCount"]) == (3, 2)
    assert corral.log_lines("worker") == [("stdout", "attempt")] * 3
    _down(corral)


def test_a_last_line_before_exit_is_kept(corral: Corral) -> None:
    corral.write(
        """
services:
  once:
    image: busybox
    command: ["sh", "-c", "echo first; echo -n 'last words without newline'"]
"""
    )
    _up(corral)
    corral.wait_for(lambda r: r["once"]["State"] == "exited")
    assert log_file.entries(corral.log_text("once")) == [
        ("stdout", "F", "first"),
        ("stdout", "F", "last words without newline"),
    ]
    _down(corral)


def test_a_long_line_without_a_newline_is_logged_whole_in_16_kib_pieces(corral: Corral) -> None:
    # 3.5 MB of digits and no newline: the numbers 1 to 600000 run together.
    corral.write(
        """
services:
  flood:
    image: busybox
    command: ["sh", "-c", "seq 1 600000 | tr -d '\\\\n'"]
"""
    )
    _up(corral)
    rows = corral.wait_for(lambda r: r["flood"]["State"] == "exited")
    assert rows["flood"]["ExitCode"] == 0
    pieces = log_file.entries(corral.log_text("flood"))
    expected = "".join(str(number) for number in range(1, 600001))
    assert [(stream, tag, len(text)) for stream, tag, text in pieces] == [
        ("stdout", "P", 16384)
    ] * (len(expected) // 16384) + [("stdout", "F", len(expected) % 16384)]
    assert "".join(text for _, _, text in pieces) == expected
    _down(corral)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_command_missing_from_the_image_is_reported_with_the_runtimes_reason(
    corral: Corral,
) -> None:
    corral.write(
        """
services:
  broken:
    image: busybox
    command: ["no-such-program"]
"""
    )
    _up(corral)
    rows = corral.wait_for(lambda r: r["broken"]["State"] == "exited")
    assert rows["broken"]["ExitCode"] == 127
    log = (corral.run_root / corral.project / "supervisor.log").read_text()
    failures = [
        entry["reason"]
        for entry in map(json.loads, log.splitlines())
        if entry["event"] == "container failed to start"
    ]
    assert failures
    # runc: exec: "no-such-program": executable file not found in $PATH
    # crun: executable file `no-such-program` not found in $PATH: No such file or directory
    assert re.search(r"\bno-such-program\b.* not found in \$PATH", failures[0])
    _down(corral)


def test_stop_signal_then_sigkill_after_the_grace_period(corral: Corral) -> None:
    corral.write(
        """
services:
  stubborn:
    image: busybox
    command: ["sh", "-c", "trap 'echo got-term' TERM; while true; do sleep 0.1; done"]
    stop_grace_period: 1s
  polite:
    image: busybox
    command: ["sh", "-c", "trap 'echo got-usr1; exit 0' USR1; sleep 1000 & wait"]
    stop_signal: SIGUSR1
"""
    )
    code, stdout, stderr = corral.run_foreground_until_interrupted(services=2)
    assert code == 0, stderr
    assert re.search(rf"^{corral.project}-polite-1 +\| got-usr1$", stdout, re.MULTILINE)
    assert re.search(rf"^{corral.project}-stubborn-1 +\| got-term$", stdout, re.MULTILINE)
    assert "grace period over, killing" in stderr
    assert corral.leftovers() == []


def test_foreground_up_prefixes_output_and_ctrl_c_stops_cleanly(corral: Corral) -> None:
    corral.write(WEB_AND_CLIENT)
    code, stdout, stderr = corral.run_foreground_until_interrupted(services=2)
    assert code == 0, stderr
    assert re.search(rf"^{corral.project}-web-1 +\| web-ready$", stdout, re.MULTILINE)
    assert corral.leftovers() == []


def test_foreground_up_returns_once_every_container_has_exited(corral: Corral) -> None:
    corral.write(
        "services:\n"
        "  migrate:\n    image: busybox\n    command: [echo, migrated]\n"
        "  report:\n    image: busybox\n    command: [sh, -c, 'sleep 0.5; echo reported']\n"
    )
    result = corral("up")
    assert result.returncode == 0, result.stderr
    assert re.search(rf"^{corral.project}-migrate-1 +\| migrated$", result.stdout, re.M)
    assert re.search(rf"^{corral.project}-report-1 +\| reported$", result.stdout, re.M)
    assert corral.leftovers() == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_foreground_up_stops_cleanly_on_sigterm_and_a_closed_terminal(
    corral: Corral, signum: int
) -> None:
    corral.write(WEB_AND_CLIENT)
    code, _, stderr = corral.run_foreground_until_interrupted(services=2, signum=signum)
    assert code == 0, stderr
    events = [json.loads(line) for line in stderr.splitlines()]
    assert {"event": "stopping", "signal": signal.Signals(signum).name}.items() <= events[1].items()
    assert corral.leftovers() == []


def test_foreground_output_to_a_reader_that_went_away_does_not_stop_the_stack(
    corral: Corral,
) -> None:
    corral.write(TICKER)
    foreground = corral.start("up", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        corral.wait_for(lambda rows: rows.get("ticker", {}).get("State") == "running")
        assert foreground.stdout is not None
        foreground.stdout.close()  # `corral up | head -1`: the reader is gone
        time.sleep(1.0)  # ten more lines, each to a pipe nobody reads
        assert foreground.poll() is None
        assert corral.ps()["ticker"]["State"] == "running"
        assert corral.log_lines("ticker")[-1] == ("stdout", "tick")
        foreground.send_signal(signal.SIGINT)
        _, stderr = foreground.communicate(timeout=30)
    finally:
        if foreground.poll() is None:
            foreground.kill()
            foreground.wait()
    assert foreground.returncode == 0, stderr
    assert b"cannot write to the terminal" in stderr
    assert corral.leftovers() == []


def test_ctrl_c_held_down_from_the_first_object_made_leaves_nothing(corral: Corral) -> None:
    corral.write(WEB_AND_CLIENT)
    foreground = corral.start("up", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while not (corral.run_root / corral.project).exists():
            assert foreground.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.001)
        # A Ctrl-C every 20 ms: the start, and then its cleanup, are each
        # interrupted again and again.
        while foreground.poll() is None:
            assert time.monotonic() < deadline
            foreground.send_signal(signal.SIGINT)
            time.sleep(0.02)
        stderr = foreground.stderr.read() if foreground.stderr else ""
    finally:
        if foreground.poll() is None:
            foreground.kill()
            foreground.wait()
    assert foreground.returncode in (0, 130), stderr
    assert "Traceback" not in stderr
    assert corral.leftovers() == []


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_down_after_the_supervisor_was_killed_removes_everything(corral: Corral) -> None:
    corral.write(WEB_AND_CLIENT)
    _up(corral)
    os.kill(corral.supervisor_pid(), signal.SIGKILL)
    time.sleep(0.2)
    assert corral.leftovers() != []  # containers, netns and mounts outlive it
    result = _down(corral)
    assert "removed what a stopped supervisor left" in result.stdout


def test_up_after_the_supervisor_was_killed_recovers(corral: Corral) -> None:
    corral.write(WEB_AND_CLIENT)
    _up(corral)
    os.kill(corral.supervisor_pid(), signal.SIGKILL)
    time.sleep(0.2)
    _up(corral)
    fetched = corral("exec", "client", "sh", "-c", FETCH_WEB)
    assert fetched.stdout == "hello-from-web\n"
    _down(corral)


def test_down_waits_while_another_corral_process_holds_the_project(corral: Corral) -> None:
    corral.write(WEB_AND_CLIENT)
    paths = StateRoots(corral.run_root, corral.data_root).project(corral.project)
    lock = project_lock.try_lock(paths)  # as a supervisor still starting holds it
    assert lock is not None
    paths.run.mkdir(parents=True)  # what it has made so far
    down = corral.start("down", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        assert down.poll() is None
        assert paths.run.exists()  # not taken for a dead supervisor's leftovers
    finally:
        os.close(lock)
    stdout, stderr = down.communicate(timeout=COMMAND_TIMEOUT)
    assert (down.returncode, stderr) == (0, "")
    assert stdout == f"removed what a stopped supervisor left of project {corral.project}\n"
    assert corral.leftovers() == []


def test_up_while_another_corral_process_holds_the_project_is_refused(corral: Corral) -> None:
    corral.write(WEB_AND_CLIENT)
    paths = StateRoots(corral.run_root, corral.data_root).project(corral.project)
    lock = project_lock.try_lock(paths)  # as a supervisor still starting holds it
    assert lock is not None
    try:
        result = corral("up", "-d")
    finally:
        os.close(lock)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        f"corral: project {corral.project} is being started or stopped by another corral command\n",
    )
    assert corral.leftovers() == []


def test_up_of_a_subset_starts_the_services_and_their_dependencies(corral: Corral) -> None:
    corral.write(WEB_AND_CLIENT + "  extra:\n    image: busybox\n    command: [sleep, '1000']\n")
    _up(corral, "client")
    assert sorted(corral.ps()) == ["client", "web"]
    _down(corral)


def test_down_of_a_project_that_is_not_running(corral: Corral) -> None:
    corral.write(WEB_AND_CLIENT)
    result = corral("down")
    assert (result.returncode, result.stdout) == (0, f"project {corral.project} is not running\n")


# What `corral up -d` does with a supervisor forked before the Compose file
# is read (starter.fork_supervisor), as a script so that it runs the real way.
EARLY_UP = """
import os, sys
from pathlib import Path
from orchestrator import starter
from orchestrator.paths import StateRoots

with starter.fork_supervisor() as supervisor:
    from orchestrator.spec import LoadOptions, load_project
    from runtime.images import ImageStore

    roots = StateRoots.from_environ()
    options = LoadOptions(project_flag=sys.argv[1])
    project = load_project([Path("compose.yaml")], shell=os.environ, warn=print, options=options)
    if sys.argv[2] == "cancel":
        sys.exit(3)
    if sys.argv[2] == "vanish":  # a command killed right after it handed the project over
        from orchestrator import network_server
        network_server.serve_network = lambda *args: None
    store = ImageStore(roots.images)
    images = {s.name: store.resolve(s.image) for s in project.services}
    sys.exit(supervisor.start(project, images, [], roots.project(project.name)))
"""


def _early_up(corral: Corral, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", EARLY_UP, corral.project, mode],
        cwd=corral.workdir,
        env=corral.env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )


def test_a_supervisor_forked_before_the_file_is_read_runs_the_stack(corral: Corral) -> None:
    corral.write(WEB_AND_CLIENT)
    result = _early_up(corral, "start")
    assert (result.returncode, result.stdout) == (0, f"project {corral.project} is up\n")
    rows = corral.ps()
    assert {row["State"] for row in rows.values()} == {"running"}
    fetched = corral("exec", "client", "sh", "-c", FETCH_WEB)
    assert fetched.stdout == "hello-from-web\n"
    _down(corral)


def test_a_supervisor_forked_early_and_never_started_leaves_nothing(corral: Corral) -> None:
    corral.write(WEB_AND_CLIENT)
    result = _early_up(corral, "cancel")
    assert result.returncode == 3, result.stderr
    assert corral.leftovers() == []
    assert corral("ps").stdout.splitlines()[1:] == []


def test_an_early_supervisor_reports_a_failed_start(corral: Corral) -> None:
    corral.write(
        """
services:
  app:
    image: busybox
    command: ["true"]
    user: nobody-here
"""
    )
    result = _early_up(corral, "start")
    assert result.returncode == 1
    assert "user 'nobody-here' is not in the image's /etc/passwd" in result.stderr
    assert corral.leftovers() == []


def test_a_network_that_cannot_be_made_fails_up_and_leaves_nothing(corral: Corral) -> None:
    """In `up -d` the command makes the network for its supervisor: its
    failure reaches the user the same way, and the stack is taken down."""
    corral.write(WEB_AND_CLIENT)
    bridge = link_name("b", f"{corral.project}/default")
    subprocess.run(["ip", "link", "add", bridge, "type", "veth", "peer", "name", f"{bridge}p"],
                   check=True)  # fmt: skip
    try:
        result = corral("up", "-d")
    finally:
        subprocess.run(["ip", "link", "del", bridge], check=True)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"corral: network default: cannot reuse link {bridge}: it is a veth, not a bridge\n"
    )
    assert corral.leftovers() == []


def test_a_container_whose_root_cannot_be_made_fails_up_and_leaves_nothing(
    corral: Corral,
) -> None:
    """Every container's root filesystem and bundle are made before the plan
    is: a failure there is reported as any failure to start, and whatever
    the other containers had made is removed."""
    corral.write(
        """
services:
  web:
    image: busybox
    command: [sleep, "1000"]
  silent:
    image: busybox
"""
    )
    result = corral("up", "-d")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"corral: container {corral.project}-silent-1: service 'silent' has no command"
        " and its image none either\n"
    )
    assert corral.leftovers() == []
    assert not (corral.run_root / corral.project).exists()


def test_a_command_gone_before_the_network_is_made_leaves_nothing(corral: Corral) -> None:
    corral.write(WEB_AND_CLIENT)
    result = _early_up(corral, "vanish")
    assert result.returncode == 1
    assert result.stderr.endswith(
        "orchestrator.errors.CorralError: cannot set up the network (networks_in_use):"
        " the corral command making it exited\n"
    )
    assert corral.leftovers() == []


HEALTH_CHECKED = """
x-idle: &idle
  image: busybox
  command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
services:
  passing:
    <<: *idle
    healthcheck: {test: ["CMD", "true"], interval: 1s}
  failing:
    <<: *idle
    healthcheck: {test: ["CMD-SHELL", "exit 1"], interval: 1s, retries: 2}
  hanging:
    <<: *idle
    healthcheck: {test: ["CMD", "sleep", "999"], interval: 1s, timeout: 1s, retries: 2}
  unchecked:
    <<: *idle
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_health_checks_run_in_the_containers_and_show_in_ps(corral: Corral) -> None:
    corral.write(HEALTH_CHECKED)
    _up(corral)
    rows = corral.wait_for(
        lambda r: (
            (r["passing"]["Health"], r["failing"]["Health"], r["hanging"]["Health"])
            == ("healthy", "unhealthy", "unhealthy")
        )
    )
    assert rows["unchecked"]["Health"] == ""
    assert {row["State"] for row in rows.values()} == {"running"}
    # A probe past its timeout was killed in the container: of the two that
    # made `hanging` unhealthy none is left, at most the next one runs.
    probes = corral("exec", "hanging", "pgrep", "-f", "sleep 99[9]")
    assert len(probes.stdout.split()) <= 1, probes.stdout
    _down(corral)
