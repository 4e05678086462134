"""commands.py: the pipeline functions the CLI wraps; docker is faked or absent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from generator import commands
from generator.bake import ENGINE_HINT, BakeOptions
from generator.errors import BuildFailed, CheckFailed, SpecError, ToolMissing, UsageError
from tests.conftest import FakeDocker, make_minimal_project, project_with, tree_state

EDITIONS = {
    "editions/project.yaml": project_with(
        "  platforms: [linux/amd64]\n", "  platforms: [linux/amd64, linux/arm64]\n"
    ),
    "editions/simple.yaml": "services: [api]\n",
    "editions/full.yaml": "extends: simple\nservices: [store]\n",
}
OUTPUT_COUNT = 13  # docker-bake.hcl + a Dockerfile and a .dockerignore for 4 bases, 2 services
BAKE_ARGS = ["buildx", "bake", "--file", "docker-bake.hcl"]

pytestmark = pytest.mark.usefixtures("clean_bake_env")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_minimal_project(tmp_path / "proj", EDITIONS)


# --- render and check -------------------------------------------------------------------------


def test_render_reports_what_it_wrote(root: Path) -> None:
    first = commands.render(root)
    assert [c.path for c in first.changes] == list(commands.rendered(root))
    assert {c.action for c in first.changes} == {"create"}
    assert first.unchanged == 0
    second = commands.render(root)
    assert (second.changes, second.unchanged) == ((), OUTPUT_COUNT)


def test_check_counts_the_files_when_up_to_date(root: Path) -> None:
    commands.render(root)
    assert commands.check(root) == OUTPUT_COUNT


def test_check_of_an_unrendered_tree_fails_with_a_diff_and_writes_nothing(root: Path) -> None:
    before = tree_state(root)
    with pytest.raises(CheckFailed) as info:
        commands.check(root)
    message = str(info.value)
    assert message.startswith("--- /dev/null\n+++ b/docker-bake.hcl\n")
    names = ", ".join(commands.rendered(root))
    assert message.endswith(f"generated files are out of date: {names}\nrun `make render`")
    assert info.value.exit_code == 1
    assert tree_state(root) == before


# --- bake: which names it accepts, before any docker ------------------------------------------


@pytest.mark.parametrize("name", ["platinum", "sutra-python-base", "Simple", ""])
def test_bake_of_an_unknown_name_lists_the_editions_before_docker_is_needed(
    root: Path, no_docker_path: Path, name: str
) -> None:
    before = tree_state(root)
    with pytest.raises(UsageError) as info:
        commands.bake(root, name, BakeOptions())
    assert str(info.value) == f"unknown edition or target {name!r}; editions: full, simple"
    assert info.value.exit_code == 2
    assert tree_state(root) == before


@pytest.mark.parametrize("name", ["simple", "full", "default", "bases", "python-base", "api"])
def test_bake_accepts_editions_groups_bases_and_services(
    root: Path, no_docker_path: Path, name: str
) -> None:
    """Past the name check, buildx is required before anything is rendered."""
    before = tree_state(root)
    with pytest.raises(ToolMissing) as info:
        commands.bake(root, name, BakeOptions())
    assert str(info.value) == f"docker not found on PATH: {ENGINE_HINT}"
    assert tree_state(root) == before


def test_bake_with_invalid_specs_stops_before_docker(root: Path, no_docker_path: Path) -> None:
    (root / "editions/simple.yaml").write_text("services: [apii]\n")
    with pytest.raises(SpecError) as info:
        commands.bake(root, "simple", BakeOptions())
    assert str(info.value) == "editions/simple.yaml:1: $.services[0]: unknown service 'apii'"


def test_verify_of_an_unknown_edition_needs_no_docker(root: Path, no_docker_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        commands.verify(root, "platinum")
    assert str(info.value) == "unknown edition 'platinum'; known editions: full, simple"


# --- bake with a fake docker ------------------------------------------------------------------


def test_bake_renders_then_runs_buildx(root: Path, fake_docker: Callable[..., FakeDocker]) -> None:
    fake = fake_docker()
    report = commands.bake(root, "full", BakeOptions(extra=("--progress=plain",)))
    assert len(report.changes) == OUTPUT_COUNT
    assert commands.check(root) == OUTPUT_COUNT
    *probes, last = fake.calls()
    assert {tuple(c["args"]) for c in probes} == {("buildx", "version")}
    assert last["args"] == [*BAKE_ARGS, "--progress=plain", "full"]
    assert last["cwd"] == str(root)


def test_bake_with_all_platforms_uses_the_project_platforms(
    root: Path, fake_docker: Callable[..., FakeDocker]
) -> None:
    fake = fake_docker()
    commands.bake(root, "simple", BakeOptions(all_platforms=True, platforms=("linux/s390x",)))
    assert fake.argv()[-1] == [*BAKE_ARGS, "--set", "*.platform=linux/amd64,linux/arm64", "simple"]


def test_bake_of_a_rendered_tree_reports_no_changes(
    root: Path, fake_docker: Callable[..., FakeDocker]
) -> None:
    commands.render(root)
    fake_docker()
    assert commands.bake(root, "simple", BakeOptions()).changes == ()


def test_a_failed_bake_keeps_the_rendered_files(
    root: Path, fake_docker: Callable[..., FakeDocker], capsys: pytest.CaptureFixture[str]
) -> None:
    fake_docker((["buildx", "bake"], 1, "", "ERROR: target api: failed to solve: boom\n"))
    with pytest.raises(BuildFailed) as info:
        commands.bake(root, "simple", BakeOptions())
    assert str(info.value) == "docker buildx bake simple failed (exit 1); failed target(s): api"
    assert commands.check(root) == OUTPUT_COUNT
