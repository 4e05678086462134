"""render.py: escaping filters, snapshots of every real output, and determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from generator import GENERATED_MARKER, commands
from generator.errors import GeneratorError
from generator.plan import BAKE_FILE, base_image, dockerfile_path
from generator.render import dockerfile_value, exec_form, hcl_list, hcl_string
from tests.conftest import (
    REPO_ROOT,
    copy_real_project,
    make_minimal_project,
    project_with,
    read_tree,
    replace_once,
)


def real_outputs() -> list[str]:
    """Every file the real specs render to, so a new service's files get snapshots of their own.

    Invalid specs collect no snapshot cases; the `real` fixture then fails every test with the
    spec problems.
    """
    try:
        return list(commands.rendered(REPO_ROOT))
    except GeneratorError:
        return []


REAL_OUTPUTS = real_outputs()


class TextSnapshot(SingleFileSnapshotExtension):
    """One plain-text snapshot file per generated file, diffable as it is."""

    _write_mode = WriteMode.TEXT
    file_extension = "txt"


@pytest.fixture(scope="module")
def real() -> dict[str, str]:
    return commands.rendered(REPO_ROOT)


# --- filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", '"plain"'),
        ("", '""'),
        ('say "hi"', '"say \\"hi\\""'),
        ("C:\\temp", '"C:\\\\temp"'),
        ("${HOME}", '"$${HOME}"'),
        ("%{ if x }", '"%%{ if x }"'),
        ("a\nb", '"a\\nb"'),
        ("a\r\tb", '"a\\r\\tb"'),
        ("\\${x}", '"\\\\$${x}"'),
        ("cost $5 or 100%", '"cost $5 or 100%"'),
        ("$${x}", '"$$${x}"'),
        (8000, '"8000"'),
    ],
)
def test_hcl_string(value: object, expected: str) -> None:
    assert hcl_string(value) == expected


def hcl_unquote(literal: str) -> str:
    """Decode an HCL quoted template that holds no interpolation (the reference for the filter)."""
    assert literal[0] == literal[-1] == '"'
    body, out, i = literal[1:-1], [], 0
    escapes = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}
    while i < len(body):
        if body[i] == "\\":
            out.append(escapes[body[i + 1]])
            i += 2
        elif body.startswith(("$${", "%%{"), i):
            out.append(body[i] + "{")
            i += 3
        else:
            assert body[i] != '"', f"raw quote in {literal!r}"
            assert not body.startswith(("${", "%{"), i), f"live template in {literal!r}"
            out.append(body[i])
            i += 1
    return "".join(out)


@given(st.text())
def test_hcl_string_round_trips_any_text(text: str) -> None:
    literal = hcl_string(text)
    assert "\n" not in literal
    assert hcl_unquote(literal) == text


@given(st.text(alphabet=st.sampled_from('${}%\\"ab\n')))
def test_hcl_string_round_trips_escape_heavy_text(text: str) -> None:
    assert hcl_unquote(hcl_string(text)) == text


def test_hcl_list() -> None:
    assert hcl_list([]) == "[]"
    assert hcl_list(["a", 'b"c', "${d}"]) == '["a", "b\\"c", "$${d}"]'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", '"plain"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("C:\\temp", '"C:\\\\temp"'),
        ("$HOME and ${HOME}", '"\\$HOME and \\${HOME}"'),
        ("http://sutra-storage:50051", '"http://sutra-storage:50051"'),
        (8000, '"8000"'),
    ],
)
def test_dockerfile_value(value: object, expected: str) -> None:
    assert dockerfile_value(value) == expected


def dockerfile_unquote(literal: str) -> str:
    """Decode a double-quoted Dockerfile ENV/ARG value the way BuildKit's shell lexer does."""
    assert literal[0] == literal[-1] == '"'
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\":
            out.append(body[i + 1])
            i += 2
        else:
            assert body[i] not in '"$', f"unescaped {body[i]!r} in {literal!r}"
            out.append(body[i])
            i += 1
    return "".join(out)


