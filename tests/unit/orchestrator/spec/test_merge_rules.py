"""Merging -f files by the Compose Specification's rules, one case per rule."""

from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import SpecError
from orchestrator.spec.render import service_data
from tests.unit.orchestrator.spec.compose_files import load_files


def merged_service(tmp_path: Path, base: str, override: str) -> dict[str, Any]:
    """Service `web` of base.yaml merged with override.yaml, as config shows it;
    services db and cache exist for web to depend on."""
    indent = " " * 4
    files = {
        "base.yaml": "services:\n  db: {image: pg}\n  cache: {image: redis}\n"
        "  web:\n    image: alpine\n"
        + "".join(f"{indent}{line}\n" for line in base.strip().splitlines()),
        "override.yaml": "services:\n  web:\n"
        + "".join(f"{indent}{line}\n" for line in override.strip().splitlines()),
    }
    project = load_files(tmp_path, files, use=("base.yaml", "override.yaml"))
    return service_data(project.service("web"))


@pytest.mark.parametrize(
    ("base", "override", "key", "expected"),
    [
        pytest.param("user: a", "user: b", "user", "b", id="scalar-replaced"),
        pytest.param(
            "command: [a, b]", "command: [c]", "command", ["c"], id="command-replaced"
        ),
        pytest.param(
            "entrypoint: a b", "entrypoint: [c]", "entrypoint", ["c"], id="entrypoint-replaced"
        ),
        pytest.param(
            "environment: [A=1, B=1]",
            "environment: {B: '2', C: '3'}",
            "environment",
            {"A": "1", "B": "2", "C": "3"},
            id="environment-list-and-map-merge-by-name",
        ),
        pytest.param(
            "labels: {a: '1'}", "labels: [b=2]", "labels", {"a": "1", "b": "2"}, id="labels-merge"
        ),
        pytest.param(
            "dns: [1.1.1.1, 8.8.8.8]",
            "dns: [8.8.8.8, 9.9.9.9]",
            "dns",
            ["1.1.1.1", "8.8.8.8", "9.9.9.9"],
            id="plain-values-append-without-repeats",
        ),
        pytest.param(
            "ports: ['8080:80']",
            "ports: ['8080:80', '9090:90']",
            "ports",
            [
                {"target": 80, "published": "8080", "protocol": "tcp", "mode": "ingress"},
                {"target": 90, "published": "9090", "protocol": "tcp", "mode": "ingress"},
            ],
            id="ports-unique-by-ip-target-published-protocol",
        ),
        pytest.param(
            "ports: ['8080:80']",
            "ports: ['8080:80/udp']",
            "ports",
            [
                {"target": 80, "published": "8080", "protocol": "tcp", "mode": "ingress"},
                {"target": 80, "published": "8080", "protocol": "udp", "mode": "ingress"},
            ],
            id="ports-other-protocol-appended",
        ),
        pytest.param(
            "volumes: ['/a:/data', '/b:/logs']",
            "volumes: ['/c:/data:ro']",
            "volumes",
            [
                {"type": "bind", "source": "/c", "target": "/data", "read_only": True,
                 "bind": {"create_host_path": True}},
                {"type": "bind", "source": "/b", "target": "/logs",
                 "bind": {"create_host_path": True}},
            ],
            id="volumes-unique-by-target",
        ),
        pytest.param(
            "depends_on: [db]",
            "depends_on: {cache: {condition: service_healthy}}",
            "depends_on",
            {
                "db": {"condition": "service_started", "required": True},
                "cache": {"condition": "service_healthy", "required": True},
            },
            id="depends-on-list-and-map-merge",
        ),
        pytest.param(
            "healthcheck: {test: [CMD, a, b], retries: 3}",
            "healthcheck: {test: [CMD, c]}",
            "healthcheck",
            {"test": ["CMD", "c"], "retries": 3},
            id="healthcheck-test-replaced-rest-merged",
        ),
        pytest.param(
            "environment: {A: '1', B: '2'}",
            "environment: !override {C: '3'}",
            "environment",
            {"C": "3"},
            id="override-tag-replaces",
        ),
        pytest.param(
            "dns: [1.1.1.1]", "dns: !override [9.9.9.9]", "dns", ["9.9.9.9"], id="override-list"
        ),
    ],
)  # fmt: skip
def test_merge_rule(tmp_path: Path, base: str, override: str, key: str, expected: Any) -> None:
    assert merged_service(tmp_path, base, override)[key] == expected


def test_reset_removes_what_the_earlier_file_set(tmp_path: Path) -> None:
    service = merged_service(
        tmp_path, "ports: ['80:80']\nuser: a", "ports: !reset []\nuser: !reset null"
    )
    assert "ports" not in service
    assert "user" not in service


def test_mappings_merge_deeply(tmp_path: Path) -> None:
    service = merged_service(
        tmp_path,
        "logging: {driver: json-file, options: {max-size: 1m}}",
        "logging: {options: {max-file: '3'}}",
    )
    assert service["logging"] == {
        "driver": "json-file",
        "options": {"max-size": "1m", "max-file": "3"},
    }


def test_a_problem_in_a_later_file_names_that_file_line_and_column(tmp_path: Path) -> None:
    files = {
        "base.yaml": "services:\n  web:\n    image: alpine\n",
        "override.yaml": "services:\n  web:\n    restart: sometimes\n",
    }
    with pytest.raises(SpecError) as caught:
        load_files(tmp_path, files, use=("base.yaml", "override.yaml"))
    assert str(caught.value) == (
        f"{tmp_path / 'override.yaml'}:3:5: services.web.restart: 'sometimes' is not one of "
        "no, always, on-failure[:N], unless-stopped"
    )


def test_a_service_defined_only_in_an_override_file_is_added(tmp_path: Path) -> None:
    files = {
        "base.yaml": "services:\n  web:\n    image: alpine\n",
        "override.yaml": "services:\n  db:\n    image: postgres\n",
    }
    project = load_files(tmp_path, files, use=("base.yaml", "override.yaml"))
    assert [s.name for s in project.services] == ["web", "db"]
    assert project.service("db").where("image").file == tmp_path / "override.yaml"
