"""What a container's process runs, combined from the image and the service
the way Docker combines them."""

from collections.abc import Sequence

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def process_args(
    image_entrypoint: Sequence[str] | None,
    image_cmd: Sequence[str] | None,
    entrypoint: Sequence[str] | None,
    command: Sequence[str] | None,
) -> tuple[str, ...]:
    """Entrypoint + command. Setting an entrypoint drops the image's Cmd, as
    `docker run --entrypoint` does; a command replaces the image's Cmd."""
    if entrypoint is not None:
        return (*entrypoint, *(command or ()))
    return (*(image_entrypoint or ()), *(command if command is not None else image_cmd or ()))


def docker_env(
    image_env: Sequence[str], overrides: Sequence[tuple[str, str]], hostname: str, home: str
) -> tuple[str, ...]:
    """The environment Docker gives a process: PATH default, HOSTNAME, the
    image's Env, the service's environment on top, HOME when nobody set it."""
    merged: dict[str, str] = {
        "PATH": DEFAULT_PATH,
        "HOSTNAME": hostname,
    }
    for item in image_env:
        name, _, value = item.partition("=")
        merged[name] = value
    merged.update(overrides)
    merged.setdefault("HOME", home)
    return tuple(f"{name}={value}" for name, value in merged.items())