@given(st.text(st.characters(blacklist_categories=["Cc", "Cs"])))
def test_dockerfile_value_round_trips(text: str) -> None:
    assert dockerfile_unquote(dockerfile_value(text)) == text


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["python", "-m", "app"], '["python", "-m", "app"]'),
        (["sh", "-c", 'echo "$X"'], '["sh", "-c", "echo \\"$X\\""]'),
        ([], "[]"),
        (["café"], '["caf\\u00e9"]'),
    ],
)
def test_exec_form(values: list[str], expected: str) -> None:
    assert exec_form(values) == expected


@given(st.lists(st.text()))
def test_exec_form_is_a_json_array_of_the_same_strings(values: list[str]) -> None:
    text = exec_form(values)
    assert "\n" not in text
    assert json.loads(text) == values


# --- the real specs ---------------------------------------------------------------------------


def test_real_outputs_are_one_dockerfile_and_dockerignore_per_image(real: dict[str, str]) -> None:
    project = commands.load(REPO_ROOT).project
    images = [*(base_image(project, b) for b in project.bases), *project.services]
    expected = [BAKE_FILE]
    for image in images:
        expected += [dockerfile_path(image), dockerfile_path(image) + ".dockerignore"]
    assert list(real) == sorted(expected)
    assert list(real) == REAL_OUTPUTS


@pytest.mark.parametrize("path", REAL_OUTPUTS, ids=lambda p: p.removeprefix("dockerfiles/"))
def test_real_output_snapshot(real: dict[str, str], path: str, snapshot: SnapshotAssertion) -> None:
    assert real[path] == snapshot(extension_class=TextSnapshot)


def test_outputs_are_clean_text(real: dict[str, str]) -> None:
    for path, text in real.items():
        assert text.startswith(GENERATED_MARKER), path
        assert text.endswith("\n") and not text.endswith("\n\n"), path
        assert "\t" not in text and "\r" not in text, path
        for number, line in enumerate(text.splitlines(), 1):
            assert line == line.rstrip(), f"{path}:{number}: trailing whitespace"


def test_every_from_is_a_stage_an_upstream_image_or_a_bound_context(real: dict[str, str]) -> None:
    """A FROM naming nothing bake binds would pull `sutra-...` from Docker Hub."""
    bake = real["docker-bake.hcl"]
    bases = commands.load(REPO_ROOT).project.bases.values()
    upstream = {b.from_image for b in bases if b.from_image}
    for path, text in real.items():
        if not path.endswith(".Dockerfile"):
            continue
        image = path.removeprefix("dockerfiles/").removesuffix(".Dockerfile")
        block = target_block(bake, target_name(bake, image))
        bound = set(re.findall(r'^    "([^"]+)" = "target:[^"]+"$', block, re.MULTILINE))
        stages: set[str] = set()
        for line in text.splitlines():
            if line.startswith("FROM "):
                parts = line.split()
                assert parts[1] in stages | upstream | bound, f"{path}: {line}"
                if len(parts) == 4 and parts[2] == "AS":
                    stages.add(parts[3])


def test_dockerignore_lets_through_exactly_what_the_dockerfile_copies(
    real: dict[str, str],
) -> None:
    for path, text in real.items():
        if not path.endswith(".Dockerfile"):
            continue
        allowed = {
            line[1:].rstrip("/")
            for line in real[path + ".dockerignore"].splitlines()
            if line.startswith("!")
        }
        copied = set()
        for line in text.splitlines():
            if line.startswith("COPY ") and "--from=" not in line:
                args = [a for a in line.split()[1:] if not a.startswith("--")]
                copied |= {a.rstrip("/") for a in args[:-1]}
        assert copied == allowed, path


def test_allowlisted_paths_exist_in_the_real_contexts(real: dict[str, str]) -> None:
    bake = real["docker-bake.hcl"]
    for path, text in real.items():
        if not path.endswith(".dockerignore"):
            continue
        image = path.removeprefix("dockerfiles/").removesuffix(".Dockerfile.dockerignore")
        block = target_block(bake, target_name(bake, image))
        [context] = re.findall(r'^  context    = "([^"]+)"$', block, re.MULTILINE)
        for line in text.splitlines():
            if line.startswith("!"):
                assert (REPO_ROOT / context / line[1:]).exists(), f"{path}: {line}"


