"""What makes up a project: interpolation, .env and env files, extends,
include, profiles, and keys Corral does not run yet."""

from pathlib import Path

import pytest

from orchestrator.errors import SpecError
from orchestrator.spec.render import service_data
from tests.unit.orchestrator.spec.compose_files import load_files


def test_values_are_interpolated_keys_are_not(tmp_path: Path) -> None:
    files = {
        "compose.yaml": """
            services:
              web:
                image: ${IMAGE:-alpine}:${TAG-3}
                environment:
                  $$KEY: "${GREETING:+hello} $$HOME"
        """
    }
    web = load_files(tmp_path, files, shell={"GREETING": "x"}).service("web")
    assert web.image == "alpine:3"
    assert web.environment == (("$$KEY", "hello $HOME"),)


def test_a_variable_used_but_not_set_is_warned_of_once_as_compose_does(tmp_path: Path) -> None:
    files = {
        "compose.yaml": """
            services:
              web:
                image: alpine:3${TAG}
                command: [echo, "$GREETING", "${TAG}", "${SET}", "${OPTIONAL:-x}", "${O2-y}"]
        """
    }
    warnings: list[str] = []
    web = load_files(tmp_path, files, shell={"SET": "1"}, warnings=warnings).service("web")
    assert web.image == "alpine:3"
    assert warnings == [
        'the "TAG" variable is not set; it reads as an empty string',
        'the "GREETING" variable is not set; it reads as an empty string',
    ]


def test_dotenv_fills_variables_and_the_shell_wins(tmp_path: Path) -> None:
    files = {
        ".env": "IMAGE=from-dotenv\nTAG=1\n",
        "compose.yaml": "services:\n  web:\n    image: ${IMAGE}:${TAG}\n",
    }
    web = load_files(tmp_path, files, use=("compose.yaml",), shell={"TAG": "2"}).service("web")
    assert web.image == "from-dotenv:2"


def test_env_files_given_replace_dotenv_and_later_ones_win(tmp_path: Path) -> None:
    files = {
        ".env": "IMAGE=dotenv\n",
        "a.env": "IMAGE=a\nTAG=a\n",
        "b.env": "TAG=b\n",
        "compose.yaml": "services:\n  web:\n    image: ${IMAGE:-none}:${TAG}\n",
    }
    web = load_files(
        tmp_path, files, use=("compose.yaml",), env_files=(tmp_path / "a.env", tmp_path / "b.env")
    ).service("web")
    assert web.image == "a:b"


def test_compose_disable_env_file_skips_dotenv(tmp_path: Path) -> None:
    files = {
        ".env": "IMAGE=dotenv\n",
        "compose.yaml": "services:\n  web:\n    image: ${IMAGE:-x}\n",
    }
    shell = {"COMPOSE_DISABLE_ENV_FILE": "1"}
    assert (
        load_files(tmp_path, files, use=("compose.yaml",), shell=shell).service("web").image == "x"
    )


def test_a_required_variable_names_itself_file_line_and_key(tmp_path: Path) -> None:
    files = {"compose.yaml": "services:\n  web:\n    image: ${IMAGE:?set IMAGE in .env}\n"}
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files)
    assert str(caught.value) == (
        f"{tmp_path / 'compose.yaml'}:3:5: services.web.image: "
        "required variable IMAGE is missing a value: set IMAGE in .env"
    )


def test_no_interpolate_keeps_the_text(tmp_path: Path) -> None:
    files = {"compose.yaml": "services:\n  web:\n    image: ${IMAGE:?unset}\n"}
    assert load_files(tmp_path, files, interpolate=False).service("web").image == "${IMAGE:?unset}"


def test_service_env_file_then_environment(tmp_path: Path) -> None:
    files = {
        "compose.yaml": """
            services:
              web:
                image: alpine
                env_file:
                  - web.env
                  - path: missing.env
                    required: false
                environment:
                  B: from-environment
        """,
        "web.env": "A=1\nB=from-file\n",
    }
    web = load_files(tmp_path, files, use=("compose.yaml",)).service("web")
    assert web.environment == (("A", "1"), ("B", "from-environment"))


def test_a_missing_required_env_file_is_an_error(tmp_path: Path) -> None:
    files = {"compose.yaml": "services:\n  web:\n    image: alpine\n    env_file: nope.env\n"}
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files)
    assert str(caught.value) == (
        f"{tmp_path / 'compose.yaml'}:4:5: services.web.env_file: {tmp_path / 'nope.env'}: "
        "no such file"
    )


