"""load_project: the supported subset of Compose, and every way a file is refused."""

import re
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import CorralError, Problem, SpecError
from orchestrator.spec import (
    NetworkSpec,
    ProjectSpec,
    RestartMode,
    RestartPolicy,
    ServiceSpec,
    load_project,
)


def write(directory: Path, text: str, name: str = "compose.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(
    *files: Path,
    shell: Mapping[str, str] | None = None,
    project_flag: str | None = None,
    warnings: list[str] | None = None,
) -> ProjectSpec:
    sink: list[str] = [] if warnings is None else warnings
    return load_project(list(files), project_flag=project_flag, shell=shell or {}, warn=sink.append)


def load_service(directory: Path, body: str, shell: Mapping[str, str] | None = None) -> ServiceSpec:
    """Load a file whose only service `web` has image alpine plus `body`."""
    indented = textwrap.indent(textwrap.dedent(body).strip("\n"), " " * 4)
    text = f"services:\n  web:\n    image: alpine\n{indented}\n"
    (directory / "compose.yaml").write_text(text, encoding="utf-8")
    return load(directory / "compose.yaml", shell=shell).service("web")


def spec_error(path: Path, *lines: str) -> str:
    """The exact message of a SpecError: `path` then each problem line."""
    return "^" + "\n".join(re.escape(f"{path}{line}") for line in lines) + "$"


# --- keys that are parsed ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("command: echo hello world", ("echo", "hello", "world")),
        ("command: sh -c 'echo \"a b\"; exit 3'", ("sh", "-c", 'echo "a b"; exit 3')),
        ('command: ["sh", "-c", "exec \\"$0\\""]', ("sh", "-c", 'exec "$0"')),
        ("command: [sleep, 10, 2.5]", ("sleep", "10", "2.5")),
        ("command: ''", ()),
        ("command: []", ()),
    ],
)
def test_command_is_split_like_a_shell_or_taken_as_a_list(
    tmp_path: Path, body: str, expected: tuple[str, ...]
) -> None:
    assert load_service(tmp_path, body).command == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("entrypoint: /docker-entrypoint.sh --verbose", ("/docker-entrypoint.sh", "--verbose")),
        ("entrypoint: [/bin/sh, -c]", ("/bin/sh", "-c")),
    ],
)
def test_entrypoint_is_split_like_a_shell_or_taken_as_a_list(
    tmp_path: Path, body: str, expected: tuple[str, ...]
) -> None:
    assert load_service(tmp_path, body).entrypoint == expected


def test_a_service_without_command_or_entrypoint_keeps_the_images(tmp_path: Path) -> None:
    service = load_service(tmp_path, "hostname: h")
    assert service.command is None
    assert service.entrypoint is None


@pytest.mark.parametrize(
    "body",
    [
        """
        environment:
          - A=1
          - B=x=y
          - EMPTY=
          - FROM_SHELL
          - UNSET
        """,
        """
        environment:
          A: 1
          B: x=y
          EMPTY: ''
          FROM_SHELL:
          UNSET:
        """,
    ],
    ids=["list", "mapping"],
)
def test_environment_in_list_and_mapping_form(tmp_path: Path, body: str) -> None:
    service = load_service(tmp_path, body, shell={"FROM_SHELL": "from the shell"})
    assert service.environment == (
        ("A", "1"),
        ("B", "x=y"),
        ("EMPTY", ""),
        ("FROM_SHELL", "from the shell"),
    )


def test_environment_scalars_in_a_mapping_become_text(tmp_path: Path) -> None:
    body = """
    environment:
      ENABLED: true
      DISABLED: false
      COUNT: 1
      RATIO: 0.5
      NAME: plain
    """
    assert load_service(tmp_path, body).environment == (
        ("ENABLED", "true"),
        ("DISABLED", "false"),
        ("COUNT", "1"),
        ("RATIO", "0.5"),
        ("NAME", "plain"),
    )


def test_yaml_1_1_words_stay_text_as_in_compose(tmp_path: Path) -> None:
    body = """
    command: [echo, yes]
    environment:
      FLAG: on
      ANSWER: yes
      ON: 1
    """
    service = load_service(tmp_path, body)
    assert service.command == ("echo", "yes")
    assert service.environment == (("FLAG", "on"), ("ANSWER", "yes"), ("ON", "1"))


def test_environment_listed_twice_keeps_the_last_value(tmp_path: Path) -> None:
    body = """
    environment:
      - A=first
      - B=b
      - A=second
    """
    assert load_service(tmp_path, body).environment == (("A", "second"), ("B", "b"))


