"""parse_build: a context string or the long form into BuildConfig."""

from pathlib import Path

import pytest

from orchestrator.spec.normalize import BuildConfig, FileReference, Ulimit, parse_build
from tests.unit.orchestrator.normalize.expect import normalize_error

PROJECT = Path("/srv/app")


def parse(value: object) -> BuildConfig:
    return parse_build(value, project_dir=PROJECT)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(".", BuildConfig("/srv/app"), id="dot"),
        pytest.param("./web", BuildConfig("/srv/app/web"), id="relative"),
        pytest.param("../lib", BuildConfig("/srv/lib"), id="parent"),
        pytest.param("/opt/src", BuildConfig("/opt/src"), id="absolute"),
        pytest.param(
            "https://github.com/a/b.git#main",
            BuildConfig("https://github.com/a/b.git#main"),
            id="https",
        ),
        pytest.param("git@github.com:a/b.git", BuildConfig("git@github.com:a/b.git"), id="git-ssh"),
        pytest.param("github.com/a/b", BuildConfig("github.com/a/b"), id="github"),
        pytest.param("git://host/repo", BuildConfig("git://host/repo"), id="git"),
    ],
)
def test_short_syntax(value: str, expected: BuildConfig) -> None:
    assert parse(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param({}, BuildConfig("/srv/app"), id="defaults"),
        pytest.param(
            {"context": "web", "dockerfile": "Dockerfile.dev"},
            BuildConfig("/srv/app/web", "Dockerfile.dev"),
            id="dockerfile-relative-to-context",
        ),
        pytest.param(
            {"dockerfile_inline": "FROM alpine"},
            BuildConfig("/srv/app", None, "FROM alpine"),
            id="inline",
        ),
        pytest.param(
            {"args": ["A=1", "B"], "labels": {"x": 1, "y": None}},
            BuildConfig("/srv/app", args=(("A", "1"), ("B", None)), labels=(("x", "1"), ("y", ""))),
            id="args-and-labels",
        ),
        pytest.param(
            {"ssh": ["default", "key=/home/ann/.ssh/id"]},
            BuildConfig("/srv/app", ssh=(("default", None), ("key", "/home/ann/.ssh/id"))),
            id="ssh",
        ),
        pytest.param(
            {
                "cache_from": ["type=registry,ref=a"],
                "cache_to": ["type=inline"],
                "platforms": ["linux/amd64", "linux/arm64"],
                "tags": ["a:1"],
                "entitlements": ["network.host"],
            },
            BuildConfig(
                "/srv/app",
                cache_from=("type=registry,ref=a",),
                cache_to=("type=inline",),
                platforms=("linux/amd64", "linux/arm64"),
                tags=("a:1",),
                entitlements=("network.host",),
            ),
            id="lists",
        ),
        pytest.param(
            {
                "extra_hosts": ["db=10.0.0.2"],
                "isolation": "default",
                "network": "host",
                "no_cache": True,
                "privileged": True,
                "pull": True,
                "shm_size": "2g",
                "target": "prod",
                "provenance": True,
                "sbom": "false",
            },
            BuildConfig(
                "/srv/app",
                extra_hosts=(("db", "10.0.0.2"),),
                isolation="default",
                network="host",
                no_cache=True,
                privileged=True,
                pull=True,
                shm_size=2 << 30,
                target="prod",
                provenance="true",
                sbom="false",
            ),
            id="scalars",
        ),
        pytest.param(
            {"secrets": ["token", {"source": "npm", "target": "npmrc"}]},
            BuildConfig(
                "/srv/app",
                secrets=(
                    FileReference("token", "/run/secrets/token"),
                    FileReference("npm", "/run/secrets/npmrc"),
                ),
            ),
            id="secrets",
        ),
        pytest.param(
            {"ulimits": {"nofile": 1024}},
            BuildConfig("/srv/app", ulimits=(Ulimit("nofile", 1024, 1024),)),
            id="ulimits",
        ),
        pytest.param(
            {
                "additional_contexts": {
                    "lib": "../lib",
                    "base": "docker-image://alpine:3",
                    "app": "service:app",
                    "src": "https://example.com/src.tar",
                }
            },
            BuildConfig(
                "/srv/app",
                additional_contexts=(
                    ("lib", "/srv/lib"),
                    ("base", "docker-image://alpine:3"),
                    ("app", "service:app"),
                    ("src", "https://example.com/src.tar"),
                ),
            ),
            id="additional-contexts",
        ),
        pytest.param(
            {"additional_contexts": ["lib=./lib"]},
            BuildConfig("/srv/app", additional_contexts=(("lib", "/srv/app/lib"),)),
            id="additional-contexts-list",
        ),
    ],
)
def test_long_syntax(value: object, expected: BuildConfig) -> None:
    assert parse(value) == expected


@pytest.mark.parametrize(
    ("value", "message", "path"),
    [
        pytest.param(
            {"dockerfile": "D", "dockerfile_inline": "FROM a"},
            "dockerfile and dockerfile_inline exclude each other",
            ("dockerfile",),
            id="both-dockerfiles",
        ),
        pytest.param(
            ["."],
            "['.'] is not a mapping; expected a build context or a build mapping",
            (),
            id="list",
        ),
        pytest.param({"context": 1}, "1 is not a string", ("context",), id="context-type"),
        pytest.param(
            {"shm_size": "lots"},
            "'lots' is not a size such as 512m, 1gb or 1024",
            ("shm_size",),
            id="shm-size",
        ),
        pytest.param(
            {"tags": "a:1"},
            "'a:1' is not a list; expected a list of strings",
            ("tags",),
            id="tags",
        ),
        pytest.param(
            {"secrets": [{"target": "x"}]},
            "a secret mapping needs 'source'",
            ("secrets", 0),
            id="secret",
        ),
        pytest.param(
            {"no_cache": "sometimes"},
            "'sometimes' is not a boolean (true or false)",
            ("no_cache",),
            id="no-cache",
        ),
        pytest.param(
            {"args": {"A": {"b": 1}}},
            "{'b': 1} is not a string, number or boolean",
            ("args", "A"),
            id="args-value",
        ),
        pytest.param(
            {"image": "x"},
            "unknown key 'image' in build; expected additional_contexts, args, cache_from,"
            " cache_to, context, dockerfile, dockerfile_inline, entitlements, extra_hosts,"
            " isolation, labels, network, no_cache, platforms, privileged, provenance, pull,"
            " sbom, secrets, shm_size, ssh, tags, target, ulimits",
            ("image",),
            id="unknown-key",
        ),
    ],
)
def test_errors(value: object, message: str, path: tuple[str | int, ...]) -> None:
    with normalize_error(message, path):
        parse(value)
