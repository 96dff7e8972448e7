"""load_project: the keys Corral runs, the warnings for those it does not run yet,
and every way a file is refused (file:line:column: key.path: message)."""

import re
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import CorralError, Problem, SpecError
from orchestrator.spec import (
    LoadOptions,
    ProjectSpec,
    RestartMode,
    RestartPolicy,
    ServiceSpec,
    load_project,
)
from orchestrator.spec.normalize import Dependency, ServiceNetwork


def write(directory: Path, text: str, name: str = "compose.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(
    *files: Path,
    shell: Mapping[str, str] | None = None,
    project_flag: str | None = None,
    warnings: list[str] | None = None,
    strict: bool = False,
) -> ProjectSpec:
    sink: list[str] = [] if warnings is None else warnings
    options = LoadOptions(project_flag=project_flag, strict=strict)
    return load_project(list(files), shell=shell or {}, warn=sink.append, options=options)


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
        ('command: ["sh", "-c", "exec \\"$$0\\""]', ("sh", "-c", 'exec "$0"')),
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
        ("restart: on-failure:0000000000005", RestartPolicy(RestartMode.ON_FAILURE, 5)),
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
        ("on-failure:x", "'on-failure:x': the count must be a whole number from 0 to 2147483647"),
        ("on-failure:-1", "'on-failure:-1': the count must be a whole number from 0 to 2147483647"),
        ("on-failure:²", "'on-failure:²': the count must be a whole number from 0 to 2147483647"),
        (
            "on-failure:" + "9" * 5000,
            f"'on-failure:{'9' * 5000}': the count must be a whole number from 0 to 2147483647",
        ),
        (
            "on-failure:2147483648",
            "'on-failure:2147483648': the count must be a whole number from 0 to 2147483647",
        ),
        ("yes", "'yes' is not one of no, always, on-failure[:N], unless-stopped"),
        ("3", "3 is not one of no, always, on-failure[:N], unless-stopped"),
    ],
)
def test_bad_restart_values(tmp_path: Path, value: str, message: str) -> None:
    path = write(tmp_path, f"services:\n  web:\n    image: alpine\n    restart: {value}\n")
    with pytest.raises(SpecError, match=spec_error(path, f":4:5: services.web.restart: {message}")):
        load(path)


