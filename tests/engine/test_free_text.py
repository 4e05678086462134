"""Free text on a real engine: bake and the built image hold exactly what the spec says."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from generator import commands
from generator.render import dockerfile_value, hcl_string
from tests.conftest import PRINTABLE, replace_once, yaml_quoted
from tests.engine.helpers import REPO, SUTRABUILD, bake, run

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("engine")]

SERVICE = "sutra-grid-master"  # Rust, standard library only: builds from the stand-ins alone
DESCRIPTION = (
    'Sutra\'s "fast" grid `id` ${HOME} %{ if true }x%{ endif } $${x} é—漢字 C:\\temp\\x \\'
)
ENV = {
    "SUTRA_CONFIG": '{"a": "b\\n", "path": "C:\\\\temp\\\\x"}',
    "SUTRA_WIN_PATH": "C:\\temp\\x",
    "SUTRA_MIXED": DESCRIPTION,
}
ARGS = {"SUTRA_PATTERN": '^"(?:[^"\\\\]|\\\\.)*"$ costs $5 or 100%{', "SUTRA_MIXED": DESCRIPTION}


def as_bake_prints(text: str) -> str:
    """How `bake --print` shows a label or arg: it escapes `${` and `%{` again, so that its
    JSON output can be fed back to bake (buildx's Target.MarshalJSON)."""
    return text.replace("${", "$${").replace("%{", "%%{")


def yaml_mapping(values: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {yaml_quoted(v)}" for k, v in values.items()) + "}"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project whose grid master (and its edition) carry hostile text, rendered."""
    root = tmp_path_factory.mktemp("free-text")
    for name in ("editions", "packages"):
        shutil.copytree(REPO / name, root / name)
    project = root / "editions/project.yaml"
    fields = (
        f"    description: {yaml_quoted(DESCRIPTION)}\n"
        f"    env: {yaml_mapping(ENV)}\n"
        f"    args: {yaml_mapping(ARGS)}\n"
    )
    old = "    description: Grid coordinator that agents register with\n"
    project.write_text(replace_once(project.read_text(), old, fields))
    edition = root / "editions/enterprise.yaml"
    old = "description: Community plus the distributed grid (master and agents)\n"
    edition.write_text(
        replace_once(edition.read_text(), old, f"description: {yaml_quoted(DESCRIPTION)}\n")
    )
    run(*SUTRABUILD, "render", "-C", str(root))
    return root


def test_bake_print_shows_the_exact_labels_and_args(hostile: Path) -> None:
    out = json.loads(run("docker", "buildx", "bake", "--print", "enterprise", cwd=hostile).stdout)
    assert SERVICE in out["group"]["enterprise"]["targets"], "the edition comment broke the file"
    target = out["target"][SERVICE]
    description = target["labels"]["org.opencontainers.image.description"]
    assert description == as_bake_prints(DESCRIPTION)
    # The spec's args, next to the ones every target inherits from `_common` (secret flags).
    spec_args = {name: value for name, value in target["args"].items() if name in ARGS}
    assert spec_args == {name: as_bake_prints(value) for name, value in ARGS.items()}


def test_built_image_holds_the_exact_description_and_env(
    hostile: Path, unique_version: str
) -> None:
    bake("-C", str(hostile), SERVICE, env={"VERSION": unique_version})
    tag = f"{commands.load(hostile).project.settings.registry}/{SERVICE}:{unique_version}"
    config = json.loads(
        run("docker", "image", "inspect", "--format", "{{json .Config}}", tag).stdout
    )
    assert config["Labels"]["org.opencontainers.image.description"] == DESCRIPTION
    env = dict(entry.split("=", 1) for entry in config["Env"])
    assert {name: env.get(name) for name in ENV} == ENV
    # Nothing the text held became an instruction: the runtime base's env, PORT and ours only.
    base = run(
        "docker", "image", "inspect", "--format", "{{json .Config.Env}}", "debian:bookworm-slim"
    )
    expected = {entry.split("=", 1)[0] for entry in json.loads(base.stdout)} | {"PORT", *ENV}
    assert set(env) == expected


# No shrinking: each step is a build, and the failing texts are in the assertion anyway.
@settings(max_examples=3, deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(texts=st.lists(PRINTABLE, min_size=25, max_size=25))
def test_any_printable_text_survives_bake_and_buildkit(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str]
) -> None:
    """The filters against the real parsers: each text as a bake label and a Dockerfile ENV of
    an empty image, 25 per build so that a few builds see many characters."""
    root = tmp_path_factory.mktemp("printable")
    tag = f"sutrabuild-free-text:{uuid.uuid4().hex[:8]}"
    env = " \\\n    ".join(f"T{i}={dockerfile_value(t)}" for i, t in enumerate(texts))
    (root / "Dockerfile").write_text(f"FROM scratch\nENV {env}\n", encoding="utf-8")
    labels = "".join(f"    t{i} = {hcl_string(t)}\n" for i, t in enumerate(texts))
    bake_file = f'target "t" {{\n  tags = ["{tag}"]\n  labels = {{\n{labels}  }}\n}}\n'
    (root / "docker-bake.hcl").write_text(bake_file, encoding="utf-8")
    try:
        run("docker", "buildx", "bake", "--progress=quiet", "t", cwd=root)
        inspected = run("docker", "image", "inspect", "--format", "{{json .Config}}", tag)
    finally:
        run("docker", "image", "rm", "--force", tag, check=False)
    config = json.loads(inspected.stdout)
    env_values = dict(entry.split("=", 1) for entry in config["Env"])
    assert [env_values[f"T{i}"] for i in range(len(texts))] == texts
    assert [config["Labels"][f"t{i}"] for i in range(len(texts))] == texts
