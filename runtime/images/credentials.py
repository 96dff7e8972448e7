"""Registry credentials in Docker's client config, `~/.docker/config.json`.

Only the `auths` section is read and written (`{"auths": {"host": {"auth":
base64("user:password")}}}`); every other key of the file is kept as it is.
Docker Hub's entry is keyed `https://index.docker.io/v1/`, as Docker does.
`DOCKER_CONFIG` moves the directory, as it does for Docker.
"""

import binascii
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from runtime.errors import ImageError
from runtime.images.reference import DOCKER_HUB

_DOCKER_HUB_KEY = "https://index.docker.io/v1/"


class Credentials(NamedTuple):  # half a dataclass's cost to define, on every pull's path
    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=<hidden>)"


def config_path(environ: Mapping[str, str] = os.environ) -> Path:
    directory = environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    return Path(directory) / "config.json"


def find_credentials(registry: str, path: Path) -> Credentials | None:
    """The credentials stored for `registry` ("host[:port]" or "docker.io"), if any."""
    auths = _read(path).get("auths")
    if not isinstance(auths, dict):
        return None
    wanted = _key_host(_key(registry))
    for key, entry in auths.items():
        if _key_host(key) != wanted or not isinstance(entry, dict):
            continue
        encoded = entry.get("auth")
        if isinstance(encoded, str) and encoded:
            return _decode(encoded, path, key)
    return None


def store_credentials(registry: str, credentials: Credentials, path: Path) -> None:
    config = _read(path)
    auths = config.setdefault("auths", {})
    if not isinstance(auths, dict):
        raise ImageError(f"{path}: 'auths' is not an object")
    auths[_key(registry)] = {"auth": encode_auth(credentials)}
    _write(path, config)


def remove_credentials(registry: str, path: Path) -> bool:
    """Forget `registry`'s credentials; False if there were none."""
    config = _read(path)
    auths = config.get("auths")
    if not isinstance(auths, dict):
        return False
    wanted = _key_host(_key(registry))
    keys = [key for key in auths if _key_host(key) == wanted]
    for key in keys:
        del auths[key]
    if keys:
        _write(path, config)
    return bool(keys)


def encode_auth(credentials: Credentials) -> str:
    """base64 of "user:password", as config.json and HTTP Basic authentication have it.

    (binascii, not base64: the module costs a warm pull a millisecond.)
    """
    token = f"{credentials.username}:{credentials.password}".encode()
    return binascii.b2a_base64(token, newline=False).decode()


def _key(registry: str) -> str:
    return _DOCKER_HUB_KEY if registry == DOCKER_HUB else registry


def _key_host(key: str) -> str:
    """`https://host:port/v1/` and `host:port` name the same registry."""
    host = key.split("://", 1)[-1].split("/", 1)[0]
    return "index.docker.io" if host in ("docker.io", "registry-1.docker.io") else host


def _decode(encoded: str, path: Path, key: str) -> Credentials:
    try:
        decoded = binascii.a2b_base64(encoded, strict_mode=True)
        username, colon, password = decoded.decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ImageError(f"{path}: the auth of {key!r} is not base64 of user:password") from exc
    if not colon:
        raise ImageError(f"{path}: the auth of {key!r} is not base64 of user:password")
    return Credentials(username, password)


def _read(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ImageError(f"cannot read {path}: {exc}") from exc
    if not isinstance(config, dict):
        raise ImageError(f"{path} is not a JSON object")
    return config


def _write(path: Path, config: dict[str, Any]) -> None:
    import tempfile

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".config-")
    try:
        with os.fdopen(fd, "w") as file:
            json.dump(config, file, indent="\t")
            file.write("\n")
        os.replace(name, path)  # mkstemp made it 0600, as a file of secrets should be
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
