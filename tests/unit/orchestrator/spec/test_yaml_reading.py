"""How Compose files are read as YAML: scalars as Compose's decoder reads
them, aliases built anew where they are used, and bad input reported with
its line instead of a traceback."""

import textwrap
from pathlib import Path

import pytest

from orchestrator.errors import SpecError
from orchestrator.spec import LoadOptions, ProjectSpec, load_project
from orchestrator.spec.located_yaml import MAX_OBJECTS


def write(directory: Path, text: str, name: str = "compose.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(path: Path, shell: dict[str, str] | None = None) -> ProjectSpec:
    return load_project([path], shell=shell or {}, warn=lambda _: None, options=LoadOptions())


def only_problem(path: Path) -> str:
    with pytest.raises(SpecError) as caught:
        load(path)
    assert len(caught.value.problems) == 1
    return str(caught.value)


def test_an_anchor_merged_into_two_services_is_interpolated_once_for_each(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """
        x-common: &common
          image: alpine
          environment:
            PRICE: "5$$"
            LITERAL: "$${HOME}"
        services:
          a:
            <<: *common
          b:
            <<: *common
        """,
    )
    project = load(path, shell={"HOME": "/root"})
    for name in ("a", "b"):
        assert project.service(name).environment == (("PRICE", "5$"), ("LITERAL", "${HOME}"))


def test_an_aliased_mapping_with_a_merge_key_is_read_the_same_each_time(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        x-base: &base
          image: alpine
          restart: always
        x-web: &web
          <<: *base
          restart: "no"
        services:
          web: *web
          copy: *web
        """,
    )
    project = load(path)
    assert [project.service(n).restart.mode.value for n in ("web", "copy")] == ["no", "no"]


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("22:22", "22:22"),  # YAML 1.1 would read 1342 (base 60)
        ("1:30", "1:30"),
        ("2001-01-01", "2001-01-01"),  # YAML 1.1 would read a date
        ("0440", "288"),  # octal, as Go reads it (`mode: 0440`)
        ("0o17", "15"),
        ("0x1F", "31"),
        ("0X1F", "31"),
        ("0b_", "0b_"),
        ("0x_1F", "31"),
        ("18446744073709551615", "18446744073709551615"),
        ("-12", "-12"),
        ("1_000", "1000"),
        ("1e3", "1000"),
        ("0.5", "0.5"),
        ("on", "on"),
        ("true", "true"),
    ],
)
def test_plain_scalars_are_read_as_compose_reads_them(
    tmp_path: Path, written: str, read: str
) -> None:
    path = write(
        tmp_path, f"services:\n  web:\n    image: alpine\n    labels:\n      v: {written}\n"
    )
    assert dict(load(path).service("web").labels) == {"v": read}


def test_nested_aliases_expanding_into_too_many_values_are_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = tmp_path / "compose.yaml"
    path.write_text("\n".join(lines) + "\nservices:\n  web:\n    image: alpine\n")
    message = only_problem(path)
    assert f"too many values once aliases are expanded (over {MAX_OBJECTS})" in message
    assert message.startswith(f"{path}:")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "services: &s\n  web:\n    image: alpine\n    labels: *s\n",
            ":1:11: an alias is used inside its own anchor",
        ),
        (
            "services:\n  web:\n    image: alpine\n    labels:\n      ? [a]\n      : b\n",
            ":5:9: a mapping, list or set cannot be a key",
        ),
        (
            "services:\n  web:\n    image: alpine\n    labels:\n      ? !!set {a}\n      : b\n",
            ":5:9: a mapping, list or set cannot be a key",
        ),
        (
            "services:\n  web:\n    image: alpine\n    stop_grace_period: 18446744073709551616\n",
            ":4:24: the number 18446744073709551616 is too large (64 bits)",
        ),
        (
            "services:\n  web:\n    image: alpine\n    labels: &l\n      <<: *l\n",
            ":4:13: an alias is used inside its own anchor",
        ),
        (
            "services:\n  web:\n    image: alpine\n    labels:\n      <<: [a]\n",
            ":5:12: `<<` merges a mapping or a list of mappings",
        ),
        (
            "x: " + "[" * 500 + "]" * 500 + "\nservices:\n  web:\n    image: alpine\n",
            ":1:103: x: nested more than 100 levels deep",
        ),
        (
            "services:\n  web:\n    image: alpine\n    labels:\n      x: " + "1" * 5000 + "\n",
            ":5:10: the number " + "1" * 40 + " is too large (64 bits)",
        ),
        (
            'services:\n  web:\n    image: alpine\n    labels:\n      x: "a\x07b"\n',
            ":5:12: invalid YAML: the character U+0007 is not allowed",
        ),
    ],
)
def test_unreadable_yaml_is_one_problem_with_its_line(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(text, encoding="utf-8")
    assert only_problem(path) == f"{path}{problem}"


def test_a_compose_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_bytes(b"services:\n  web:\n    image: alpine\n    labels:\n      x: caf\xe9\n")
    assert only_problem(path) == f"{path}:5: not UTF-8 text: byte 0xe9 cannot be decoded"


def test_keys_are_the_text_written_as_in_compose(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  true:\n    image: alpine\n  8080:\n    image: alpine\n")
    assert [service.name for service in load(path).services] == ["true", "8080"]


def test_a_number_key_and_the_same_text_quoted_are_one_key(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  1:\n    image: alpine\n  '1':\n    image: alpine\n")
    assert only_problem(path) == f"{path}:4:3: duplicate key '1' in one mapping"


def test_merged_mappings_keep_their_own_overrides_and_the_first_source_wins(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """
        x-e: &e {A: "1", B: b}
        x-f: &f {<<: *e, A: "2"}
        x-g: &g {A: "3", C: c}
        services:
          web:
            image: alpine
            environment:
              <<: [*f, *g]
              D: d
        """,
    )
    environment = dict(load(path).service("web").environment)
    assert environment == {"A": "2", "B": "b", "C": "c", "D": "d"}


def test_merged_keys_written_with_and_without_quotes_are_one_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        x-e: &e {"1": a}
        x-f: &f {<<: *e, 1: b}
        x-g: &g {1: c}
        services:
          web:
            image: alpine
            labels:
              <<: [*g, *f]
        """,
    )
    assert dict(load(path).service("web").labels) == {"1": "c"}