@pytest.mark.parametrize("required", ["true", "false"])
def test_an_env_file_that_is_a_directory_is_an_error_even_if_optional(
    tmp_path: Path, required: str
) -> None:
    (tmp_path / "conf.env").mkdir()
    files = {
        "compose.yaml": "services:\n  web:\n    image: alpine\n    env_file:\n"
        f"      - path: conf.env\n        required: {required}\n"
    }
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files)
    assert str(caught.value) == (
        f"{tmp_path / 'compose.yaml'}:4:5: services.web.env_file: cannot read "
        f"{tmp_path / 'conf.env'}: Is a directory"
    )


def test_a_dotenv_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"A=1\nB=caf\xe9\n")
    files = {"compose.yaml": "services:\n  web:\n    image: alpine\n"}
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files, use=("compose.yaml",))
    assert str(caught.value) == (f"{tmp_path / '.env'}:2:6: not UTF-8 text")


def test_a_service_env_file_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "web.env").write_bytes(b"\xff\n")
    files = {"compose.yaml": "services:\n  web:\n    image: alpine\n    env_file: web.env\n"}
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files)
    assert str(caught.value) == (
        f"{tmp_path / 'compose.yaml'}:4:5: services.web.env_file: {tmp_path / 'web.env'}:1:1: "
        "not UTF-8 text"
    )


def test_extends_in_the_same_file_and_a_chain_from_another(tmp_path: Path) -> None:
    files = {
        "compose.yaml": """
            services:
              base:
                image: alpine
                environment: [A=1]
              web:
                extends: base
                environment: [B=2]
              worker:
                extends:
                  file: common/worker.yaml
                  service: worker
                command: [run]
        """,
        "common/worker.yaml": """
            services:
              root:
                image: busybox
                env_file: [root.env]
              worker:
                extends: root
                user: nobody
                command: [idle]
        """,
        "common/root.env": "FROM_ROOT=yes\n",
    }
    project = load_files(tmp_path, files, use=("compose.yaml",))
    assert project.service("web").environment == (("A", "1"), ("B", "2"))
    worker = project.service("worker")
    assert (worker.image, worker.user, worker.command) == ("busybox", "nobody", ("run",))
    assert worker.environment == (("FROM_ROOT", "yes"),)  # env_file relative to common/


def test_an_extends_cycle_is_named(tmp_path: Path) -> None:
    files = {
        "compose.yaml": """
            services:
              a: {image: x, extends: b}
              b: {image: x, extends: a}
        """
    }
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files)
    assert str(caught.value) == (
        f"{tmp_path / 'compose.yaml'}:2:17: services.a.extends: extends cycle: a -> b -> a\n"
        f"{tmp_path / 'compose.yaml'}:3:17: services.b.extends: extends cycle: b -> a -> b"
    )


def test_extends_of_an_undefined_service(tmp_path: Path) -> None:
    files = {"compose.yaml": "services:\n  web:\n    extends: nothing\n"}
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files)
    assert str(caught.value).startswith(
        f"{tmp_path / 'compose.yaml'}:3:5: services.web.extends: "
        "extends undefined service 'nothing'"
    )


def test_include_adds_a_project_with_its_own_directory_and_env(tmp_path: Path) -> None:
    files = {
        "compose.yaml": """
            include:
              - db/compose.yaml
            services:
              web:
                image: alpine
                depends_on: [db]
        """,
        "db/compose.yaml": """
            services:
              db:
                image: postgres:${PG_VERSION}
                volumes: [./data:/var/lib/postgresql/data]
        """,
        "db/.env": "PG_VERSION=16\n",
    }
    project = load_files(tmp_path, files, use=("compose.yaml",))
    db = project.service("db")
    assert db.image == "postgres:16"
    assert db.volumes[0].source == str(tmp_path / "db" / "data")


def test_an_included_service_clashing_with_ours_is_an_error(tmp_path: Path) -> None:
    files = {
        "compose.yaml": "include: [other.yaml]\nservices:\n  web:\n    image: a\n",
        "other.yaml": "services:\n  web:\n    image: b\n",
    }
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files, use=("compose.yaml",))
    assert str(caught.value) == (
        f"{tmp_path / 'compose.yaml'}:3:3: services.web: is also defined by the included "
        f"{tmp_path / 'other.yaml'}"
    )


def test_an_include_cycle_is_named(tmp_path: Path) -> None:
    files = {
        "compose.yaml": "include: [a.yaml]\nservices:\n  web:\n    image: a\n",
        "a.yaml": "include: [compose.yaml]\nservices:\n  x:\n    image: a\n",
    }
    with pytest.raises(SpecError, match=r"include cycle: compose.yaml -> a.yaml -> compose.yaml"):
        load_files(tmp_path, files, use=("compose.yaml",))


