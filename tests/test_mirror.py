"""mirror.py: which upstream images a mirror must hold, and how they appear in the plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import commands
from generator.bake import BakeOptions, bake_environment
from generator.errors import SpecError, UsageError
from generator.mirror import VARIABLE, all_upstream_images, check_mirror, mirrored_ref
from generator.plan import plan
from generator.render import render_all
from tests.conftest import REPO_ROOT, make_minimal_project, project_with


def test_upstream_images_are_every_base_from_and_nothing_else() -> None:
    project = commands.load(REPO_ROOT).project
    expected = sorted({b.from_image for b in project.bases.values() if b.from_image})
    assert list(all_upstream_images(project)) == expected


def test_each_base_target_names_the_upstream_images_it_starts_from() -> None:
    resolved = commands.load(REPO_ROOT)
    targets = {t.name: t for t in plan(resolved).bake.targets}
    for name, base in resolved.project.bases.items():
        assert targets[name].mirrored == ((base.from_image,) if base.from_image else ()), name
    for name in resolved.project.services:
        assert targets[name].mirrored == (), name


def test_the_bake_file_maps_each_upstream_image_through_base_mirror() -> None:
    resolved = commands.load(REPO_ROOT)
    hcl = render_all(plan(resolved))["docker-bake.hcl"]
    assert 'variable "BASE_MIRROR"' in hcl
    for image in all_upstream_images(resolved.project):
        assert f'base_mirror(["{image}"])' in hcl


def test_the_spec_field_is_the_variable_default(tmp_path: Path) -> None:
    spec = project_with("  version: 0.1.0\n", "  version: 0.1.0\n  base_mirror: mirror.test/hub\n")
    root = make_minimal_project(tmp_path / "p", {"editions/project.yaml": spec})
    variables = {v.name: v.default for v in plan(commands.load(root)).bake.variables}
    assert variables[VARIABLE] == "mirror.test/hub"


def test_a_spec_mirror_with_a_scheme_is_a_spec_error(tmp_path: Path) -> None:
    spec = project_with("  version: 0.1.0\n", "  version: 0.1.0\n  base_mirror: https://m.test\n")
    root = make_minimal_project(tmp_path / "p", {"editions/project.yaml": spec})
    with pytest.raises(SpecError, match=r"\$\.project\.base_mirror"):
        commands.load(root)


@pytest.mark.parametrize(
    ("given", "kept"),
    [("localhost:5000/m", "localhost:5000/m"), ("mirror.test/hub/", "mirror.test/hub")],
)
def test_mirror_option_sets_the_variable(tmp_path: Path, given: str, kept: str) -> None:
    env = bake_environment(tmp_path, BakeOptions(mirror=given), {})
    assert env[VARIABLE] == kept


def test_without_the_option_the_environment_variable_is_kept(tmp_path: Path) -> None:
    env = bake_environment(tmp_path, BakeOptions(), {VARIABLE: "env.test/m"})
    assert env[VARIABLE] == "env.test/m"


@pytest.mark.parametrize("bad", ["https://m.test", "Mirror.test", "m test", "/m"])
def test_a_mirror_that_is_no_registry_path_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError, match="not a registry/namespace"):
        check_mirror(bad)


def test_mirrored_ref_keeps_the_image_as_the_dockerfile_names_it() -> None:
    assert mirrored_ref("m.test/hub", "python:3.11-slim") == "m.test/hub/python:3.11-slim"