# --- escaping in real output ------------------------------------------------------------------


def test_allowed_specials_reach_the_output_escaped(tmp_path: Path) -> None:
    edit = (
        "    port: 8000\n"
        "    description: Costs $5, 100% fast\n"
        "    env: {PRICE: cost $5, DEBUG: false}\n"
        "    args: {EXTRA: 50%}\n"
        "    command: [sh, -c, 'exec app --price $PRICE']\n"
    )
    root = make_minimal_project(
        tmp_path, {"editions/project.yaml": project_with("    port: 8000\n", edit)}
    )
    files = commands.rendered(root)
    dockerfile = files["dockerfiles/api.Dockerfile"]
    assert 'ENV DEBUG="false" \\\n    PORT="8000" \\\n    PRICE="cost \\$5"\n' in dockerfile
    assert 'ARG EXTRA="50%"\n' in dockerfile
    assert 'CMD ["sh", "-c", "exec app --price $PRICE"]\n' in dockerfile
    block = target_block(files["docker-bake.hcl"], "api")
    assert '    "org.opencontainers.image.description" = "Costs $5, 100% fast"\n' in block
    assert '  args = {\n    "EXTRA" = "50%"\n  }\n' in block


# --- determinism ------------------------------------------------------------------------------


def target_name(bake: str, image: str) -> str:
    """The bake target whose tags are image_tags(IMAGE)."""
    [name] = re.findall(
        r'^target "([^"]+)" \{\n(?:  .*\n)*?  tags       = image_tags\("' + re.escape(image) + '"',
        bake,
        re.MULTILINE,
    )
    return name


def target_block(bake: str, name: str) -> str:
    """The text of `target "NAME" { ... }` in a rendered bake file."""
    start = bake.index(f'\ntarget "{name}" {{\n') + 1
    end = bake.index("\n}\n", start) + 3
    return bake[start:end]


def without_target(bake: str, name: str) -> str:
    block = target_block(bake, name)
    assert bake.count(block) == 1
    return bake.replace(block, "")


def test_rendering_is_deterministic_across_trees(tmp_path: Path) -> None:
    first = copy_real_project(tmp_path / "one")
    second = copy_real_project(tmp_path / "two")
    commands.render(first)
    commands.render(second)
    assert read_tree(first) == read_tree(second)
    assert {k: v.decode() for k, v in read_tree(first).items()} == commands.rendered(REPO_ROOT)


# The minimal project's api with a description and env, so every field below exists once.
DETAILED_API = project_with(
    "    port: 8000\n",
    "    description: Public REST API\n"
    "    port: 8000\n"
    '    env: {STORAGE_URL: "http://store:9000"}\n',
)


@pytest.mark.parametrize(
    ("old", "new", "changed"),
    [
        ("    port: 8000\n", "    port: 8080\n", {"dockerfiles/api.Dockerfile"}),
        ("Public REST API", "Public API", {"docker-bake.hcl"}),
        (
            "    port: 8000\n",
            "    port: 8000\n    args: {BUILD_MODE: fast}\n",
            {"dockerfiles/api.Dockerfile", "docker-bake.hcl"},
        ),
        (
            'STORAGE_URL: "http://store:9000"',
            'STORAGE_URL: "http://storage:9000", LOG_LEVEL: debug',
            {"dockerfiles/api.Dockerfile"},
        ),
    ],
    ids=["port", "description", "args", "env"],
)
def test_one_service_field_changes_only_that_service(
    tmp_path: Path, old: str, new: str, changed: set[str]
) -> None:
    root = make_minimal_project(tmp_path, {"editions/project.yaml": DETAILED_API})
    before = commands.rendered(root)
    project = root / "editions/project.yaml"
    project.write_text(replace_once(project.read_text(), old, new))
    after = commands.rendered(root)

    assert list(after) == list(before)
    assert {p for p in before if before[p] != after[p]} == changed
    assert without_target(after["docker-bake.hcl"], "api") == without_target(
        before["docker-bake.hcl"], "api"
    )