def test_an_extends_chain_too_long_to_follow_is_one_problem(tmp_path: Path) -> None:
    n = 150
    text = "services:\n" + "".join(
        f"  s{i}:\n    image: a\n    extends: s{i + 1}\n" for i in range(n)
    )
    files = {"compose.yaml": text + f"  s{n}:\n    image: a\n"}
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files)
    assert str(caught.value) == (
        f"{tmp_path / 'compose.yaml'}:4:5: services.s0.extends: "
        "the extends chain goes through more than 100 services"
    )


def test_an_unknown_key_in_extends_is_named(tmp_path: Path) -> None:
    files = {
        "compose.yaml": "services:\n  base:\n    image: a\n  web:\n"
        "    extends: {service: base, fle: other.yaml}\n"
    }
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files)
    assert str(caught.value) == (
        f"{tmp_path / 'compose.yaml'}:5:30: services.web.extends.fle: unknown key; "
        "expected file, service"
    )


_BAD_INCLUDE = (
    ":1:11: include[0]: path must be a path or a list of paths, env_file the same or none,"
    " project_directory a path"
)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("{path: other.yaml, project_directory: 5}", _BAD_INCLUDE),
        ("{path: []}", _BAD_INCLUDE),
        ("{path: 5}", _BAD_INCLUDE),
        ("{path: other.yaml, env_file: {a: b}}", _BAD_INCLUDE),
        (
            "{path: other.yaml, bogus: 1}",
            ":1:30: include[0].bogus: unknown key; expected env_file, path, project_directory",
        ),
    ],
)
def test_a_malformed_include_entry_is_one_problem(tmp_path: Path, entry: str, problem: str) -> None:
    files = {
        "compose.yaml": f"include: [{entry}]\nservices:\n  web:\n    image: a\n",
        "other.yaml": "services:\n  x:\n    image: b\n",
    }
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files, use=("compose.yaml",))
    assert str(caught.value) == f"{tmp_path / 'compose.yaml'}{problem}"


PROFILED = {
    "compose.yaml": """
        services:
          web: {image: a}
          debug: {image: a, profiles: [debug]}
          admin: {image: a, profiles: [admin, ops], depends_on: [db]}
          db: {image: a, profiles: [ops]}
    """
}


@pytest.mark.parametrize(
    ("profiles", "shell", "named", "running"),
    [
        pytest.param((), {}, (), ["web"], id="only-services-without-profiles"),
        pytest.param(("debug",), {}, (), ["web", "debug"], id="profile-flag"),
        pytest.param((), {"COMPOSE_PROFILES": "ops, debug"}, (), ["web", "debug", "admin", "db"],
                     id="compose-profiles-variable"),
        pytest.param(("*",), {}, (), ["web", "debug", "admin", "db"], id="star-enables-all"),
        pytest.param((), {}, ("debug",), ["web", "debug"], id="named-service-enables-its-profile"),
    ],
)  # fmt: skip
def test_profiles_select_services(
    tmp_path: Path,
    profiles: tuple[str, ...],
    shell: dict[str, str],
    named: tuple[str, ...],
    running: list[str],
) -> None:
    project = load_files(tmp_path, PROFILED, shell=shell, profiles=profiles, services=named)
    assert [s.name for s in project.services] == running
    assert project.profiles == ("admin", "debug", "ops")


def test_a_dependency_switched_off_by_profiles_says_which_to_enable(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, PROFILED, profiles=("admin",))
    assert str(caught.value) == (
        f"{tmp_path / 'compose.yaml'}:4:45: services.admin.depends_on: depends on 'db', whose "
        "profiles (ops) are not active; add --profile ops"
    )


def test_a_key_corral_does_not_run_is_a_warning_or_with_strict_an_error(tmp_path: Path) -> None:
    files = {"compose.yaml": "services:\n  web:\n    image: a\n    ports: ['80:80']\n"}
    warnings: list[str] = []
    web = load_files(tmp_path, files, warnings=warnings).service("web")
    message = "services.web.ports: Corral does not run this key yet; it is ignored"
    assert warnings == [f"{tmp_path / 'compose.yaml'}:4:5: {message}"]
    assert service_data(web)["ports"] == [
        {"target": 80, "published": "80", "protocol": "tcp", "mode": "ingress"}
    ]
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files, strict=True)
    assert str(caught.value) == f"{tmp_path / 'compose.yaml'}:4:5: {message}"