def test_defaults_of_a_minimal_service(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  web:\n    image: alpine\n")
    service = load(path).service("web")
    assert service.image == "alpine"
    assert service.environment == ()
    assert (service.working_dir, service.user, service.hostname) == (None, None, None)
    assert service.restart == RestartPolicy(RestartMode.NO)
    assert service.depends_on == ()
    assert service.networks == (ServiceNetwork("default"),)
    assert service.network_names == ("default",)
    assert service.stop_signal is None  # the image's StopSignal, else SIGTERM
    assert service.stop_grace_period == 10.0
    assert service.location is not None
    assert (service.location.file, service.location.line, service.location.column) == (path, 2, 3)
    assert service.image_location is not None
    location = service.image_location
    assert (location.file, location.line, location.column) == (path, 3, 5)


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
    assert project.service("web").depends_on == (Dependency("db"), Dependency("cache"))
    assert project.service("web").dependency_names == ("db", "cache")
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
    project = load(path, project_flag="shop")
    assert project.service("web").networks == (ServiceNetwork("front"), ServiceNetwork("back"))
    assert project.service("db").network_names == ("back",)
    assert project.service("tool").network_names == ("default",)
    # default first, then the file's order; each named <project>_<key> on the host
    assert [(n.key, n.name) for n in project.networks] == [
        ("default", "shop_default"),
        ("front", "shop_front"),
        ("back", "shop_back"),
        ("unused", "shop_unused"),
    ]


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
    assert [n.key for n in load(path).networks] == ["front"]


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
    message = f":4:5: services.web.stop_signal: {shown} is not a signal name such as SIGTERM"
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
    expected = spec_error(path, f":4:5: services.web.stop_grace_period: {message}")
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
    assert warnings == [f"{path}:4:1: version: is obsolete and ignored"]
    assert project.service("web").image == "alpine"


def test_no_warning_without_version(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  web:\n    image: alpine\n")
    warnings: list[str] = []
    load(path, warnings=warnings)
    assert warnings == []


# --- long forms of depends_on and networks ------------------------------------------


def test_depends_on_long_form_is_normalized(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        services:
          web:
            image: nginx
            depends_on:
              db:
                condition: service_started
                restart: true
              cache:
                condition: service_started
                required: false
          db:
            image: postgres
        """,
    )
    # an optional dependency on a service the files do not define is dropped silently
    assert load(path).service("web").depends_on == (
        Dependency("db", "service_started", restart=True),
        Dependency("cache", "service_started", required=False),
    )


def test_networks_long_form_is_normalized(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        services:
          web:
            image: nginx
            networks:
              front:
              back: {}
        networks:
          front:
          back:
        """,
    )
    assert load(path).service("web").networks == (ServiceNetwork("front"), ServiceNetwork("back"))


# --- keys Corral does not run yet -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "services:\n  web:\n    image: alpine\n    ports: ['80:80']\n",
            ":4:5: services.web.ports: Corral does not run this key yet; it is ignored",
        ),
        (
            "services:\n  web:\n    image: alpine\n    build: .\n",
            ":4:5: services.web.build: Corral does not run this key yet; it is ignored",
        ),
        (
            "services:\n  web:\n    image: alpine\n    network_mode: host\n",
            ":4:5: services.web.network_mode: Corral does not run this key yet; it is ignored",
        ),
        (
            "services:\n  web:\n    image: alpine\nvolumes:\n  data:\n",
            ":4:1: volumes: Corral does not run this key yet; it is ignored",
        ),
    ],
)
def test_a_compose_key_corral_does_not_run_is_a_warning(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = write(tmp_path, text)
    warnings: list[str] = []
    assert load(path, warnings=warnings).service("web").image == "alpine"
    assert warnings == [f"{path}{problem}"]
    with pytest.raises(SpecError, match=spec_error(path, problem)) as caught:
        load(path, strict=True)
    assert len(caught.value.problems) == 1


def test_a_healthcheck_is_run_without_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "services:\n  web:\n    image: alpine\n    healthcheck:\n      test: [CMD, 'true']\n",
    )
    warnings: list[str] = []
    healthcheck = load(path, warnings=warnings, strict=True).service("web").healthcheck
    assert healthcheck is not None
    assert healthcheck.test == ("CMD", "true")
    assert warnings == []


def test_a_network_option_corral_does_not_run_is_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "services:\n  web:\n    image: alpine\nnetworks:\n  default:\n    internal: true\n",
    )
    warnings: list[str] = []
    load(path, warnings=warnings)
    assert warnings == [
        f"{path}:6:5: networks.default.internal: Corral does not run this key yet; it is ignored"
    ]


def test_a_service_network_option_corral_does_not_run_is_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "services:\n  web:\n    image: alpine\n    networks:\n      default:\n"
        "        ipv4_address: 172.30.0.5\n",
    )
    warnings: list[str] = []
    load(path, warnings=warnings)
    assert warnings == [
        f"{path}:6:9: services.web.networks.default.ipv4_address: "
        "Corral does not run this key yet; it is ignored"
    ]


def test_a_dependency_condition_corral_does_not_wait_for_is_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "services:\n  web:\n    image: alpine\n    depends_on:\n      db:\n"
        "        condition: service_healthy\n  db:\n    image: alpine\n",
    )
    warnings: list[str] = []
    load(path, warnings=warnings)
    assert warnings == [
        f"{path}:6:9: services.web.depends_on.db.condition: "
        "Corral does not wait for service_healthy yet; it only waits for the service to start"
    ]


