"""graph.py: the build graph from the resolved model, its Mermaid and dot text (escaping and
ids included), and the generated graph region of README.md."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from generator import commands
from generator.errors import MarkerError, RenderError, UsageError
from generator.graph import (
    BASE,
    BEGIN,
    END,
    FORMATS,
    ROLES,
    SERVICE,
    Node,
    dot_string,
    draw,
    edition_graph,
    ident,
    mermaid_text,
    node_id,
    update_readme,
)
from generator.plan import bake_plan
from generator.resolve import Resolved, service_bases
from tests.conftest import MINIMAL_PROJECT, REPO_ROOT, copy_real_project

EDITIONS = {
    "editions/simple.yaml": "services: [api]\n",
    "editions/full.yaml": "description: Everything\nextends: simple\nservices: [store]\n",
}
SIMPLE_MERMAID = """\
flowchart LR
    b_python_base(["python-base"])
    b_python_builder(["python-builder"])
    s_api["api"]
    b_python_base --> b_python_builder
    b_python_builder -.->|"builder"| s_api
    b_python_base -->|"runtime"| s_api
"""
SIMPLE_DOT = """\
digraph "simple" {
    rankdir=LR;
    node [shape=box];
    b_python_base [label="python-base", style=rounded];
    b_python_builder [label="python-builder", style=rounded];
    s_api [label="api"];
    b_python_base -> b_python_builder;
    b_python_builder -> s_api [label="builder", style=dashed];
    b_python_base -> s_api [label="runtime"];
}
"""
# Every edition, in name order, as a subgraph whose ids end in the edition.
ALL_MERMAID = """\
flowchart LR
    subgraph e_full["full"]
        b_python_base__full(["python-base"])
        b_python_builder__full(["python-builder"])
        b_rust_builder__full(["rust-builder"])
        b_rust_runtime__full(["rust-runtime"])
        s_api__full["api"]
        s_store__full["store"]
        b_python_base__full --> b_python_builder__full
        b_rust_builder__full --> b_rust_runtime__full
        b_python_builder__full -.->|"builder"| s_api__full
        b_python_base__full -->|"runtime"| s_api__full
        b_rust_builder__full -.->|"builder"| s_store__full
        b_rust_runtime__full -->|"runtime"| s_store__full
    end
    subgraph e_simple["simple"]
        b_python_base__simple(["python-base"])
        b_python_builder__simple(["python-builder"])
        s_api__simple["api"]
        b_python_base__simple --> b_python_builder__simple
        b_python_builder__simple -.->|"builder"| s_api__simple
        b_python_base__simple -->|"runtime"| s_api__simple
    end
"""
ALL_DOT_HEAD = 'digraph "sutra" {\n    rankdir=LR;\n    node [shape=box];\n'
SIMPLE_CLUSTER_DOT = """\
    subgraph "cluster_simple" {
        label="simple";
        b_python_base__simple [label="python-base", style=rounded];
        b_python_builder__simple [label="python-builder", style=rounded];
        s_api__simple [label="api"];
        b_python_base__simple -> b_python_builder__simple;
        b_python_builder__simple -> s_api__simple [label="builder", style=dashed];
        b_python_base__simple -> s_api__simple [label="runtime"];
    }
}
"""

# What a line of each format may be: a node, an edge, a subgraph's start or end.
_ID = r"[bs]_[a-z0-9_]+"
_LABEL = r'"(?:[^"\s:#%\\`<>&]|#\d+;)*"'
MERMAID_LINE = re.compile(
    rf"flowchart LR|(    )+(subgraph e_[a-z0-9_]+\[{_LABEL}\]|end"
    rf"|{_ID}(\({_LABEL}\)|\[{_LABEL}\]|\(\[{_LABEL}\]\))"
    rf"|{_ID} (-->|-\.->)(\|{_LABEL}\|)? {_ID})"
)
_DOT_STRING = r'"(?:[^"\\\n]|\\.)*"'
DOT_LINE = re.compile(
    rf"digraph {_DOT_STRING} \{{|\}}|(    )+(rankdir=LR;|node \[shape=box\];|\}}"
    rf"|subgraph {_DOT_STRING} \{{|label={_DOT_STRING};"
    rf"|{_ID} \[label={_DOT_STRING}(, style=(rounded|dashed))?\];"
    rf"|{_ID} -> {_ID}( \[label={_DOT_STRING}(, style=dashed)?\])?;)"
)
KEYWORDS = {"end", "graph", "subgraph", "flowchart", "style", "class", "click", "default"}
KEYWORDS |= {"node", "edge", "digraph", "strict"}


class TextSnapshot(SingleFileSnapshotExtension):
    """One plain-text snapshot file per output, diffable as it is."""

    _write_mode = WriteMode.TEXT
    file_extension = "txt"


@pytest.fixture
def minimal(make_project: Callable[..., Path]) -> Resolved:
    """The minimal project with two editions, resolved."""
    return commands.load(make_project(EDITIONS))


@pytest.fixture(scope="module")
def real() -> Resolved:
    return commands.load(REPO_ROOT)


# --- the graph is the bake file's links -------------------------------------------------------


def test_every_edition_graph_has_the_links_of_the_bake_file(real: Resolved) -> None:
    """An edge for each `target:` context of each of the edition's targets, and no other."""
    targets = {t.name: t for t in bake_plan(real).targets}
    for name, edition in real.editions.items():
        graph = edition_graph(real, name)
        assert {n.name for n in graph.nodes} == {*edition.bases, *edition.services}
        contexts = {
            (value.removeprefix("target:"), node.name)
            for node in graph.nodes
            for _, value in targets[node.name].contexts
        }
        assert {(e.source.name, e.target.name) for e in graph.edges} == contexts
        assert len(graph.edges) == len(contexts)


