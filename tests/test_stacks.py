"""Stacks as data (templates/stacks/*/stack.yaml) and per-service system packages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from generator import commands
from generator.stacks import load_stacks
from tests.conftest import (
    REPO_ROOT,
    invoke,
    make_minimal_project,
    needs_buildx,
    project_with,
    tree_state,
)

STACK_DIR = REPO_ROOT / "templates" / "stacks"


def test_every_stack_folder_is_a_stack_and_nothing_else_is() -> None:
    folders = {p.parent.name for p in STACK_DIR.glob("*/stack.yaml")}
    assert set(load_stacks()) == folders


def test_service_template_and_base_templates_exist_in_their_folder() -> None:
    for stack in load_stacks().values():
        assert (REPO_ROOT / "templates" / stack.service_template).is_file()
        for needs in stack.base_templates.values():
            assert (REPO_ROOT / "templates" / needs.path).is_file()


def _render_api(tmp_path: Path, extra: str) -> str:
    spec = project_with("    port: 8000\n", "    port: 8000\n" + extra)
    root = make_minimal_project(tmp_path, {"editions/project.yaml": spec})
    commands.render(root)
    return (root / "dockerfiles" / "api.Dockerfile").read_text()


def test_packages_go_to_the_runtime_stage_and_build_packages_to_the_build_stage(
    tmp_path: Path,
) -> None:
    text = _render_api(tmp_path, "    packages: [libgomp1]\n    build_packages: [libpq-dev]\n")
    build, runtime = text.rsplit("\nFROM ", 1)
    assert "libpq-dev" in build and "libpq-dev" not in runtime
    assert "libgomp1" in runtime and "libgomp1" not in build
    # The apt lists and caches go in the same RUN that installs the package.
    install = next(r for r in runtime.split("\nRUN ") if "libgomp1" in r)
    assert "rm -rf /var/lib/apt/lists/*" in install


def test_no_packages_render_no_apt_step(tmp_path: Path) -> None:
    text = _render_api(tmp_path, "")
    assert "apt-get" not in text


@needs_buildx
def test_a_copied_stack_folder_is_a_new_stack_without_generator_changes(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    root = make_minimal_project(tmp_path)
    shutil.copytree(STACK_DIR / "python", root / "templates" / "stacks" / "snake")
    spec = (root / "editions" / "project.yaml").read_text()
    spec = spec.replace(
        "stacks:\n", "stacks:\n  snake: {builder: python-builder, runtime: python-base}\n"
    )
    spec = spec.replace("  api:\n    stack: python\n", "  api:\n    stack: snake\n")
    (root / "editions" / "project.yaml").write_text(spec)
    for args in (["render"], ["check"], ["bake", "simple", "--print"]):
        result = invoke(args[0], "-C", str(root), *args[1:])
        assert result.exit_code == 0, (args, result.output)
    # bake --print writes the resolved bake file (from the real buildx) to the terminal.
    assert '"api"' in result.output + capfd.readouterr().out
    dockerfile = (root / "dockerfiles" / "api.Dockerfile").read_text()
    assert dockerfile.splitlines()[1:] == _python_service_lines(tmp_path / "plain")


def _python_service_lines(root: Path) -> list[str]:
    """The same service on the python stack: a copied stack renders the same Dockerfile."""
    make_minimal_project(root)
    commands.render(root)
    return (root / "dockerfiles" / "api.Dockerfile").read_text().splitlines()[1:]


def test_a_broken_stack_manifest_is_a_spec_error_every_time(tmp_path: Path) -> None:
    """Bad input in a project's own stack folder: exit 2, FILE:LINE: PATH, on every run
    (only a manifest found valid is remembered)."""
    manifest = "templates/stacks/broken/stack.yaml"
    root = make_minimal_project(tmp_path, {manifest: "context_files: 5\ncommand: [run]\n"})
    for _ in range(2):
        result = invoke("validate", "-C", str(root))
        assert result.exit_code == 2, result.output
        assert any(
            line.startswith(f"{manifest}:1: $.context_files: ")
            for line in result.output.splitlines()
        ), result.output
        assert "Traceback" not in result.output


SNAKE_SECRET = (
    "build_secrets:\n"
    "  - id: snake_token\n"
    "    env: SNAKE_TOKEN\n"
    "    description: Token of the snake index\n"
)


def _snake_project(root: Path, secret: str) -> Path:
    """The minimal project with a copy of the python stack, as `snake`, declaring `secret`."""
    make_minimal_project(root)
    folder = root / "templates" / "stacks" / "snake"
    shutil.copytree(STACK_DIR / "python", folder)
    manifest = (folder / "stack.yaml").read_text()
    (folder / "stack.yaml").write_text(manifest.split("build_secrets:")[0] + secret)
    return root


def run_print(root: Path, env: dict[str, str]) -> Any:
    """The bake file as the real buildx resolves it (`--print`), with env set."""
    clean = {k: v for k, v in os.environ.items() if k != "SNAKE_TOKEN"}
    proc = subprocess.run(
        ["docker", "buildx", "bake", "--file", "docker-bake.hcl", "--print"],
        cwd=root,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def test_every_stack_build_secret_reaches_the_real_bake_file() -> None:
    bake_file = (REPO_ROOT / "docker-bake.hcl").read_text()
    secrets = [s for stack in load_stacks().values() for s in stack.build_secrets]
    assert secrets, "expected a stack that declares a build secret"
    for s in secrets:
        assert f'variable "{s.env}" {{' in bake_file
        assert f'{s.env} == "" ? [] : ["id={s.id},env={s.env}"],' in bake_file
        assert f"{s.id.upper()}_REQUIRED" in bake_file


@needs_buildx
def test_a_stack_declares_its_own_build_secret(tmp_path: Path) -> None:
    """A secret the stack declares becomes a bake variable and, once set, an env secret of
    every target and a true <ID>_REQUIRED arg (read back from the real buildx)."""
    root = _snake_project(tmp_path, SNAKE_SECRET)
    assert invoke("render", "-C", str(root)).exit_code == 0
    bake_file = (root / "docker-bake.hcl").read_text()
    assert '# Token of the snake index (a build secret).\nvariable "SNAKE_TOKEN" {' in bake_file
    printed = run_print(root, {"SNAKE_TOKEN": "s3cret"})
    for target in printed["target"].values():
        assert {"id": "snake_token", "env": "SNAKE_TOKEN"} in target["secret"]
        assert target["args"]["SNAKE_TOKEN_REQUIRED"] == "true"
        assert "s3cret" not in json.dumps(target)
    unset = run_print(root, {})
    assert all(t["args"]["SNAKE_TOKEN_REQUIRED"] == "false" for t in unset["target"].values())


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("env: SNAKE_TOKEN", "env: VERSION", "env VERSION is already a variable of the bake file"),
        ("id: snake_token", "id: ca_bundle", "id ca_bundle is the CA bundle's own"),
        (
            "id: snake_token",
            "id: pip_index_url",
            "id pip_index_url is already declared with env PIP_INDEX_URL",
        ),
    ],
)
def test_a_build_secret_clash_is_refused_at_its_manifest_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    """The snake stack sits beside sutrabuild's python stack, which declares pip_index_url."""
    root = _snake_project(tmp_path, SNAKE_SECRET.replace(old, new))
    manifest = "templates/stacks/snake/stack.yaml"
    line = 1 + (root / manifest).read_text().splitlines().index("build_secrets:") + 1
    before = tree_state(root)
    result = invoke("validate", "-C", str(root))
    assert result.exit_code == 2, result.output
    assert f"{manifest}:{line}: $.build_secrets[0]: {message}" in result.output.splitlines()
    assert invoke("render", "-C", str(root)).exit_code == 2
    assert tree_state(root) == before


