"""cache.py: which backend each target uses (spec default, per-target override, environment),
and that the bake file's cache_from/cache_to give bake exactly what cache.py describes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from generator import cache, commands
from generator.bake import BakeOptions, bake_environment
from generator.errors import UsageError
from generator.plan import plan
from tests.conftest import invoke, make_minimal_project, project_with, replace_once

OVERRIDES = replace_once(
    project_with("  platforms: [linux/amd64]\n", "  platforms: [linux/amd64]\n  cache: local\n"),
    "    port: 9000\n",
    "    port: 9000\n    cache: gha\n",
)


def _targets(root: Path) -> dict[str, str]:
    return {t.name: t.cache for t in plan(commands.load(root)).bake.targets}


def test_project_default_is_registry(tmp_path: Path) -> None:
    assert set(_targets(make_minimal_project(tmp_path)).values()) == {cache.REGISTRY}


def test_per_target_override_beats_the_project_default(tmp_path: Path) -> None:
    root = make_minimal_project(tmp_path, {"editions/project.yaml": OVERRIDES})
    targets = _targets(root)
    assert targets.pop("store") == cache.GHA
    assert set(targets.values()) == {cache.LOCAL}


def test_unknown_backend_is_a_spec_error(tmp_path: Path) -> None:
    bad = project_with("  platforms: [linux/amd64]\n", "  platforms: [linux/amd64]\n  cache: s3\n")
    root = make_minimal_project(tmp_path, {"editions/project.yaml": bad})
    result = invoke("validate", "-C", str(root))
    assert result.exit_code == 2
    assert "editions/project.yaml:8: $.project.cache" in result.output
    assert "Traceback" not in result.output


def test_checked_refuses_unknown_backends() -> None:
    assert cache.checked(cache.LOCAL) == cache.LOCAL
    with pytest.raises(UsageError, match="unknown cache backend"):
        cache.checked("s3")


def test_cli_cache_flag_reaches_the_bake_environment(tmp_path: Path) -> None:
    env = bake_environment(tmp_path, BakeOptions(cache=cache.NONE), {"REVISION": "x"})
    assert env[cache.ENV_VAR] == cache.NONE
    assert cache.ENV_VAR not in bake_environment(tmp_path, BakeOptions(), {"REVISION": "x"})


def test_cli_rejects_an_unknown_cache_flag(tmp_path: Path) -> None:
    result = invoke("bake", "simple", "-C", str(tmp_path), "--cache", "s3")
    assert result.exit_code == 2
    assert "s3" in result.output


needs_buildx = pytest.mark.skipif(
    shutil.which("docker") is None and os.environ.get("CI") != "true",
    reason="docker buildx bake --print needs the docker CLI",
)


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


def _entry(spec: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in spec.split(","))


@needs_buildx
@pytest.mark.parametrize("override", ["", *cache.BACKENDS])
def test_bake_file_agrees_with_cache_py(tmp_path: Path, override: str) -> None:
    """`bake --print` (bake's own evaluation of the generated functions) gives, per target,
    the cache-from/cache-to that cache.py derives from the spec and the environment."""
    root = make_minimal_project(tmp_path, {"editions/project.yaml": OVERRIDES})
    commands.render(root)
    env = {cache.ENV_VAR: override, "CACHE_REGISTRY": "localhost:5000/ci-cache"}
    printed = _printed(root, env)
    for target in plan(commands.load(root)).bake.targets:
        image = target.image
        backend = override or target.cache
        got = printed[target.name]
        want_from = [_entry(e) for e in cache.cache_from(backend, image, env["CACHE_REGISTRY"])]
        want_to = [_entry(e) for e in cache.cache_to(backend, image, env["CACHE_REGISTRY"])]
        assert got.get("cache-from", []) == want_from, target.name
        assert got.get("cache-to", []) == want_to, target.name