def test_service_edges_carry_the_role_of_their_base(real: Resolved) -> None:
    for name in real.editions:
        graph = edition_graph(real, name)
        for node in (n for n in graph.nodes if n.kind == SERVICE):
            roles = {(e.role, e.source.name) for e in graph.edges if e.target == node}
            assert roles == set(zip(ROLES, service_bases(real.project, node.name), strict=True))
        base_edges = [e for e in graph.edges if e.target.kind == BASE]
        assert {e.role for e in base_edges} <= {""}
        assert {e.source.kind for e in graph.edges} == {BASE}


def test_nodes_are_bases_then_services_each_sorted(real: Resolved) -> None:
    for name, edition in real.editions.items():
        nodes = edition_graph(real, name).nodes
        assert nodes == (
            *(Node(b, BASE) for b in sorted(edition.bases)),
            *(Node(s, SERVICE) for s in sorted(edition.services)),
        )


def test_edges_follow_the_node_order(real: Resolved) -> None:
    graph = edition_graph(real, real.project.settings.default_edition)
    order = {node: i for i, node in enumerate(graph.nodes)}
    keys = [(order[e.target], e.role, order[e.source]) for e in graph.edges]
    assert keys == sorted(keys)


def test_unknown_edition(minimal: Resolved) -> None:
    with pytest.raises(UsageError) as info:
        edition_graph(minimal, "platinum")
    assert str(info.value) == "unknown edition 'platinum'; known editions: full, simple"
    assert info.value.exit_code == 2


def test_unknown_format(minimal: Resolved) -> None:
    with pytest.raises(UsageError) as info:
        draw(minimal, "simple", "svg")
    assert str(info.value) == "unknown graph format 'svg'; formats: mermaid, dot"


# --- the text ---------------------------------------------------------------------------------


def test_one_edition_as_mermaid_and_dot(minimal: Resolved) -> None:
    assert draw(minimal, "simple") == SIMPLE_MERMAID
    assert draw(minimal, "simple", "dot") == SIMPLE_DOT


def test_every_edition_as_subgraphs(minimal: Resolved) -> None:
    assert draw(minimal) == ALL_MERMAID
    text = draw(minimal, fmt="dot")
    assert text.startswith(ALL_DOT_HEAD + '    subgraph "cluster_full" {\n')
    assert text.endswith(SIMPLE_CLUSTER_DOT)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("edition", [None, "simple", "community", "enterprise"])
def test_every_line_is_a_node_an_edge_or_a_subgraph(
    real: Resolved, fmt: str, edition: str | None
) -> None:
    pattern = MERMAID_LINE if fmt == "mermaid" else DOT_LINE
    for line in draw(real, edition, fmt).splitlines():
        assert pattern.fullmatch(line), line


@pytest.mark.parametrize("fmt", FORMATS)
def test_real_enterprise_snapshot(real: Resolved, fmt: str, snapshot: SnapshotAssertion) -> None:
    assert draw(real, "enterprise", fmt) == snapshot(extension_class=TextSnapshot)


def test_output_is_byte_identical_across_runs_and_trees(tmp_path: Path) -> None:
    one = commands.load(copy_real_project(tmp_path / "one"))
    two = commands.load(copy_real_project(tmp_path / "two"))
    for fmt in FORMATS:
        for edition in [None, *one.editions]:
            assert draw(one, edition, fmt) == draw(two, edition, fmt) == draw(one, edition, fmt)