# --- refused files ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "services:\n  web:\n    image: alpine\n    imgae: busybox\n",
            ":4:5: services.web.imgae: unknown key",
        ),
        (
            "services:\n  web:\n    image: alpine\nservice:\n  db: {}\n",
            ":4:1: service: unknown key",
        ),
        (
            "services:\n  web:\n    image: alpine\n   command: x\n",
            ":4:4: invalid YAML: did not find expected key",
        ),
        (
            "services:\n  web:\n    image: alpine\n    image: busybox\n",
            ":4:5: duplicate key 'image' in one mapping",
        ),
        (
            "services:\n  web:\n    image: alpine\n  web:\n    image: busybox\n",
            ":4:3: duplicate key 'web' in one mapping",
        ),
        (
            "services:\n  web:\n    command: [serve]\n",
            ":2:3: services.web: needs an image (or a build section)",
        ),
        ("- services\n", ":1:1: a Compose file must be a mapping"),
        ("", ":1:1: the file is empty"),
        ("name: shop\n", ":1:1: services: must name at least one service"),
        ("services: {}\n", ":1:1: services: must name at least one service"),
        ("services:\n  web: alpine\n", ":2:3: services.web: must be a mapping"),
        (
            "services:\n  _web:\n    image: alpine\n",
            ":2:3: services._web: a service name may hold only letters, digits, '_', '.', '-'",
        ),
        (
            'services:\n  web:\n    image: alpine\n    command: "echo \'x"\n',
            ':4:5: services.web.command: cannot split "echo \'x" into words: No closing quotation',
        ),
        (
            'services:\n  web:\n    image: alpine\n    command: ["sh", "-c", "exec $0"]\n',
            ':4:27: services.web.command[2]: invalid interpolation format in "exec $0": '
            '"$" followed by "0" is not a variable; write "$$" for a literal "$"',
        ),
        (
            "services:\n  web:\n    image: alpine\n    entrypoint: {sh: x}\n",
            ":4:5: services.web.entrypoint: {'sh': 'x'} is not a list; "
            "expected a string or a list of strings",
        ),
        (
            "services:\n  web:\n    image: alpine\n    working_dir: [a]\n",
            ":4:5: services.web.working_dir: ['a'] is not a string",
        ),
        (
            "services:\n  web:\n    image: alpine\n    environment: A=1\n",
            ":4:5: services.web.environment: 'A=1' is not a mapping or a list of KEY=VALUE",
        ),
        (
            "services:\n  web:\n    image: alpine\n    depends_on:\n      db:\n"
            "        condition: sometimes\n  db:\n    image: postgres\n",
            ":6:9: services.web.depends_on.db.condition: 'sometimes' is not one of "
            "service_started, service_healthy, service_completed_successfully",
        ),
        (
            "services:\n  web:\n    image: alpine\n    networks: front\n",
            ":4:5: services.web.networks: 'front' is not a list; "
            "expected a list or a mapping of networks",
        ),
        (
            "services:\n  web:\n    image: alpine\n    networks:\n      default:\n"
            "        colour: x\n",
            ":6:9: services.web.networks.default.colour: unknown key 'colour' in network "
            "options; expected aliases, driver_opts, gw_priority, interface_name, ipv4_address, "
            "ipv6_address, link_local_ips, mac_address, priority",
        ),
        (
            "services:\n  web:\n    image: alpine\n    depends_on: [db]\n",
            ":4:5: services.web.depends_on: depends on undefined service 'db'",
        ),
        (
            "services:\n  web:\n    image: alpine\n    networks: [back]\n",
            ":4:5: services.web.networks: network 'back' is not defined under the top-level "
            "networks",
        ),
        (
            "services:\n  web:\n    image: alpine\nnetworks:\n  front:\n    colour: x\n",
            ":6:5: networks.front.colour: unknown key 'colour' in a network mapping; expected "
            "attachable, driver, driver_opts, enable_ipv4, enable_ipv6, external, internal, "
            "ipam, labels, name",
        ),
        (
            "services:\n  web:\n    image: alpine\nnetworks: [front]\n",
            ":4:1: networks: must be a mapping of names",
        ),
    ],
)
def test_refused_file_names_file_line_and_key(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SpecError, match=spec_error(path, problem)) as caught:
        load(path)
    assert len(caught.value.problems) == 1


