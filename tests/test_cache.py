"""cache.py: which backend each target uses (spec default, per-target override, environment),
and that the bake file's cache_from/cache_to give bake exactly what each backend means."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from generator import cache, commands
from generator.bake import BakeOptions, bake_environment
from generator.paths import base_image
from generator.plan import plan
from generator.resolve import linked_bases
from generator.schema import _schema_text
from tests.conftest import invoke, make_minimal_project, needs_buildx, project_with, replace_once

OVERRIDES = replace_once(
    project_with("  platforms: [linux/amd64]\n", "  platforms: [linux/amd64]\n  cache: local\n"),
    "    port: 9000\n",
    "    port: 9000\n    cache: gha\n",
)


def _targets(root: Path) -> dict[str, str]:
    return {t.name: t.cache for t in plan(commands.load(root)).bake.targets}


def test_the_schema_offers_exactly_the_backends_the_bake_file_knows() -> None:
    schema = json.loads(_schema_text("project"))
    assert tuple(schema["$defs"]["cache"]["enum"]) == cache.BACKENDS


def test_project_default_is_registry(tmp_path: Path) -> None:
    assert set(_targets(make_minimal_project(tmp_path)).values()) == {cache.REGISTRY}


def test_per_target_override_beats_the_project_default(tmp_path: Path) -> None:
    root = make_minimal_project(tmp_path, {"editions/project.yaml": OVERRIDES})
    targets = _targets(root)
    assert targets.pop("store") == cache.GHA
    assert set(targets.values()) == {cache.LOCAL}


def test_a_target_imports_its_own_cache_then_every_base_below_it(tmp_path: Path) -> None:
    root = make_minimal_project(tmp_path, {"editions/project.yaml": OVERRIDES})
    resolved = commands.load(root)
    for target in plan(resolved).bake.targets:
        own, *bases = target.cache_from
        assert own == (target.image, target.cache)
        below = linked_bases(resolved, target.name)
        assert [image for image, _ in bases] == [base_image(resolved.project, b) for b in below]


def test_unknown_backend_is_a_spec_error(tmp_path: Path) -> None:
    bad = project_with("  platforms: [linux/amd64]\n", "  platforms: [linux/amd64]\n  cache: s3\n")
    root = make_minimal_project(tmp_path, {"editions/project.yaml": bad})
    result = invoke("validate", "-C", str(root))
    assert result.exit_code == 2
    assert "editions/project.yaml:8: $.project.cache" in result.output
    assert "Traceback" not in result.output


def test_cli_cache_flag_reaches_the_bake_environment(tmp_path: Path) -> None:
    env = bake_environment(tmp_path, BakeOptions(cache=cache.NONE), {"REVISION": "x"})
    assert env[cache.ENV_VAR] == cache.NONE
    assert cache.ENV_VAR not in bake_environment(tmp_path, BakeOptions(), {"REVISION": "x"})


def test_cli_rejects_an_unknown_cache_flag(tmp_path: Path) -> None:
    result = invoke("bake", "simple", "-C", str(tmp_path), "--cache", "s3")
    assert result.exit_code == 2
    assert "s3" in result.output


def _printed(root: Path, env: dict[str, str]) -> dict[str, dict[str, object]]:
    out = subprocess.run(
        ["docker", "buildx", "bake", "--print", "simple"],
        cwd=root,
        env={**os.environ, **env},
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    targets: dict[str, dict[str, object]] = json.loads(out)["target"]
    return targets


def _expected(
    backend: str, image: str, cache_registry: str, scope: str
) -> tuple[list[str], list[str]]:
    """What each backend means, written out independently of the bake file's functions."""
    suffix = f"-{scope}" if scope else ""
    if backend == cache.REGISTRY:
        ref = f"type=registry,ref={cache_registry}/{image}:buildcache{suffix}"
        return [ref], [ref + ",mode=max"]
    if backend == cache.LOCAL:
        path = f"{cache.LOCAL_DIR}/{image}{suffix}"
        return [f"type=local,src={path}"], [f"type=local,dest={path},mode=max"]
    if backend == cache.GHA:
        name = f"{image}{suffix}"
        return [f"type=gha,scope={name}"], [f"type=gha,scope={name},mode=max"]
    return [], []


def _entry(spec: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in spec.split(","))


@needs_buildx
@pytest.mark.parametrize("scope", ["", "linux-arm64"])
@pytest.mark.parametrize("override", ["", *cache.BACKENDS])
def test_bake_file_spells_out_each_backend(tmp_path: Path, override: str, scope: str) -> None:
    """`bake --print` (bake's own evaluation of the generated functions) gives, per target,
    the cache-from/cache-to each backend means for the target's image."""
    root = make_minimal_project(tmp_path, {"editions/project.yaml": OVERRIDES})
    commands.render(root)
    env = {
        cache.ENV_VAR: override,
        "CACHE_REGISTRY": "localhost:5000/ci-cache",
        "CACHE_SCOPE": scope,
    }
    printed = _printed(root, env)
    for target in plan(commands.load(root)).bake.targets:
        got = printed[target.name]
        _, want_to = _expected(override or target.cache, target.image, env["CACHE_REGISTRY"], scope)
        want_from = [
            entry
            for image, backend in target.cache_from
            for entry in _expected(override or backend, image, env["CACHE_REGISTRY"], scope)[0]
        ]
        assert got.get("cache-from", []) == [_entry(e) for e in want_from], target.name
        assert got.get("cache-to", []) == [_entry(e) for e in want_to], target.name
