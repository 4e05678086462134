"""workflows.py and the generated .github/workflows: what they run, derived from the spec,
validated against GitHub's workflow schema (check-jsonschema, offline), and drift-checked."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator import commands, workflows
from generator.render import github_expression, yaml_scalar
from tests.conftest import invoke, make_minimal_project, project_with

REPO = Path(__file__).resolve().parents[1]
CHECK_JSONSCHEMA = shutil.which(
    "check-jsonschema", path=str(Path(sys.executable).parent)
) or shutil.which("check-jsonschema")


def _load(text: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(text)
    return loaded


def _rendered(root: Path) -> dict[str, dict[Any, Any]]:
    files = commands.rendered(root)
    return {w.path: _load(files[w.path]) for w in workflows.workflow_plans(commands.load(root))}


def _release_yml(root: Path) -> dict[Any, Any]:
    return _rendered(root)[f"{workflows.WORKFLOW_DIR}/release.yml"]


def _ci_yml(root: Path) -> dict[Any, Any]:
    return _rendered(root)[f"{workflows.WORKFLOW_DIR}/ci.yml"]


def _steps_using(job: dict[Any, Any], action: str) -> list[dict[Any, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(action + "@")]


def _runs(job: dict[Any, Any]) -> list[str]:
    return [" ".join(str(s["run"]).split()) for s in job["steps"] if "run" in s]


@pytest.mark.parametrize(
    ("registry", "host"),
    [
        ("ghcr.io/sutra-ai", "ghcr.io"),
        ("localhost:5000/sutra", "localhost:5000"),
        ("registry.example.com:443/a/b", "registry.example.com:443"),
        ("sutra", "docker.io"),
        ("acme/sutra", "docker.io"),
    ],
)
def test_login_registry_is_the_host_of_the_registry(registry: str, host: str) -> None:
    assert workflows.login_registry(registry) == host


def test_each_platform_gets_a_native_runner_or_qemu() -> None:
    jobs = workflows.platform_jobs(("linux/amd64", "linux/arm64", "linux/arm/v7"))
    assert [(j.runner, j.emulated) for j in jobs] == [
        (workflows.NATIVE_RUNNERS["linux/amd64"], False),
        (workflows.NATIVE_RUNNERS["linux/arm64"], False),
        (workflows.DEFAULT_RUNNER, True),
    ]
    assert [j.slug for j in jobs] == ["linux-amd64", "linux-arm64", "linux-arm-v7"]


def test_release_edition_is_the_one_with_every_image() -> None:
    resolved = commands.load(REPO)
    chosen = resolved.editions[workflows.release_edition(resolved)]
    every = {s for e in resolved.editions.values() for s in e.services}
    assert set(chosen.services) == every


def test_release_bakes_one_job_per_platform_of_the_spec(tmp_path: Path) -> None:
    edited = project_with(
        "  platforms: [linux/amd64]\n", "  platforms: [linux/amd64, linux/arm64, linux/arm/v7]\n"
    )
    root = make_minimal_project(tmp_path, {"editions/project.yaml": edited})
    platforms = commands.load(root).project.settings.platforms
    job = _release_yml(root)["jobs"]["bake"]
    matrix = job["strategy"]["matrix"]["include"]
    assert [m["platform"] for m in matrix] == list(platforms)
    assert [m["slug"] for m in matrix] == [workflows.platform_slug(p) for p in platforms]
    (bake,) = _steps_using(job, "docker/bake-action")
    assert bake["with"]["targets"] == github_expression("env.EDITION")
    assert bake["with"]["push"] is True
    assert bake["with"]["provenance"] == "mode=max"
    assert bake["with"]["set"].splitlines() == [
        f"*.platform={github_expression('matrix.platform')}"
    ]
    # Its own staging tag and its own cache scope, so the jobs never overwrite each other.
    assert bake["env"]["CACHE_BACKEND"] == "gha"
    assert bake["env"]["CACHE_SCOPE"] == github_expression("matrix.slug")
    assert "matrix.slug" in bake["env"]["TAG"]
    emulated = [m["platform"] for m in matrix if m["emulated"]]
    assert emulated == ["linux/arm/v7"]
    (qemu,) = _steps_using(job, "docker/setup-qemu-action")
    assert qemu["if"] == github_expression("matrix.emulated")


def test_release_promotes_only_after_every_platform_job(tmp_path: Path) -> None:
    root = make_minimal_project(tmp_path)
    doc = _release_yml(root)
    resolved = commands.load(root)
    assert doc["env"] == {
        "EDITION": workflows.release_edition(resolved),
        "REGISTRY": resolved.project.settings.registry,
    }
    merge = doc["jobs"]["release"]
    assert "bake" in merge["needs"]
    (command,) = [r for r in _runs(merge) if "sutrabuild release" in r]
    assert "--merge" in command.split() and '--rc-tag "$RC_TAG"' in command
    assert _steps_using(merge, "docker/setup-qemu-action"), "verifies non-native platforms"
    assert doc["jobs"]["bake"]["strategy"]["fail-fast"] is True


def test_permissions_are_read_only_except_where_images_are_pushed(tmp_path: Path) -> None:
    root = make_minimal_project(tmp_path)
    for path, doc in _rendered(root).items():
        assert doc["permissions"] == {"contents": "read"}, path
        for name, job in doc["jobs"].items():
            allowed = {"contents": "read", "packages": "write"}
            assert job.get("permissions", {}).items() <= allowed.items(), (path, name)


def test_ghcr_logs_in_with_the_workflow_token_other_registries_with_secrets(
    tmp_path: Path,
) -> None:
    root = make_minimal_project(tmp_path)
    (login,) = _steps_using(_release_yml(root)["jobs"]["bake"], "docker/login-action")
    assert login["with"]["password"] == github_expression("secrets.GITHUB_TOKEN")
    other = project_with("  registry: ghcr.io/sutra-ai\n", "  registry: registry.example.com/x\n")
    root = make_minimal_project(tmp_path / "other", {"editions/project.yaml": other})
    (login,) = _steps_using(_release_yml(root)["jobs"]["bake"], "docker/login-action")
    assert login["with"]["registry"] == "registry.example.com"
    assert login["with"]["password"] == github_expression("secrets.REGISTRY_PASSWORD")


def test_ci_runs_check_lint_and_test_on_a_real_engine(tmp_path: Path) -> None:
    job = _ci_yml(make_minimal_project(tmp_path))["jobs"]["test"]
    runs = _runs(job)
    assert [r for r in runs if r.startswith("make ")] == ["make check", "make lint", "make test"]
    assert any(r.endswith("make engine") for r in runs)
    assert job["env"]["CI"] == "true", "engine tests fail instead of skipping"
    (docker,) = _steps_using(job, "docker/setup-docker-action")
    assert json.loads(docker["with"]["daemon-config"])["features"]["containerd-snapshotter"]


@pytest.mark.parametrize("value", ["plain", "a: b # c", 'it\'s "quoted"', "line\nbreak", "ü"])
def test_yaml_filter_reads_back_as_the_same_value(value: str) -> None:
    assert yaml.safe_load(yaml_scalar(value)) == value


@pytest.fixture
def checker() -> str:
    assert CHECK_JSONSCHEMA, "check-jsonschema is a test dependency (pip install -e '.[test]')"
    return CHECK_JSONSCHEMA


def _schema_check(checker: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    args = [checker, "--builtin-schema", "vendor.github-workflows", *map(str, paths)]
    return subprocess.run(args, capture_output=True, text=True, check=False)


def test_the_committed_workflows_pass_githubs_schema(checker: str) -> None:
    paths = sorted((REPO / workflows.WORKFLOW_DIR).glob("*.yml"))
    assert [p.name for p in paths] == ["ci.yml", "release.yml"]
    proc = _schema_check(checker, *paths)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_schema_check_rejects_a_broken_workflow(checker: str, tmp_path: Path) -> None:
    """The control: the check above can fail. A job without `runs-on` is not a workflow."""
    doc = _load((REPO / workflows.WORKFLOW_DIR / "release.yml").read_text())
    del doc["jobs"]["bake"]["runs-on"]
    broken = tmp_path / "release.yml"
    broken.write_text(yaml.safe_dump(doc))
    assert _schema_check(checker, broken).returncode == 1


def test_check_reports_an_edited_workflow_and_render_restores_it(tmp_path: Path) -> None:
    root = make_minimal_project(tmp_path)
    assert invoke("render", "-C", str(root)).exit_code == 0
    path = root / workflows.WORKFLOW_DIR / "release.yml"
    original = path.read_text()
    path.write_text(original.replace("fail-fast: true", "fail-fast: false"))
    result = invoke("check", "-C", str(root))
    assert result.exit_code == 1
    assert f"{workflows.WORKFLOW_DIR}/release.yml" in result.output
    assert invoke("render", "-C", str(root)).exit_code == 0
    assert path.read_text() == original
