"""The GitHub Actions workflows `render` writes next to the bake file:

- ci.yml, on every pull request and push to main: `make check`, `make lint`, `make test` on
  a real engine, as `.ci/run` does here;
- release.yml, on a version tag: one job per platform on a native runner, each baking the
  edition and pushing it to its own staging tag, then one job that joins them by digest,
  verifies every platform and promotes (`sutrabuild release --merge`, see release.py).

This module decides what goes in them; templates/workflows/ holds their layout.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.paths import header
from generator.resolve import Resolved
from generator.specs import SPEC_DIR

WORKFLOW_DIR = ".github/workflows"
# The oldest Python pyproject.toml's requires-python accepts: CI proves the floor.
CI_PYTHON = "3.11"
# GitHub's hosted runners that run a platform natively; any other platform builds under
# QEMU on the amd64 runner.
NATIVE_RUNNERS = {"linux/amd64": "ubuntu-24.04", "linux/arm64": "ubuntu-24.04-arm"}
DEFAULT_RUNNER = NATIVE_RUNNERS["linux/amd64"]
# A registry whose pushes the workflow's own GITHUB_TOKEN may make (packages: write).
GITHUB_REGISTRY = "ghcr.io"


@dataclass(frozen=True)
class PlatformJob:
    """One matrix entry of release.yml's bake job."""

    platform: str
    runner: str
    # Suffix of the job's staging tag and of its cache scope: linux-arm64.
    slug: str
    emulated: bool


@dataclass(frozen=True)
class Workflow:
    """One workflow file and everything its template needs."""

    path: str
    template: str
    header: str
    runner: str
    python: str
    edition: str
    registry: str
    login_registry: str
    github_token_login: bool
    platform_jobs: tuple[PlatformJob, ...]


def platform_slug(platform: str) -> str:
    """A platform as a tag or cache-scope part: linux/arm64/v8 -> linux-arm64-v8."""
    return platform.replace("/", "-")


def release_edition(resolved: Resolved) -> str:
    """The edition release.yml ships: the one with the most images (by name on a tie), which
    holds every image when editions extend one another."""
    editions = resolved.editions
    return min(editions, key=lambda name: (-len(editions[name].services), name))


def login_registry(registry: str) -> str:
    """The host docker/login-action signs in to: ghcr.io/acme -> ghcr.io. A first part
    without a dot, a colon or `localhost` is a Docker Hub namespace."""
    first = registry.split("/", 1)[0]
    is_host = "." in first or ":" in first or first == "localhost"
    return first if is_host else "docker.io"


def platform_jobs(platforms: tuple[str, ...]) -> tuple[PlatformJob, ...]:
    jobs = []
    for platform in platforms:
        runner = NATIVE_RUNNERS.get(platform, DEFAULT_RUNNER)
        slug = platform_slug(platform)
        jobs.append(PlatformJob(platform, runner, slug, platform not in NATIVE_RUNNERS))
    return tuple(jobs)


def workflow_plans(resolved: Resolved) -> tuple[Workflow, ...]:
    """ci.yml and release.yml, in path order."""
    return tuple(_workflow(resolved, name) for name in ("ci", "release"))


def _workflow(resolved: Resolved, name: str) -> Workflow:
    settings = resolved.project.settings
    host = login_registry(settings.registry)
    return Workflow(
        path=f"{WORKFLOW_DIR}/{name}.yml",
        template=f"workflows/{name}.yml.j2",
        header=header(f"{SPEC_DIR}/*.yaml", f"{name} workflow"),
        runner=DEFAULT_RUNNER,
        python=CI_PYTHON,
        edition=release_edition(resolved),
        registry=settings.registry,
        login_registry=host,
        github_token_login=host == GITHUB_REGISTRY,
        platform_jobs=platform_jobs(tuple(settings.platforms)),
    )
