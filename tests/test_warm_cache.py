"""With sutrabuild's cache warm, `check` still catches every change: an edited spec is
validated again and a hand-edited generated file is still drift. Whole processes, as a
user runs them, sharing one cache folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import copy_real_project


def _sutrabuild(root: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUTRABUILD_CACHE": str(cache)}
    argv = [sys.executable, "-m", "generator", *args, "-C", str(root)]
    return subprocess.run(argv, env=env, capture_output=True, text=True, check=False)


def _warm(tmp_path: Path) -> tuple[Path, Path]:
    root, cache = copy_real_project(tmp_path / "repo"), tmp_path / "cache"
    assert _sutrabuild(root, cache, "render").returncode == 0
    assert _sutrabuild(root, cache, "check").returncode == 0
    assert any(cache.rglob("*")), "the cache was filled"
    return root, cache


def test_an_edited_spec_is_validated_again_with_a_warm_cache(tmp_path: Path) -> None:
    root, cache = _warm(tmp_path)
    spec = root / "editions/project.yaml"
    spec.write_text(spec.read_text() + "unknown_key: 1\n")
    proc = _sutrabuild(root, cache, "check")
    assert proc.returncode == 2, proc.stderr
    assert "editions/project.yaml:" in proc.stderr and "unknown key 'unknown_key'" in proc.stderr


def test_a_hand_edited_output_is_drift_with_a_warm_cache(tmp_path: Path) -> None:
    root, cache = _warm(tmp_path)
    edited = next((root / "dockerfiles").glob("*.Dockerfile"))
    edited.write_text(edited.read_text() + "# hand edit\n")
    proc = _sutrabuild(root, cache, "check")
    assert proc.returncode != 0
    assert edited.relative_to(root).as_posix() in proc.stderr + proc.stdout
