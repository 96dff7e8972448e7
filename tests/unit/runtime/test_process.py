"""process_args and docker_env: what a container runs, combined as Docker does."""

from collections.abc import Sequence

import pytest

from runtime.process import DEFAULT_PATH, docker_env, process_args

Words = Sequence[str] | None


@pytest.mark.parametrize(
    ("image_entrypoint", "image_cmd", "entrypoint", "command", "expected"),
    [
        # the image alone
        (["/entry.sh"], ["serve", "-p", "80"], None, None, ("/entry.sh", "serve", "-p", "80")),
        (None, ["nginx", "-g", "daemon off;"], None, None, ("nginx", "-g", "daemon off;")),
        (["/bin/app"], None, None, None, ("/bin/app",)),
        (None, None, None, None, ()),
        # a service command replaces the image's Cmd and keeps its Entrypoint
        (["/entry.sh"], ["serve"], None, ["migrate", "--all"], ("/entry.sh", "migrate", "--all")),
        (None, ["serve"], None, ["sleep", "1"], ("sleep", "1")),
        (["/bin/app"], ["serve"], None, [], ("/bin/app",)),
        # a service entrypoint drops the image's Cmd and Entrypoint
        (["/entry.sh"], ["serve"], ["/bin/sh", "-c"], None, ("/bin/sh", "-c")),
        (None, ["serve"], ["/bin/other"], None, ("/bin/other",)),
        # both given: the image's are not used at all
        (["/entry.sh"], ["serve"], ["/bin/sh", "-c"], ["echo hi"], ("/bin/sh", "-c", "echo hi")),
        (None, None, ["env"], ["FOO=1", "printenv"], ("env", "FOO=1", "printenv")),
        # an empty entrypoint clears the image's; the command then runs alone
        (["/entry.sh"], ["serve"], [], ["sh"], ("sh",)),
        (["/entry.sh"], ["serve"], [], None, ()),
    ],
)
def test_process_args_as_docker_combines_them(
    image_entrypoint: Words,
    image_cmd: Words,
    entrypoint: Words,
    command: Words,
    expected: tuple[str, ...],
) -> None:
    assert process_args(image_entrypoint, image_cmd, entrypoint, command) == expected


def test_default_environment() -> None:
    assert docker_env([], [], "www", "/root") == (
        f"PATH={DEFAULT_PATH}",
        "HOSTNAME=www",
        "HOME=/root",
    )
    assert DEFAULT_PATH == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def test_image_env_then_service_env_in_order() -> None:
    env = docker_env(
        ["LANG=C.UTF-8", "NGINX_VERSION=1.27"], [("LEVEL", "debug"), ("EMPTY", "")], "web", "/"
    )
    assert env == (
        f"PATH={DEFAULT_PATH}",
        "HOSTNAME=web",
        "LANG=C.UTF-8",
        "NGINX_VERSION=1.27",
        "LEVEL=debug",
        "EMPTY=",
        "HOME=/",
    )


def test_overrides_replace_in_place() -> None:
    env = docker_env(
        ["PATH=/opt/bin:/bin", "LANG=C", "MODE=prod"],
        [("MODE", "dev"), ("HOSTNAME", "custom"), ("LANG", "en_US.UTF-8")],
        "web",
        "/home/app",
    )
    assert env == (
        "PATH=/opt/bin:/bin",
        "HOSTNAME=custom",
        "LANG=en_US.UTF-8",
        "MODE=dev",
        "HOME=/home/app",
    )


@pytest.mark.parametrize(
    ("image_env", "overrides", "home"),
    [
        (["HOME=/from/image"], [], "HOME=/from/image"),
        ([], [("HOME", "/from/service")], "HOME=/from/service"),
        (["HOME=/from/image"], [("HOME", "/from/service")], "HOME=/from/service"),
    ],
)
def test_home_is_only_a_default(
    image_env: list[str], overrides: list[tuple[str, str]], home: str
) -> None:
    env = docker_env(image_env, overrides, "web", "/home/app")
    assert [item for item in env if item.startswith("HOME=")] == [home]


def test_a_value_holding_equals_signs_is_kept_whole() -> None:
    env = docker_env(["OPTS=-Da=b -Dc=d"], [("URL", "pg://u:p@db/x?sslmode=off")], "h", "/")
    assert "OPTS=-Da=b -Dc=d" in env
    assert "URL=pg://u:p@db/x?sslmode=off" in env


def test_each_name_appears_once() -> None:
    env = docker_env(["A=1", "A=2", "PATH=/x"], [("A", "3"), ("PATH", "/y")], "h", "/")
    names = [item.partition("=")[0] for item in env]
    assert len(names) == len(set(names))
    assert "A=3" in env
    assert "PATH=/y" in env
