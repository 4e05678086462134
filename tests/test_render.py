"""render.py: escaping filters, snapshots of every real output, and determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from generator import GENERATED_MARKER, commands
from generator.errors import GeneratorError, RenderError
from generator.paths import BAKE_FILE, base_image, dockerfile_path
from generator.render import comment, dockerfile_value, exec_form, hcl_list, hcl_string
from generator.workflows import workflow_plans
from tests.conftest import (
    PRINTABLE,
    REPO_ROOT,
    copy_real_project,
    invoke,
    make_minimal_project,
    project_with,
    read_tree,
    replace_once,
    yaml_quoted,
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
    """Decode a double-quoted Dockerfile ENV/ARG value the way BuildKit's shell lexer does.

    Inside double quotes a backslash escapes only `"`, `$` and itself and is kept before any
    other character; a bare `"` would end the value and a bare `$` would expand a variable.
    """
    assert literal[0] == literal[-1] == '"' and len(literal) >= 2
    assert "\n" not in literal, f"a newline ends the instruction: {literal!r}"
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] in '"$\\':
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
    "text", ["a\nRUN id", "a\rb", "tab\t", "nul\0", "\x1b[1m", "\x85", "\ud800"]
)
def test_dockerfile_value_refuses_what_a_dockerfile_cannot_carry(text: str) -> None:
    """Validation refuses these first; the filter must never write a line break regardless."""
    with pytest.raises(RenderError, match="cannot be a Dockerfile ENV/ARG value"):
        dockerfile_value(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Simple plus the control center", "Simple plus the control center"),
        ('say "hi" ${x} \\ `id`', 'say "hi" ${x} \\ `id`'),
        ("one\ntwo", "one two"),
        ("one\r\n\ngroup x {", "one group x {"),
        ("a\u2028b\u2029c\x85d\x0be\x0cf", "a b c d e f"),
        ("", ""),
    ],
)
def test_comment_stays_on_its_line(value: str, expected: str) -> None:
    assert comment(value) == expected


@given(st.text())
def test_comment_is_one_line_of_any_text(text: str) -> None:
    assert len(("# " + comment(text)).splitlines()) == 1


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


def test_real_outputs_are_the_workflows_the_bake_file_and_a_dockerfile_pair_per_image(
    real: dict[str, str],
) -> None:
    project = commands.load(REPO_ROOT).project
    images = [*(base_image(project, b) for b in project.bases), *project.services]
    expected = [BAKE_FILE, *(w.path for w in workflow_plans(commands.load(REPO_ROOT)))]
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


# --- free text: anything printable comes back exactly, and never changes the structure ---------

# What users write: quotes, backslashes, backticks, templates, JSON, Windows paths, and text
# built to close a literal or a comment early.
HOSTILE = [
    'Sutra\'s "fast" reports',
    "${HOME} and %{ if true }x%{ endif } and $${x} %%{y}",
    "C:\\temp\\x",
    '{"a": "b\\n"}',
    "run `id` $(id) $PATH \\$HOME",
    "é—漢字, ünïcödé ✓ 😀",
    "ends with a backslash \\",
    '" \\\\ RUN id',
    '"} target "evil" { context = "/',
    "# not a comment\u2028RUN id\u2029# and not a line",
    " \u00a0leading and trailing spaces\u3000 ",
]
HCL_STRING_PAIR = re.compile(r'^ +"([^"]+)" += (".*")$')
DOCKERFILE_VALUE = re.compile(r'^(?:ENV |ARG | {4})(\w+)=("(?:[^"\\\n]|\\.)*")(?: \\)?$')
QUOTED = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def render_with_text(root: Path, text: str) -> dict[str, str]:
    """The minimal project with `text` in every free-text field, rendered in memory."""
    quoted = yaml_quoted(text)
    api = (
        f"    port: 8000\n    description: {quoted}\n    env: {{HOSTILE: {quoted}}}\n"
        f"    args: {{HOSTILE: {quoted}}}\n    command: [app, {quoted}]\n"
    )
    project = project_with("    port: 8000\n", api)
    project = replace_once(project, "  name: sutra\n", f"  name: sutra\n  vendor: {quoted}\n")
    edition = f"description: {quoted}\nservices: [api, store]\n"
    make_minimal_project(root, {"editions/project.yaml": project, "editions/simple.yaml": edition})
    return commands.rendered(root)


def hcl_strings(block: str) -> dict[str, str]:
    """Every `"KEY" = "literal"` line of a bake block, the literal decoded."""
    pairs = (HCL_STRING_PAIR.match(line) for line in block.split("\n"))
    return {m[1]: hcl_unquote(m[2]) for m in pairs if m}


def dockerfile_values(text: str) -> dict[str, str]:
    """`ENV NAME` / `ARG NAME` -> the decoded value, for every quoted value in a Dockerfile."""
    values, instruction = {}, ""
    for line in text.split("\n"):
        if line.startswith(("ENV ", "ARG ")):
            instruction = line[:3]
        if match := DOCKERFILE_VALUE.match(line):
            values[f"{instruction} {match[1]}"] = dockerfile_unquote(match[2])
    return values


def skeleton(text: str) -> str:
    """A generated file with its comments and string literals emptied: what text must not touch.

    Split on newlines only: U+2028 in a literal is not a line end for bake or BuildKit.
    """
    lines = ("#" if line.startswith("#") else line for line in text.split("\n"))
    return QUOTED.sub('""', "\n".join(lines))


def assert_text_comes_back(files: dict[str, str], baseline: dict[str, str], text: str) -> None:
    """`text` is in every output exactly, and every output is shaped as without it."""
    assert list(files) == list(baseline)
    for path in files:
        assert skeleton(files[path]) == skeleton(baseline[path]), path
    bake = files["docker-bake.hcl"]
    assert hcl_strings(target_block(bake, "_common"))["org.opencontainers.image.vendor"] == text
    api = hcl_strings(target_block(bake, "api"))
    assert api["org.opencontainers.image.description"] == text
    assert api["HOSTILE"] == text
    [note] = re.findall(r'\n# (.*)\ngroup "simple" \{\n', bake)
    assert len(f"# {note}".splitlines()) == 1 and note.split() == text.split()
    dockerfile = files["dockerfiles/api.Dockerfile"]
    values = dockerfile_values(dockerfile)
    assert (values["ENV HOSTILE"], values["ARG HOSTILE"]) == (text, text)
    [cmd] = [line for line in dockerfile.split("\n") if line.startswith("CMD ")]
    assert json.loads(cmd.removeprefix("CMD ")) == ["app", text]


@pytest.fixture(scope="module")
def text_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("free-text")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return render_with_text(tmp_path_factory.mktemp("baseline"), "x")


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_comes_back_from_every_output(
    text_root: Path, baseline: dict[str, str], text: str
) -> None:
    assert_text_comes_back(render_with_text(text_root, text), baseline, text)


@settings(deadline=None, max_examples=60)
@given(text=PRINTABLE)
def test_any_printable_text_comes_back_from_every_output(
    text_root: Path, baseline: dict[str, str], text: str
) -> None:
    """Through validation, HCL and the Dockerfile; bake's NFC rule is checked by validation."""
    assert_text_comes_back(render_with_text(text_root, text), baseline, text)


def test_hostile_text_is_valid_from_the_cli(tmp_path: Path) -> None:
    """The issue's example passes `validate` and `render` instead of exiting 2."""
    render_with_text(tmp_path, 'Sutra\'s "fast" reports')
    for command in ("validate", "render"):
        result = invoke(command, "-C", str(tmp_path))
        assert (result.exit_code, result.stderr) == (0, ""), result.stderr
    assert 'Sutra\'s \\"fast\\" reports' in (tmp_path / BAKE_FILE).read_text()


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
