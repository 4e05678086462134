"""Real-engine fixtures: a Docker engine with buildx, or a skip (a failure when CI=true)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator import commands
from generator.resolve import Resolved
from tests.engine.helpers import REPO, run

# Test fixtures for an offline engine: `make engine` builds these stand-ins (see README).
BASE_IMAGES = (
    "python:3.11-slim",
    "rust:1.82-slim",
    "debian:bookworm-slim",
    "node:18-bookworm-slim",
)
LOCAL_REGISTRY = "localhost:5000"


def _buildx_problem() -> str | None:
    if shutil.which("docker") is None:
        return "no docker CLI on PATH (run `make engine`)"
    if subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode:
        return "`docker buildx version` fails: no buildx plugin (run `make engine`)"
    return None


def _engine_problem() -> str | None:
    if problem := _buildx_problem():
        return problem
    if subprocess.run(["docker", "info"], capture_output=True).returncode:
        return "`docker info` fails: no running engine (run `make engine`)"
    for image in BASE_IMAGES:
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode:
            return f"base image {image} missing (run `make engine`)"
    return None


def _require(problem: str | None) -> None:
    # CI must never go green without building: there, a missing engine is a failure.
    if problem and os.environ.get("CI") == "true":
        pytest.fail(f"CI=true requires it: {problem}", pytrace=False)
    if problem:
        pytest.skip(problem)


@pytest.fixture(scope="session")
def buildx() -> None:
    """The buildx plugin (enough for `bake --print`, which needs no daemon)."""
    _require(_buildx_problem())


@pytest.fixture(scope="session")
def engine() -> None:
    """A running engine with buildx and the base images."""
    _require(_engine_problem())


@pytest.fixture(scope="session")
def resolved() -> Resolved:
    """The repository's own specs, resolved."""
    return commands.load(REPO)


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A copy of the project (specs, sources, generated files) to break on purpose."""
    for name in ("editions", "packages", "dockerfiles"):
        shutil.copytree(REPO / name, tmp_path / name)
    shutil.copy(REPO / "docker-bake.hcl", tmp_path)
    return tmp_path


@pytest.fixture
def unique_version() -> Iterator[str]:
    """A VERSION tag of its own, so a test never moves the tags other tests look at."""
    version = f"e2e-{uuid.uuid4().hex[:8]}"
    yield version
    listing = run("docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", check=False)
    mine = [ref for ref in listing.stdout.split() if ref.endswith(":" + version)]
    if mine:
        run("docker", "image", "rm", "--force", *mine, check=False)