def test_a_build_secret_env_must_be_an_environment_variable_name(tmp_path: Path) -> None:
    root = _snake_project(tmp_path, SNAKE_SECRET.replace("env: SNAKE_TOKEN", "env: snake-token"))
    result = invoke("validate", "-C", str(root))
    assert result.exit_code == 2, result.output
    assert "templates/stacks/snake/stack.yaml:" in result.output
    assert "$.build_secrets[0].env: 'snake-token' does not match" in result.output
    assert "Traceback" not in result.output


def test_fetch_steps_mount_what_their_stack_declares(tmp_path: Path) -> None:
    """A stack's fetch steps mount the CA bundle and its manifest's build secrets, no more:
    the python stack overridden without build_secrets mounts only the CA bundle, and the
    bake file then has no PIP_INDEX_URL (no other stack declares it)."""
    root = make_minimal_project(tmp_path)
    folder = root / "templates" / "stacks" / "python"
    shutil.copytree(STACK_DIR / "python", folder)
    manifest = (folder / "stack.yaml").read_text()
    (folder / "stack.yaml").write_text(manifest.split("build_secrets:")[0])
    assert invoke("render", "-C", str(root)).exit_code == 0, "render failed"
    api = (root / "dockerfiles" / "api.Dockerfile").read_text()
    assert "--mount=type=secret,id=ca_bundle" in api
    assert "pip_index_url" not in api and "PIP_INDEX_URL" not in api
    assert "PIP_INDEX_URL" not in (root / "docker-bake.hcl").read_text()


def test_a_template_calling_what_no_template_defines_is_one_line(tmp_path: Path) -> None:
    """A stack folder written for the macros' old home (`m.pip_install`): exit 2 at the
    template's line, no traceback, nothing written."""
    root = make_minimal_project(tmp_path)
    folder = root / "templates" / "stacks" / "python"
    shutil.copytree(STACK_DIR / "python", folder)
    service = folder / "service.Dockerfile.j2"
    text = service.read_text().replace("python.pip_install(df, ", "m.pip_install(")
    service.write_text(text)
    line = 1 + text.splitlines().index(next(x for x in text.splitlines() if "m.pip_install" in x))
    before = tree_state(root)
    result = invoke("render", "-C", str(root))
    assert result.exit_code == 2, result.output
    assert f"{service}:{line}: " in result.output
    assert "pip_install" in result.output and "Traceback" not in result.output
    assert tree_state(root) == before