def test_an_empty_image_is_a_missing_image(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  web:\n    image: ''\n")
    with pytest.raises(
        SpecError, match=spec_error(path, ":2:3: services.web: needs an image (or a build section)")
    ):
        load(path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "services:\n  web:\n    image: alpine\n    environment:\n      A: [1]\n",
            ":5:7: services.web.environment.A: [1] is not a string, number or boolean",
        ),
        (
            "services:\n  web:\n    image: alpine\n    environment:\n      - 5\n",
            ":5:9: services.web.environment[0]: 5 is not a string KEY=VALUE",
        ),
    ],
)
def test_a_nested_problem_names_the_nested_line(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SpecError, match=spec_error(path, problem)):
        load(path)


def test_environment_names_are_not_restricted_as_in_compose(tmp_path: Path) -> None:
    body = """
    environment:
      - 'A B=1'
    """
    assert load_service(tmp_path, body).environment == (("A B", "1"),)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    message = ": cannot read: No such file or directory"
    with pytest.raises(SpecError, match=spec_error(path, message)):
        load(path)


def test_a_spec_error_is_a_corral_error(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  web:\n    imgae: alpine\n")
    with pytest.raises(CorralError):
        load(path)


@pytest.mark.parametrize(
    ("dependencies", "problem"),
    [
        ({"a": "[b]", "b": "[a]"}, ":4:5: services.a.depends_on: dependency cycle: a -> b -> a"),
        ({"a": "[a]", "b": "[]"}, ":4:5: services.a.depends_on: dependency cycle: a -> a"),
        (
            {"a": "[b]", "b": "[c]", "c": "[b]"},
            ":7:5: services.b.depends_on: dependency cycle: b -> c -> b",
        ),
        (
            {"a": "[b]", "b": "[c]", "c": "[a]"},
            ":4:5: services.a.depends_on: dependency cycle: a -> b -> c -> a",
        ),
    ],
)
def test_dependency_cycle(tmp_path: Path, dependencies: dict[str, str], problem: str) -> None:
    text = "services:\n" + "".join(
        f"  {name}:\n    image: alpine\n    depends_on: {deps}\n"
        for name, deps in dependencies.items()
    )
    path = write(tmp_path, text)
    with pytest.raises(SpecError, match=spec_error(path, problem)):
        load(path)


def test_a_chain_of_thousands_of_dependencies_and_a_cycle_at_its_end(tmp_path: Path) -> None:
    n = 3000
    text = "services:\n" + "".join(
        f"  s{i}:\n    image: alpine\n    depends_on: [s{i + 1}]\n" for i in range(n)
    )
    path = write(tmp_path, text + f"  s{n}:\n    image: alpine\n")
    assert len(load(path).services) == n + 1
    path = write(tmp_path, text + f"  s{n}:\n    image: alpine\n    depends_on: [s{n - 1}]\n")
    with pytest.raises(SpecError, match=f"dependency cycle: s{n - 1} -> s{n} -> s{n - 1}$"):
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
    assert load(path).service("web").dependency_names == ("api", "auth")


EVERY_PROBLEM = """
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
"""


def test_every_problem_is_reported_together(tmp_path: Path) -> None:
    path = write(tmp_path, EVERY_PROBLEM)
    with pytest.raises(SpecError) as caught:
        load(path)
    assert caught.value.problems == [
        Problem(
            path,
            7,
            "services.web.restart",
            "'sometimes' is not one of no, always, on-failure[:N], unless-stopped",
            5,
        ),
        Problem(path, 11, "services.api.colour", "unknown key", 5),
        Problem(path, 9, "services.api", "needs an image (or a build section)", 3),
        Problem(path, 8, "services.web.depends_on", "depends on undefined service 'db'", 5),
        Problem(
            path,
            12,
            "services.api.networks",
            "network 'back' is not defined under the top-level networks",
            5,
        ),
    ]
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    assert str(caught.value).splitlines()[0] == (
        f"{path}:7:5: services.web.restart: "
        "'sometimes' is not one of no, always, on-failure[:N], unless-stopped"
    )


def test_strict_reports_the_keys_corral_does_not_run_with_the_other_problems(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, EVERY_PROBLEM)
    with pytest.raises(SpecError) as caught:
        load(path, strict=True)
    assert [str(p).removeprefix(str(path)) for p in caught.value.problems] == [
        ":1:1: volumes: Corral does not run this key yet; it is ignored",
        ":6:5: services.web.ports: Corral does not run this key yet; it is ignored",
        ":7:5: services.web.restart: "
        "'sometimes' is not one of no, always, on-failure[:N], unless-stopped",
        ":11:5: services.api.colour: unknown key",
        ":9:3: services.api: needs an image (or a build section)",
        ":8:5: services.web.depends_on: depends on undefined service 'db'",
        ":12:5: services.api.networks: network 'back' is not defined under the top-level networks",
    ]


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
        SpecError, match=spec_error(override, ":4:5: services.web.colour: unknown key")
    ):
        load(base, override)