def reversed_entries(text: str, section: str) -> str:
    """`text` with the entries of one top-level YAML section in reverse order."""
    head, rest = text.split(f"\n{section}:\n", 1)
    match = re.search(r"(?m)^\S", rest)
    cut = match.start() if match else len(rest)
    entries = re.split(r"(?m)^(?=  \S)", rest[:cut])[1:]
    return f"{head}\n{section}:\n" + "".join(reversed(entries)) + rest[cut:]


def test_output_does_not_depend_on_the_order_of_the_specs(
    make_project: Callable[..., Path],
) -> None:
    """Bases and services listed in another order draw the same graph."""
    shuffled = reversed_entries(reversed_entries(MINIMAL_PROJECT, "bases"), "services")
    files = {**EDITIONS, "editions/project.yaml": shuffled}
    reordered = commands.load(make_project(files, name="reordered"))
    original = commands.load(make_project(EDITIONS, name="original"))
    assert shuffled.index("  store:") < shuffled.index("  api:")
    assert shuffled.index("  rust-runtime:") < shuffled.index("  python-base:")
    for fmt in FORMATS:
        for edition in (None, "simple", "full"):
            assert draw(reordered, edition, fmt) == draw(original, edition, fmt)


# --- ids --------------------------------------------------------------------------------------

TARGET_NAMES = st.from_regex(r"[a-z][a-z0-9]{0,5}(?:-[a-z0-9]{1,5}){0,3}", fullmatch=True)
EDITION_NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
KINDS = st.sampled_from([BASE, SERVICE])


@given(
    st.tuples(KINDS, TARGET_NAMES, EDITION_NAMES | st.none()),
    st.tuples(KINDS, TARGET_NAMES, EDITION_NAMES | st.none()),
)
def test_ids_of_different_nodes_differ(
    a: tuple[str, str, str | None], b: tuple[str, str, str | None]
) -> None:
    """Within one view (all editions, or one) ids are unique, and valid in both formats."""
    id_a, id_b = node_id(Node(a[1], a[0]), a[2]), node_id(Node(b[1], b[0]), b[2])
    for made in (id_a, id_b):
        assert re.fullmatch(r"[bs]_[a-z0-9_]+", made)
        assert made not in KEYWORDS
    if (a[2] is None) == (b[2] is None):
        assert (id_a == id_b) == (a == b)


def test_ids() -> None:
    assert node_id(Node("python-base", BASE)) == "b_python_base"
    assert node_id(Node("end", SERVICE)) == "s_end"
    assert node_id(Node("sutra-api", SERVICE), "a-b") == "s_sutra_api__a_b"
    assert ident("community") == "community"


@pytest.mark.parametrize("name", ["Api", "a_b", "a b", 'a"b', "", "é"])
def test_ident_refuses_what_validation_refuses(name: str) -> None:
    with pytest.raises(RenderError, match="cannot be part of a graph id"):
        ident(name)


# --- label escaping ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sutra-api", "sutra-api"),
        ('say "hi"', "say#32;#34;hi#34;"),
        ("#35;", "#35;35#59;"),
        ("<b>&</b>", "#60;b#62;#38;#60;/b#62;"),
        ("direction LR", "direction#32;LR"),
        ("%%{init: {}}%%", "#37;#37;#123;init#58;#32;#123;#125;#125;#37;#37;"),
        ("`md`", "#96;md#96;"),
        ("a\\nb", "a#92;nb"),
        ("one\ntwo", "one#10;two"),
        ("café 中", "café#32;中"),
        ("", ""),
    ],
)
def test_mermaid_text(text: str, expected: str) -> None:
    assert mermaid_text(text) == expected


def mermaid_unescape(text: str) -> str:
    """What Mermaid shows for a quoted label: entity codes decoded (the reference)."""
    assert re.fullmatch(r"(?:[^\W_]|[._,/()+=@!?'*-]|#\d+;)*", text), text
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), text)


@given(st.text())
def test_mermaid_text_round_trips_any_text(text: str) -> None:
    assert mermaid_unescape(mermaid_text(text)) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sutra-api", '"sutra-api"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("C:\\temp\\", '"C:\\\\temp\\\\"'),
        ("\\N \\G", '"\\\\N \\\\G"'),
        ("one\ntwo\r\nthree\u2028four", '"one\\ntwo\\nthree\\nfour"'),
        ("<b>x</b> {a; b} -> //", '"<b>x</b> {a; b} -> //"'),
        ("", '""'),
    ],
)
def test_dot_string(text: str, expected: str) -> None:
    assert dot_string(text) == expected