def test_every_problem_of_the_files_is_reported_together(tmp_path: Path) -> None:
    files = {
        "compose.yaml": """
            services:
              web:
                image: a
                cpus: lots
                ports: ['70000:80']
                networks: [back]
              db:
                imag: typo
        """
    }
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files)
    path = tmp_path / "compose.yaml"
    assert str(caught.value).splitlines() == [
        f"{path}:4:5: services.web.cpus: 'lots' is not a number of CPUs such as 0.5 or 2",
        f"{path}:5:13: services.web.ports[0]: '70000' is not a port number (1-65535)",
        f"{path}:8:5: services.db.imag: unknown key",
        f"{path}:7:3: services.db: needs an image (or a build section)",
        f"{path}:6:5: services.web.networks: "
        "network 'back' is not defined under the top-level networks",
    ]


def test_deploy_is_typed_and_rendered(tmp_path: Path) -> None:
    files = {
        "compose.yaml": """
            services:
              web:
                image: a
                deploy:
                  replicas: 2
                  resources:
                    limits: {cpus: '0.5', memory: 512M, pids: 100}
                    reservations:
                      devices: [{capabilities: [gpu], count: all}]
                  restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3}
        """
    }
    web = load_files(tmp_path, files).service("web")
    assert web.deploy is not None
    assert web.deploy.limits is not None
    assert (web.deploy.replicas, web.deploy.limits.memory) == (2, 512 * 1024 * 1024)
    assert service_data(web)["deploy"] == {
        "replicas": 2,
        "limits": {"cpus": 0.5, "memory": 536870912, "pids": 100},
        "reservations": {"devices": [{"capabilities": ["gpu"], "count": "all"}]},
        "restart_policy": {"condition": "on-failure", "delay": "5s", "max_attempts": 3},
    }


def test_a_bad_deploy_value_names_the_nested_key(tmp_path: Path) -> None:
    files = {
        "compose.yaml": """
            services:
              web:
                image: a
                deploy:
                  restart_policy: {condition: sometimes}
        """
    }
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files)
    assert str(caught.value) == (
        f"{tmp_path / 'compose.yaml'}:5:24: services.web.deploy.restart_policy.condition: "
        "'sometimes' is not one of none, on-failure, any"
    )


def test_the_keys_corral_only_keeps_are_typed_too(tmp_path: Path) -> None:
    files = {
        "compose.yaml": """
            services:
              web:
                image: a
                blkio_config:
                  weight: 300
                  device_read_bps: [{path: /dev/sda, rate: 12mb}]
                credential_spec: {file: spec.json}
                develop:
                  watch: [{path: ./src, action: sync, target: /app, ignore: [node_modules]}]
                gpus: all
                models: [llm]
                provider: {type: awesomecloud, options: {type: mysql}}
        """
    }
    data = service_data(load_files(tmp_path, files).service("web"))
    assert data["blkio_config"] == {
        "weight": 300,
        "device_read_bps": [{"path": "/dev/sda", "rate": 12 * 1024 * 1024}],
    }
    assert data["credential_spec"] == {"file": "spec.json"}
    assert data["develop"] == {
        "watch": [{"path": "./src", "action": "sync", "target": "/app", "ignore": ["node_modules"]}]
    }
    assert (data["gpus"], data["models"]) == ("all", [{"name": "llm"}])
    assert data["provider"] == {"type": "awesomecloud", "options": {"type": "mysql"}}


def test_a_bad_watch_action_names_the_nested_key(tmp_path: Path) -> None:
    files = {
        "compose.yaml": """
            services:
              web:
                image: a
                develop:
                  watch:
                    - {path: ./src, action: copy}
        """
    }
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files)
    assert str(caught.value) == (
        f"{tmp_path / 'compose.yaml'}:6:25: services.web.develop.watch[0].action: 'copy' is not "
        "one of rebuild, restart, sync, sync+restart, sync+exec"
    )


def test_a_service_switched_off_by_profiles_gives_no_warning(tmp_path: Path) -> None:
    files = {
        "compose.yaml": """
            services:
              web: {image: a}
              debug: {image: a, profiles: [debug], ports: ['9229:9229']}
        """
    }
    warnings: list[str] = []
    load_files(tmp_path, files, warnings=warnings)
    assert warnings == []
    load_files(tmp_path, files, warnings=warnings, profiles=("debug",))
    assert warnings == [
        f"{tmp_path / 'compose.yaml'}:3:40: services.debug.ports: "
        "Corral does not run this key yet; it is ignored"
    ]