def test_a_syntax_error_in_a_later_file_names_that_file(tmp_path: Path) -> None:
    base = write(tmp_path, "services:\n  web:\n    image: nginx\n")
    override = write(tmp_path, "services:\n  web: [\n", name="override.yaml")
    message = ":3:1: invalid YAML: did not find expected node content"
    with pytest.raises(SpecError, match=spec_error(override, message)):
        load(base, override)


def test_a_problem_in_an_earlier_file_names_that_file(tmp_path: Path) -> None:
    base = write(tmp_path, "services:\n  web:\n    image: nginx\n    colour: blue\n")
    override = write(tmp_path, "services:\n  web:\n    image: nginx\n", name="override.yaml")
    with pytest.raises(SpecError, match=spec_error(base, ":4:5: services.web.colour: unknown key")):
        load(base, override)


@pytest.mark.parametrize(
    ("base_body", "override_body", "field", "expected"),
    [
        pytest.param(
            "environment: [A=1, B=1]",
            "environment: [B=2]",
            "environment",
            (("A", "1"), ("B", "2")),
            id="environment merges by name",
        ),
        pytest.param(
            "environment: {A: '1'}",
            "environment: [A]",
            "environment",
            (("A", "1"),),
            id="a later name without a value keeps the earlier value",
        ),
        pytest.param(
            "networks: [front]",
            "networks: [back]",
            "network_names",
            ("front", "back"),
            id="networks append",
        ),
        pytest.param(
            "depends_on: [db]",
            "depends_on: [db, cache]",
            "dependency_names",
            ("db", "cache"),
            id="depends_on merges by name",
        ),
        pytest.param(
            "command: [serve, --port, '80']",
            "command: [serve]",
            "command",
            ("serve",),
            id="command replaces",
        ),
        pytest.param(
            "entrypoint: [/init, --]",
            "entrypoint: /bin/sh",
            "entrypoint",
            ("/bin/sh",),
            id="entrypoint replaces",
        ),
    ],
)
def test_several_files_are_merged_as_compose_does(
    tmp_path: Path, base_body: str, override_body: str, field: str, expected: Any
) -> None:
    top = "networks:\n  front:\n  back:\n"
    others = "  db:\n    image: postgres\n  cache:\n    image: redis\n"
    base = write(tmp_path, f"services:\n  web:\n    image: nginx\n    {base_body}\n{others}{top}")
    override = write(tmp_path, f"services:\n  web:\n    {override_body}\n", name="override.yaml")
    assert getattr(load(base, override).service("web"), field) == expected