def dot_unquote(literal: str) -> str:
    """What Graphviz shows for a quoted label (the reference): `\\\\`, `\\"` and `\\n`."""
    assert literal[0] == literal[-1] == '"' and "\n" not in literal
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\":
            out.append({"\\": "\\", '"': '"', "n": "\n"}[body[i + 1]])
            i += 2
        else:
            assert body[i] != '"', f"raw quote in {literal!r}"
            out.append(body[i])
            i += 1
    return "".join(out)


@given(st.text(st.characters(exclude_characters="\r\x0b\x0c\x85\u2028\u2029")))
def test_dot_string_round_trips_text_with_newlines(text: str) -> None:
    assert dot_unquote(dot_string(text)) == text


# --- the README region ------------------------------------------------------------------------

MARKER = "<!-- sutrabuild graph {}: generated by `sutrabuild render`, do not edit -->\n"
BEFORE = "# Demo\n\nIntro, with `code` and a ```fence``` mention.\n\n"
AFTER = "\nOutro: <!-- a comment --> and more.\n"


def region(edition: str, body: str = "") -> str:
    return MARKER.format(edition) + body + END + "\n"


def test_the_marker_constants_agree() -> None:
    assert BEGIN.fullmatch(MARKER.format("enterprise").strip())


def test_a_readme_without_markers_is_not_touched(minimal: Resolved) -> None:
    assert update_readme(BEFORE + AFTER, minimal) is None
    assert update_readme(BEFORE + END + "\n" + AFTER, minimal) is None
    assert update_readme("", minimal) is None


def test_only_the_region_is_redrawn(minimal: Resolved) -> None:
    stale = BEFORE + region("simple", "```mermaid\nflowchart TB\n```\nhand-written\n") + AFTER
    fresh = BEFORE + region("simple", f"```mermaid\n{SIMPLE_MERMAID}```\n") + AFTER
    assert update_readme(stale, minimal) == fresh
    assert update_readme(fresh, minimal) == fresh


def test_every_region_gets_its_own_edition(minimal: Resolved) -> None:
    text = BEFORE + region("full") + "\nbetween\n\n" + region("simple") + AFTER.rstrip("\n")
    expected = (
        BEFORE
        + region("full", f"```mermaid\n{draw(minimal, 'full')}```\n")
        + "\nbetween\n\n"
        + region("simple", f"```mermaid\n{SIMPLE_MERMAID}```\n")
        + AFTER.rstrip("\n")
    )
    assert update_readme(text, minimal) == expected


def test_line_endings_outside_the_region_stay_as_they_are(minimal: Resolved) -> None:
    """CRLF, and a line separator inside a line, are kept byte for byte; only \\n ends a line."""
    before, after = "# Demo\r\n\r\nIntro\u2028still intro\r\n", "\r\nOutro\r\n"
    text = before + MARKER.format("simple").replace("\n", "\r\n") + END + "\r\n" + after
    fresh = update_readme(text, minimal)
    assert fresh == (
        before
        + MARKER.format("simple").replace("\n", "\r\n")
        + f"```mermaid\n{SIMPLE_MERMAID}```\n"
        + END
        + "\r\n"
        + after
    )


def test_an_end_marker_without_a_final_newline(minimal: Resolved) -> None:
    text = BEFORE + MARKER.format("simple") + END
    assert update_readme(text, minimal) == (
        BEFORE + MARKER.format("simple") + f"```mermaid\n{SIMPLE_MERMAID}```\n" + END
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            BEFORE + MARKER.format("simple") + "```mermaid\n```\n" + AFTER,
            f"README.md:5: graph marker without {END} after it",
        ),
        (
            BEFORE + MARKER.format("simple") + region("full") + AFTER,
            f"README.md:5: graph marker without {END} after it",
        ),
        (
            BEFORE + region("platinum") + AFTER,
            "README.md:5: graph marker: unknown edition 'platinum'; known editions: full, simple",
        ),
    ],
    ids=["no-end", "begin-before-end", "unknown-edition"],
)
def test_broken_markers_are_errors(minimal: Resolved, text: str, message: str) -> None:
    with pytest.raises(MarkerError) as info:
        update_readme(text, minimal)
    assert str(info.value) == message
    assert info.value.exit_code == 2


def test_the_committed_readme_shows_the_current_enterprise_graph(real: Resolved) -> None:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert MARKER.format("enterprise") + "```mermaid\n" + draw(real, "enterprise") in text
    assert update_readme(text, real) == text