@pytest.mark.parametrize(
    ("body", "field", "expected"),
    [
        ("working_dir: /srv/app", "working_dir", "/srv/app"),
        ("user: nobody:nogroup", "user", "nobody:nogroup"),
        ("user: 1000", "user", "1000"),
        ("hostname: www", "hostname", "www"),
    ],
)
def test_plain_string_keys(tmp_path: Path, body: str, field: str, expected: str) -> None:
    assert getattr(load_service(tmp_path, body), field) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("restart: no", RestartPolicy(RestartMode.NO)),
        ("restart: 'no'", RestartPolicy(RestartMode.NO)),
        ("restart: always", RestartPolicy(RestartMode.ALWAYS)),
        ("restart: on-failure", RestartPolicy(RestartMode.ON_FAILURE)),
        ("restart: on-failure:3", RestartPolicy(RestartMode.ON_FAILURE, 3)),
        ("restart: on-failure:0", RestartPolicy(RestartMode.ON_FAILURE, 0)),
        ("restart: unless-stopped", RestartPolicy(RestartMode.UNLESS_STOPPED)),
    ],
)
def test_restart_policies(tmp_path: Path, body: str, expected: RestartPolicy) -> None:
    assert load_service(tmp_path, body).restart == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("sometimes", "'sometimes' is not one of no, always, on-failure[:N], unless-stopped"),
        ("'on_failure'", "'on_failure' is not one of no, always, on-failure[:N], unless-stopped"),
        ("always:3", "'always:3': only on-failure takes a count, as on-failure:3"),
        ("on-failure:x", "'on-failure:x': only on-failure takes a count, as on-failure:3"),
        ("on-failure:-1", "'on-failure:-1': only on-failure takes a count, as on-failure:3"),
        ("yes", "'yes' is not one of no, always, on-failure[:N], unless-stopped"),
        ("3", "must be one of no, always, on-failure[:N], unless-stopped"),
    ],
)
def test_bad_restart_values(tmp_path: Path, value: str, message: str) -> None:
    path = write(tmp_path, f"services:\n  web:\n    image: alpine\n    restart: {value}\n")
    with pytest.raises(SpecError, match=spec_error(path, f":4: services.web.restart: {message}")):
        load(path)