def test_a_hostname_with_a_blank_is_a_spec_error(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  web:\n    image: alpine\n    hostname: my host\n")
    message = ":4:5: services.web.hostname: 'my host' is not a valid host name (RFC 1123)"
    with pytest.raises(SpecError, match=spec_error(path, message)):
        load(path)


@pytest.mark.parametrize(
    ("key", "where", "message"),
    [
        ("networks", ":4:20", "network 'db' is listed twice"),
        ("depends_on", ":4:22", "service 'db' is listed twice"),
    ],
)
def test_a_name_listed_twice_is_a_spec_error(
    tmp_path: Path, key: str, where: str, message: str
) -> None:
    path = write(
        tmp_path,
        f"services:\n  web:\n    image: alpine\n    {key}: [db, db]\n"
        "  db:\n    image: alpine\nnetworks:\n  db:\n",
    )
    with pytest.raises(
        SpecError, match=spec_error(path, f"{where}: services.web.{key}[1]: {message}")
    ):
        load(path)


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


def test_invalid_top_level_name_is_reported_with_the_other_problems(shop_dir: Path) -> None:
    path = write(shop_dir, "name: Shop\nservices:\n  web:\n    imgae: alpine\nx: 1\n")
    with pytest.raises(SpecError) as caught:
        load(path)
    assert str(caught.value).splitlines() == [
        f"{path}:1:1: name: project name 'Shop' must contain only lowercase letters, "
        "digits, dashes and underscores, and start with a letter or digit",
        f"{path}:5:1: x: unknown key",
        f"{path}:4:5: services.web.imgae: unknown key",
        f"{path}:3:3: services.web: needs an image (or a build section)",
    ]


def test_a_bad_top_level_name_overridden_by_the_project_flag_is_not_checked(
    shop_dir: Path,
) -> None:
    path = write(shop_dir, "name: MyApp\nservices:\n  web:\n    image: alpine\n")
    assert load(path, project_flag="good").name == "good"
    assert load(path, shell={"COMPOSE_PROJECT_NAME": "fromenv"}).name == "fromenv"


def test_a_top_level_name_that_is_not_a_string(shop_dir: Path) -> None:
    path = write(shop_dir, "name: true\nservices:\n  web:\n    image: alpine\n")
    with pytest.raises(SpecError, match=spec_error(path, ":1:1: name: must be a string")):
        load(path)


def test_project_name_comes_from_the_first_file(tmp_path: Path) -> None:
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    base = write(tmp_path / "first", "services:\n  web:\n    image: alpine\n")
    override = write(tmp_path / "second", "name: other\nservices:\n  web:\n    image: b\n")
    assert load(base, override).name == "other"
    plain = write(tmp_path / "second", "services:\n  web:\n    image: b\n", name="plain.yaml")
    assert load(base, plain).name == "first"


@pytest.mark.parametrize("policy", ["always", "missing", "never", "daily", "every_12h"])
def test_pull_policies_corral_runs_load_without_warning(tmp_path: Path, policy: str) -> None:
    path = write(tmp_path, f"services:\n  web:\n    image: alpine\n    pull_policy: {policy}\n")
    warnings: list[str] = []
    assert load(path, warnings=warnings).service("web").pull_policy == policy
    assert warnings == []


def test_pull_policy_build_warns_that_corral_cannot_build(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  web:\n    image: alpine\n    pull_policy: build\n")
    warnings: list[str] = []
    load(path, warnings=warnings)
    assert warnings == [
        f"{path}:4:5: services.web.pull_policy: "
        "Corral cannot build images yet; it runs the image the store holds"
    ]


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("sometimes", "'sometimes' is not a pull policy: expected always, missing,"
         " if_not_present, never, daily, weekly or every_<duration>"),
        ("every_1d", "pull policy 'every_1d': '1d' is not a duration such as 12h, 1h30m or 90s"),
    ],
)  # fmt: skip
def test_a_pull_policy_the_puller_refuses_is_an_error(
    tmp_path: Path, policy: str, message: str
) -> None:
    path = write(tmp_path, f"services:\n  web:\n    image: alpine\n    pull_policy: {policy}\n")
    with pytest.raises(SpecError) as caught:
        load(path)
    assert str(caught.value) == f"{path}:4:5: services.web.pull_policy: {message}"
