"""specs.py: YAML loading, the path -> line map, JSON-path formatting and the size limits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from generator.errors import Problem, SpecError
from generator.specs import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_NODES,
    SpecFile,
    format_path,
    load_specs,
    parse_yaml,
    spec_paths,
)
from tests.conftest import REPO_ROOT, make_minimal_project

DOC = """\
# a comment line
project:
  name: sutra
  list:
    - first
    - b: 1
      c: 2
  flow: {k: [10, 20]}
when: 2024-01-01
"""


def problems_of(text: str, rel: str = "editions/t.yaml") -> list[str]:
    """The problems parse_yaml reports for `text`, as the CLI prints them."""
    with pytest.raises(SpecError) as info:
        parse_yaml(text, rel)
    return [str(p) for p in info.value.problems]


# --- format_path ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ((), "$"),
        (("services",), "$.services"),
        (("services", "sutra-api", "port"), "$.services.sutra-api.port"),
        (("services", 2), "$.services[2]"),
        (("bases", "rust-runtime", "bases", 0), "$.bases.rust-runtime.bases[0]"),
        (("env", "API_TOKEN"), "$.env.API_TOKEN"),
        (("env", "a.b"), "$.env['a.b']"),
        (("env", "it's"), '$.env["it\'s"]'),
        (("a", 0, 1, "b"), "$.a[0][1].b"),
    ],
)
def test_format_path(path: tuple[str | int, ...], expected: str) -> None:
    assert format_path(path) == expected


@pytest.mark.parametrize("key", ["my key", "tab\there", "new\nline", "colon: space"])
def test_format_path_is_one_token_whatever_the_key(key: str) -> None:
    """In `FILE:LINE: PATH: message` a path with blanks cannot be told from the message."""
    formatted = format_path(("services", key))
    assert formatted.startswith("$.services[")
    assert not any(ch.isspace() for ch in formatted), formatted


# --- the line map -----------------------------------------------------------------------------


def test_line_map_covers_block_flow_and_sequence_items() -> None:
    spec = parse_yaml(DOC, "editions/t.yaml")
    assert dict(spec.lines) == {
        (): 2,
        ("project",): 2,
        ("project", "name"): 3,
        ("project", "list"): 4,
        ("project", "list", 0): 5,
        ("project", "list", 1): 6,
        ("project", "list", 1, "b"): 6,
        ("project", "list", 1, "c"): 7,
        ("project", "flow"): 8,
        ("project", "flow", "k"): 8,
        ("project", "flow", "k", 0): 8,
        ("project", "flow", "k", 1): 8,
        ("when",): 9,
    }


def test_data_is_plain_and_timestamps_stay_text() -> None:
    spec = parse_yaml(DOC, "editions/t.yaml")
    assert spec.data == {
        "project": {"name": "sutra", "list": ["first", {"b": 1, "c": 2}], "flow": {"k": [10, 20]}},
        "when": "2024-01-01",
    }


def test_line_of_falls_back_to_the_nearest_ancestor() -> None:
    spec = parse_yaml(DOC, "editions/t.yaml")
    assert spec.line_of(("project", "list", 1, "c")) == 7
    assert spec.line_of(("project", "list", 1, "missing", 3)) == 6
    assert spec.line_of(("nowhere",)) == 2
    assert spec.line_of(()) == 2


def test_problem_is_located_by_path() -> None:
    spec = parse_yaml(DOC, "editions/t.yaml")
    problem = spec.problem(("project", "flow", "k", 1), "too big")
    assert problem == Problem("editions/t.yaml", 8, "$.project.flow.k[1]", "too big")
    assert str(problem) == "editions/t.yaml:8: $.project.flow.k[1]: too big"


def test_a_key_without_its_own_line_uses_the_line_of_its_mapping() -> None:
    spec = SpecFile("editions/x.yaml", {}, {(): 1, ("a",): 4})
    assert spec.line_of(("a", "b", "c")) == 4


def test_aliases_and_merge_keys_are_expanded() -> None:
    spec = parse_yaml("base: &b {x: 1}\ncopy: *b\nmerged:\n  <<: *b\n  y: 2\n", "e.yaml")
    assert spec.data == {"base": {"x": 1}, "copy": {"x": 1}, "merged": {"x": 1, "y": 2}}


# --- duplicate and odd keys -------------------------------------------------------------------


def test_duplicate_keys_are_all_reported_at_the_repeated_line() -> None:
    assert problems_of("a: 1\nb: 2\na: 3\nb: 4\n") == [
        "editions/t.yaml:3: $.a: duplicate key 'a'",
        "editions/t.yaml:4: $.b: duplicate key 'b'",
    ]


def test_duplicate_key_in_a_nested_flow_mapping() -> None:
    assert problems_of("top:\n  inner: {x: 1, y: 2, x: 3}\n") == [
        "editions/t.yaml:2: $.top.inner.x: duplicate key 'x'"
    ]


def test_duplicate_key_in_a_sequence_item() -> None:
    assert problems_of("items:\n  - name: a\n    name: b\n") == [
        "editions/t.yaml:3: $.items[0].name: duplicate key 'name'"
    ]


@pytest.mark.parametrize("key", ["1", "true", "null", "[a]", "{a: 1}"])
def test_non_string_keys_are_rejected(key: str) -> None:
    text = "ok: 1\n" + ("? " + key + "\n: 1\n" if key.startswith(("[", "{")) else key + ": 1\n")
    assert problems_of(text) == ["editions/t.yaml:2: $: keys must be strings"]


# --- YAML errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: b: c\n", "editions/t.yaml:1: $: invalid YAML: mapping values are not allowed here"),
        (
            "a:\n  - 1\n - 2\n",
            "editions/t.yaml:3: $: invalid YAML: expected <block end>, but found "
            "'<block sequence start>'",
        ),
        (
            "a: 1\n\tb: 2\n",
            "editions/t.yaml:2: $: invalid YAML: found character '\\t' that cannot start any token",
        ),
        (
            "a: 1\n---\nb: 2\n",
            "editions/t.yaml:2: $: invalid YAML: "
            "expected a single document, but found another document",
        ),
        (
            "a: *nope\n",
            "editions/t.yaml:1: $: invalid YAML: found undefined alias 'nope'",
        ),
    ],
)
def test_yaml_errors_are_located(text: str, expected: str) -> None:
    assert problems_of(text) == [expected]


def test_unclosed_quote_is_reported_where_the_quote_opens() -> None:
    """The end of the stream is not where the mistake is; the opening quote on line 2 is."""
    text = "a: 1\nb: 'unclosed\nc: 3\nd: 4\n"
    [problem] = problems_of(text)
    assert problem.startswith("editions/t.yaml:2: $: invalid YAML: "), problem
    assert "quoted scalar" in problem


def test_unknown_tags_on_collections_are_rejected() -> None:
    """A tag the safe loader cannot construct is an error whatever node carries it."""
    for text in ("a: !!python/object/apply:os.system [id]\n", "!!python/object:x.Y\na: 1\n"):
        [problem] = problems_of(text)
        assert problem.startswith("editions/t.yaml:1: $: invalid YAML: could not determine a "), (
            problem
        )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb: bell\x07\n", 2),
        ("a: 1\nb: 2\nc: nul\x00\n", 3),
        ("a: 1\nb: !!int x\n", 2),
        ("a: !!int ''\n", 1),
        ("a: 1\nb: !!float x\n", 2),
        ("a: 1\nb: !!bool maybe\n", 2),
    ],
    ids=["bell", "nul", "int", "empty-int", "float", "bool"],
)
def test_unreadable_scalars_are_located_problems_not_crashes(text: str, line: int) -> None:
    """Control characters and explicit tags with impossible values: one located problem each."""
    try:
        [problem] = problems_of(text)
    except Exception as exc:  # a crash here is the CLI printing a traceback
        pytest.fail(f"parse_yaml crashed: {exc!r}")
    assert re.fullmatch(rf"editions/t\.yaml:{line}: \$\S*: invalid YAML: [^\n]+", problem), problem


# --- limits -----------------------------------------------------------------------------------


def test_depth_limit_is_exact() -> None:
    """The innermost of N nested lists is at depth N - 1: MAX_DEPTH is allowed, one more is not."""
    deepest_ok = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    parse_yaml(deepest_ok, "e.yaml")
    too_deep = "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2)
    assert problems_of(too_deep, "e.yaml") == [
        "e.yaml:1: $: document too large: nested deeper than 32 levels"
    ]


def test_node_limit_is_exact() -> None:
    """A list of N scalars is N + 1 values."""
    parse_yaml("[" + ",".join(["x"] * (MAX_NODES - 1)) + "]", "e.yaml")
    assert problems_of("[" + ",".join(["x"] * MAX_NODES) + "]", "e.yaml") == [
        "e.yaml:1: $: document too large: more than 100000 values (after expanding aliases)"
    ]


def test_recursive_alias_is_too_deep_not_a_hang() -> None:
    assert problems_of("a: &x [*x]\n", "e.yaml") == [
        "e.yaml:1: $: document too large: nested deeper than 32 levels"
    ]


def test_size_limit_counts_bytes_not_characters() -> None:
    parse_yaml("#" * MAX_BYTES, "e.yaml")
    expected = ["e.yaml:1: $: file is larger than 1048576 bytes"]
    assert problems_of("#" * (MAX_BYTES + 1), "e.yaml") == expected
    assert problems_of("#" + "é" * (MAX_BYTES // 2), "e.yaml") == expected


# --- files ------------------------------------------------------------------------------------


def test_spec_paths_puts_project_first_then_editions_by_name(tmp_path: Path) -> None:
    make_minimal_project(
        tmp_path,
        {
            "editions/zeta.yaml": "services: [api]\n",
            "editions/alpha.yaml": "services: [api]\n",
            "editions/notes.txt": "not a spec\n",
        },
    )
    assert [p.relative_to(tmp_path).as_posix() for p in spec_paths(tmp_path)] == [
        "editions/project.yaml",
        "editions/alpha.yaml",
        "editions/simple.yaml",
        "editions/zeta.yaml",
    ]


def test_load_specs_of_the_real_repo() -> None:
    specs = load_specs(REPO_ROOT)
    editions = sorted(
        p.name for p in (REPO_ROOT / "editions").glob("*.yaml") if p.name != "project.yaml"
    )
    assert [s.path for s in specs] == [
        "editions/project.yaml",
        *(f"editions/{name}" for name in editions),
    ]
    for spec in specs:
        assert spec.data == yaml.safe_load((REPO_ROOT / spec.path).read_text()), spec.path


def test_load_specs_reports_every_file(tmp_path: Path) -> None:
    make_minimal_project(
        tmp_path,
        {
            "editions/project.yaml": None,
            "editions/simple.yaml": "a: 1\na: 2\n",
            "editions/broken.yaml": b"\xff\n",
        },
    )
    with pytest.raises(SpecError) as info:
        load_specs(tmp_path)
    assert str(info.value) == (
        "editions/broken.yaml:1: $: not UTF-8 text: invalid start byte\n"
        "editions/project.yaml:1: $: file not found\n"
        "editions/simple.yaml:2: $.a: duplicate key 'a'"
    )


def test_unreadable_spec_is_a_problem(tmp_path: Path) -> None:
    make_minimal_project(tmp_path)
    (tmp_path / "editions/dir.yaml").mkdir()
    with pytest.raises(SpecError) as info:
        load_specs(tmp_path)
    assert str(info.value) == "editions/dir.yaml:1: $: cannot read: Is a directory"