def test_defaults_of_a_minimal_service(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  web:\n    image: alpine\n")
    service = load(path).service("web")
    assert service.image == "alpine"
    assert service.environment == ()
    assert (service.working_dir, service.user, service.hostname) == (None, None, None)
    assert service.restart == RestartPolicy(RestartMode.NO)
    assert service.depends_on == ()
    assert service.networks == ("default",)
    assert service.stop_signal == "SIGTERM"
    assert service.stop_grace_period == 10.0
    assert service.location is not None
    assert (service.location.file, service.location.line) == (path, 2)
    assert service.image_location is not None
    assert (service.image_location.file, service.image_location.line) == (path, 3)


def test_depends_on_list(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        services:
          web:
            image: nginx
            depends_on: [db, cache]
          db:
            image: postgres
          cache:
            image: redis
        """,
    )
    project = load(path)
    assert project.service("web").depends_on == ("db", "cache")
    assert project.service("db").depends_on == ()
    assert [s.name for s in project.services] == ["web", "db", "cache"]


def test_networks_list_and_default_network(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        services:
          web:
            image: nginx
            networks: [front, back]
          db:
            image: postgres
            networks: [back]
          tool:
            image: alpine
        networks:
          front:
          back: {}
          unused:
        """,
    )
    project = load(path)
    assert project.service("web").networks == ("front", "back")
    assert project.service("db").networks == ("back",)
    assert project.service("tool").networks == ("default",)
    # default first, then the file's order; a network no service uses is not made
    assert project.networks == (NetworkSpec("default"), NetworkSpec("front"), NetworkSpec("back"))


def test_no_default_network_when_every_service_names_its_networks(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        services:
          web:
            image: nginx
            networks: [front]
        networks:
          front:
        """,
    )
    assert load(path).networks == (NetworkSpec("front"),)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("SIGINT", "SIGINT"),
        ("SIGUSR1", "SIGUSR1"),
        ("QUIT", "SIGQUIT"),
        ("sighup", "SIGHUP"),
        ("kill", "SIGKILL"),
        ("9", "SIGKILL"),
        ("15", "SIGTERM"),
        ("2", "SIGINT"),
    ],
)
def test_stop_signal_names_and_numbers(tmp_path: Path, value: str, expected: str) -> None:
    assert load_service(tmp_path, f"stop_signal: {value}").stop_signal == expected


def test_stop_signal_number_given_as_a_string(tmp_path: Path) -> None:
    assert load_service(tmp_path, "stop_signal: '9'").stop_signal == "SIGKILL"


@pytest.mark.parametrize(
    ("value", "shown"),
    [("SIGFOO", "'SIGFOO'"), ("foo", "'foo'"), ("0", "0"), ("999", "999"), ("true", "True")],
)
def test_bad_stop_signal(tmp_path: Path, value: str, shown: str) -> None:
    path = write(tmp_path, f"services:\n  web:\n    image: alpine\n    stop_signal: {value}\n")
    message = f":4: services.web.stop_signal: {shown} is not a signal name such as SIGTERM"
    with pytest.raises(SpecError, match=spec_error(path, message)):
        load(path)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("10s", 10.0), ("1m30s", 90.0), ("500ms", 0.5), ("0s", 0.0), ("3", 3.0), ("1.5", 1.5)],
)
def test_stop_grace_period(tmp_path: Path, value: str, seconds: float) -> None:
    assert load_service(tmp_path, f"stop_grace_period: {value}").stop_grace_period == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ten", "'ten' is not a duration such as 10s, 1m30s or 500ms"),
        ("10 s", "'10 s' is not a duration such as 10s, 1m30s or 500ms"),
        ("-1", "-1 is negative"),
        ("true", "True is not a duration"),
    ],
)
def test_bad_stop_grace_period(tmp_path: Path, value: str, message: str) -> None:
    path = write(
        tmp_path, f"services:\n  web:\n    image: alpine\n    stop_grace_period: {value}\n"
    )
    expected = spec_error(path, f":4: services.web.stop_grace_period: {message}")
    with pytest.raises(SpecError, match=expected):
        load(path)


# --- what YAML itself offers --------------------------------------------------------


def test_extension_keys_are_ignored_at_every_level(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        x-common:
          anything: [1, 2]
        services:
          web:
            image: alpine
            x-note: not run
        """,
    )
    assert load(path).service("web").image == "alpine"


def test_anchors_aliases_and_merge_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        x-env: &env
          LEVEL: debug
        x-base: &base
          image: alpine
          restart: always
          environment: *env
        services:
          web:
            <<: *base
            command: [serve]
          worker:
            <<: *base
            command: [work]
        """,
    )
    project = load(path)
    for name, command in (("web", ("serve",)), ("worker", ("work",))):
        service = project.service(name)
        assert service.image == "alpine"
        assert service.restart == RestartPolicy(RestartMode.ALWAYS)
        assert service.environment == (("LEVEL", "debug"),)
        assert service.command == command


def test_merge_key_is_overridden_by_an_explicit_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        x-base: &base
          image: alpine
          restart: always
        services:
          web:
            <<: *base
            restart: "no"
        """,
    )
    service = load(path).service("web")
    assert service.image == "alpine"
    assert service.restart == RestartPolicy(RestartMode.NO)


def test_version_is_ignored_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  web:\n    image: alpine\nversion: '3.8'\n")
    warnings: list[str] = []
    project = load(path, warnings=warnings)
    assert warnings == [f"{path}:4: version is obsolete and ignored"]
    assert project.service("web").image == "alpine"


def test_no_warning_without_version(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  web:\n    image: alpine\n")
    warnings: list[str] = []
    load(path, warnings=warnings)
    assert warnings == []


# --- refused files ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "services:\n  web:\n    image: alpine\n    imgae: busybox\n",
            ":4: services.web.imgae: unknown key",
        ),
        (
            "services:\n  web:\n    image: alpine\n    ports: ['80:80']\n",
            ":4: services.web.ports: is a Compose key that Corral does not run yet",
        ),
        (
            "services:\n  web:\n    image: alpine\n    healthcheck:\n      test: [CMD, 'true']\n",
            ":4: services.web.healthcheck: is a Compose key that Corral does not run yet",
        ),
        (
            "services:\n  web:\n    image: alpine\nvolumes:\n  data:\n",
            ":4: volumes: is a Compose key that Corral does not run yet",
        ),
        (
            "services:\n  web:\n    image: alpine\nservice:\n  db: {}\n",
            ":4: service: unknown key",
        ),
        (
            "services:\n  web:\n    image: alpine\n   command: x\n",
            ":4: invalid YAML: expected <block end>, but found '<block mapping start>'",
        ),
        (
            "services:\n  web:\n    image: alpine\n    image: busybox\n",
            ":4: duplicate key 'image' in one mapping",
        ),
        (
            "services:\n  web:\n    image: alpine\n  web:\n    image: busybox\n",
            ":4: duplicate key 'web' in one mapping",
        ),
        (
            "services:\n  web:\n    command: [serve]\n",
            ":3: services.web.image: every service needs an image (build is not supported)",
        ),
        (
            "services:\n  web:\n    image: ''\n",
            ":3: services.web.image: every service needs an image (build is not supported)",
        ),
        ("- services\n", ":1: a Compose file must be a mapping with a services key"),
        ("", ":1: a Compose file must be a mapping with a services key"),
        ("name: shop\n", ":1: services: must name at least one service"),
        ("services: {}\n", ":1: services: must name at least one service"),
        ("services:\n  web: alpine\n", ":2: services.web: must be a mapping"),
        (
            "services:\n  _web:\n    image: alpine\n",
            ":2: services._web: a service name may hold only letters, digits, '_', '.', '-'",
        ),
        (
            'services:\n  web:\n    image: alpine\n    command: "echo \'x"\n',
            ':4: services.web.command: cannot split "echo \'x" into words: No closing quotation',
        ),
        (
            "services:\n  web:\n    image: alpine\n    entrypoint: {sh: x}\n",
            ":4: services.web.entrypoint: must be a string or a list of strings",
        ),
        (
            "services:\n  web:\n    image: alpine\n    working_dir: [a]\n",
            ":4: services.web.working_dir: must be a string",
        ),
        (
            "services:\n  web:\n    image: alpine\n    environment: A=1\n",
            ":4: services.web.environment: must be a mapping or a list of NAME=value",
        ),
        (
            "services:\n  web:\n    image: alpine\n    environment:\n      A: [1]\n",
            ":5: services.web.environment.A: must be a scalar",
        ),
        (
            "services:\n  web:\n    image: alpine\n    environment:\n      - 5\n",
            ":5: services.web.environment: entry 5 must be a string NAME=value",
        ),
        (
            "services:\n  web:\n    image: alpine\n    environment:\n      - 'A B=1'\n",
            ":4: services.web.environment: 'A B' is not a valid variable name",
        ),
        (
            "services:\n  web:\n    image: alpine\n    depends_on:\n      db:\n"
            "        condition: service_started\n  db:\n    image: postgres\n",
            ":4: services.web.depends_on: the long (mapping) form is not supported yet; use a list",
        ),
        (
            "services:\n  web:\n    image: alpine\n    networks: front\n",
            ":4: services.web.networks: must be a list of names",
        ),
        (
            "services:\n  web:\n    image: alpine\n    depends_on: [db]\n",
            ":2: services.web.depends_on: depends on undefined service 'db'",
        ),
        (
            "services:\n  web:\n    image: alpine\n    networks: [back]\n",
            ":2: services.web.networks: network 'back' is not defined under the top-level networks",
        ),
        (
            "services:\n  web:\n    image: alpine\nnetworks:\n  front:\n    driver: bridge\n",
            ":5: networks.front: network options are not supported yet; leave the entry empty",
        ),
        (
            "services:\n  web:\n    image: alpine\nnetworks: [front]\n",
            ":4: networks: must be a mapping",
        ),
    ],
)
def test_refused_file_names_file_line_and_key(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SpecError, match=spec_error(path, problem)) as caught:
        load(path)
    assert len(caught.value.problems) == 1


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    with pytest.raises(
        SpecError, match=spec_error(path, ": cannot read: No such file or directory")
    ):
        load(path)


def test_a_spec_error_is_a_corral_error(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  web:\n    imgae: alpine\n")
    with pytest.raises(CorralError):
        load(path)


@pytest.mark.parametrize(
    ("dependencies", "cycle"),
    [
        ({"a": "[b]", "b": "[a]"}, "a -> b -> a"),
        ({"a": "[a]", "b": "[]"}, "a -> a"),
        ({"a": "[b]", "b": "[c]", "c": "[b]"}, "b -> c -> b"),
        ({"a": "[b]", "b": "[c]", "c": "[a]"}, "a -> b -> c -> a"),
    ],
)
def test_dependency_cycle(tmp_path: Path, dependencies: dict[str, str], cycle: str) -> None:
    text = "services:\n" + "".join(
        f"  {name}:\n    image: alpine\n    depends_on: {deps}\n"
        for name, deps in dependencies.items()
    )
    path = write(tmp_path, text)
    with pytest.raises(
        SpecError, match=spec_error(path, f": depends_on: dependency cycle: {cycle}")
    ):
        load(path)


def test_a_diamond_is_not_a_cycle(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        services:
          web:
            image: alpine
            depends_on: [api, auth]
          api:
            image: alpine
            depends_on: [db]
          auth:
            image: alpine
            depends_on: [db]
          db:
            image: alpine
        """,
    )
    assert load(path).service("web").depends_on == ("api", "auth")


def test_every_problem_is_reported_together_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        volumes:
          data:
        services:
          web:
            image: nginx
            ports: ["80:80"]
            restart: sometimes
            depends_on: [db]
          api:
            command: [serve]
            colour: blue
            networks: [back]
        """,
    )
    with pytest.raises(SpecError) as caught:
        load(path)
    assert caught.value.problems == [
        Problem(path, 1, "volumes", "is a Compose key that Corral does not run yet"),
        Problem(path, 6, "services.web.ports", "is a Compose key that Corral does not run yet"),
        Problem(
            path,
            7,
            "services.web.restart",
            "'sometimes' is not one of no, always, on-failure[:N], unless-stopped",
        ),
        Problem(path, 11, "services.api.colour", "unknown key"),
        Problem(
            path,
            10,
            "services.api.image",
            "every service needs an image (build is not supported)",
        ),
        Problem(path, 4, "services.web.depends_on", "depends on undefined service 'db'"),
        Problem(
            path,
            9,
            "services.api.networks",
            "network 'back' is not defined under the top-level networks",
        ),
    ]
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    assert str(caught.value).splitlines()[0] == (
        f"{path}:1: volumes: is a Compose key that Corral does not run yet"
    )


# --- several files ------------------------------------------------------------------


def test_a_later_file_overrides_keys_and_mappings_merge(tmp_path: Path) -> None:
    base = write(
        tmp_path,
        """
        services:
          web:
            image: nginx:1.25
            command: [nginx, -g, daemon off;]
            environment:
              LEVEL: info
              REGION: eu
          db:
            image: postgres
        """,
    )
    override = write(
        tmp_path,
        """
        services:
          web:
            image: nginx:1.27
            command: [nginx-debug]
            environment:
              LEVEL: debug
              EXTRA: "1"
          cache:
            image: redis
        """,
        name="compose.override.yaml",
    )
    project = load(base, override)
    assert [s.name for s in project.services] == ["web", "db", "cache"]
    web = project.service("web")
    assert web.image == "nginx:1.27"
    assert web.command == ("nginx-debug",)
    assert web.environment == (("LEVEL", "debug"), ("REGION", "eu"), ("EXTRA", "1"))
    assert project.service("db").image == "postgres"
    assert project.files == (base, override)


def test_a_problem_in_a_later_file_names_that_file(tmp_path: Path) -> None:
    base = write(tmp_path, "services:\n  web:\n    image: nginx\n")
    override = write(
        tmp_path, "services:\n  web:\n    image: nginx\n    colour: blue\n", name="override.yaml"
    )
    with pytest.raises(
        SpecError, match=spec_error(override, ":4: services.web.colour: unknown key")
    ):
        load(base, override)


def test_a_syntax_error_in_a_later_file_names_that_file(tmp_path: Path) -> None:
    base = write(tmp_path, "services:\n  web:\n    image: nginx\n")
    override = write(tmp_path, "services:\n  web: [\n", name="override.yaml")
    message = ":3: invalid YAML: expected the node content, but found '<stream end>'"
    with pytest.raises(SpecError, match=spec_error(override, message)):
        load(base, override)


@pytest.mark.xfail(
    strict=True,
    reason="loader.py load_project/_merge: problems found after the merge are all charged "
    "to the last file (problems = _Collector(files[-1])), with the line from the first",
)
def test_a_problem_in_an_earlier_file_names_that_file(tmp_path: Path) -> None:
    base = write(tmp_path, "services:\n  web:\n    image: nginx\n    colour: blue\n")
    override = write(tmp_path, "services:\n  web:\n    image: nginx\n", name="override.yaml")
    with pytest.raises(SpecError, match=spec_error(base, ":4: services.web.colour: unknown key")):
        load(base, override)


@pytest.mark.xfail(
    strict=True,
    reason="loader.py _merge: a sequence of a later file replaces the earlier one; the "
    "Compose Specification (merge rules) appends sequences and merges environment by name",
)
@pytest.mark.parametrize(
    ("base_body", "override_body", "field", "expected"),
    [
        ("environment: [A=1, B=1]", "environment: [B=2]", "environment", (("A", "1"), ("B", "2"))),
        ("networks: [front]", "networks: [back]", "networks", ("front", "back")),
    ],
)
def test_sequences_of_several_files_are_merged_as_compose_does(
    tmp_path: Path, base_body: str, override_body: str, field: str, expected: Any
) -> None:
    networks = "networks:\n  front:\n  back:\n"
    base = write(tmp_path, f"services:\n  web:\n    image: nginx\n    {base_body}\n{networks}")
    override = write(tmp_path, f"services:\n  web:\n    {override_body}\n", name="override.yaml")
    assert getattr(load(base, override).service("web"), field) == expected


def test_a_hostname_with_a_blank_is_a_spec_error(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  web:\n    image: alpine\n    hostname: my host\n")
    with pytest.raises(SpecError) as caught:
        load(path)
    assert [(p.line, p.key) for p in caught.value.problems] == [(4, "services.web.hostname")]


@pytest.mark.parametrize("key", ["networks", "depends_on"])
def test_a_name_listed_twice_is_a_spec_error(tmp_path: Path, key: str) -> None:
    path = write(
        tmp_path,
        f"services:\n  web:\n    image: alpine\n    {key}: [db, db]\n"
        "  db:\n    image: alpine\nnetworks:\n  db:\n",
    )
    with pytest.raises(SpecError) as caught:
        load(path)
    assert [(p.line, p.key) for p in caught.value.problems] == [(4, f"services.web.{key}")]


# --- project name -------------------------------------------------------------------


@pytest.fixture
def shop_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "My Shop.v2"
    directory.mkdir()
    return directory


@pytest.mark.parametrize(
    ("flag", "environ", "top_level", "expected"),
    [
        ("cli", {"COMPOSE_PROJECT_NAME": "env"}, "file", "cli"),
        (None, {"COMPOSE_PROJECT_NAME": "env"}, "file", "env"),
        (None, {"COMPOSE_PROJECT_NAME": ""}, "file", "file"),
        (None, {}, "file", "file"),
        (None, {}, None, "myshopv2"),
    ],
)
def test_project_name_precedence(
    shop_dir: Path,
    flag: str | None,
    environ: dict[str, str],
    top_level: str | None,
    expected: str,
) -> None:
    name_line = f"name: {top_level}\n" if top_level else ""
    path = write(shop_dir, f"{name_line}services:\n  web:\n    image: alpine\n")
    assert load(path, shell=environ, project_flag=flag).name == expected


@pytest.mark.parametrize(
    ("flag", "environ", "top_level", "source", "bad"),
    [
        ("My_App", {}, None, "-p", "My_App"),
        ("-app", {}, None, "-p", "-app"),
        ("", {}, None, "-p", ""),
        (None, {"COMPOSE_PROJECT_NAME": "a.b"}, None, "COMPOSE_PROJECT_NAME", "a.b"),
    ],
)
def test_invalid_project_name_is_rejected(
    shop_dir: Path,
    flag: str | None,
    environ: dict[str, str],
    top_level: str | None,
    source: str,
    bad: str,
) -> None:
    path = write(shop_dir, "services:\n  web:\n    image: alpine\n")
    message = (
        f"{source}: project name {bad!r} must contain only lowercase letters, "
        "digits, dashes and underscores, and start with a letter or digit"
    )
    with pytest.raises(CorralError, match=f"^{re.escape(message)}$"):
        load(path, shell=environ, project_flag=flag)


def test_invalid_top_level_name_names_the_file(shop_dir: Path) -> None:
    path = write(shop_dir, "name: Shop\nservices:\n  web:\n    image: alpine\n")
    message = (
        f"{path}: name: project name 'Shop' must contain only lowercase letters, "
        "digits, dashes and underscores, and start with a letter or digit"
    )
    with pytest.raises(CorralError, match=f"^{re.escape(message)}$"):
        load(path)


def test_project_name_comes_from_the_first_file(tmp_path: Path) -> None:
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    base = write(tmp_path / "first", "services:\n  web:\n    image: alpine\n")
    override = write(tmp_path / "second", "name: other\nservices:\n  web:\n    image: b\n")
    assert load(base, override).name == "other"
    plain = write(tmp_path / "second", "services:\n  web:\n    image: b\n", name="plain.yaml")
    assert load(base, plain).name == "first"
