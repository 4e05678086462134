"""The CI release path on the real engine: one bake per platform, each pushed to its own
staging tag (as the generated release.yml's platform jobs do), then `release --merge` joins
them by digest, verifies and promotes. The merge is proven against a two-platform bake."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator import registry, release
from generator.resolve import Resolved
from tests.engine.conftest import LOCAL_REGISTRY
from tests.engine.helpers import REPO, SUTRABUILD, remove_local, run

pytestmark = pytest.mark.usefixtures("engine")

# The services test_release.py builds for both platforms, so their layers are cached here.
SERVICES = ("sutra-control", "sutra-grid-agent")
EDITION = "merge-e2e"
VERSION = "2.0.0"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("merge")
    for name in ("editions", "packages", "dockerfiles", "docker-bake.hcl"):
        run("cp", "-a", str(REPO / name), str(root / name))
    (root / "editions" / f"{EDITION}.yaml").write_text(
        f"description: merge test\nservices: [{', '.join(SERVICES)}]\n"
    )
    yield root


@pytest.fixture
def prefix() -> Iterator[str]:
    """A registry prefix of this test alone; its local tags are dropped afterwards."""
    name = f"{LOCAL_REGISTRY}/sutra-merge-{uuid.uuid4().hex[:8]}"
    yield name
    remove_local(name)


def _bake(root: Path, prefix: str, tag: str, platforms: tuple[str, ...], *extra: str) -> None:
    flags = [arg for p in platforms for arg in ("--platform", p)]
    env = {"REGISTRY": prefix, "VERSION": VERSION, "TAG": tag}
    run(*SUTRABUILD, "bake", EDITION, *flags, "--push", "--", *extra, cwd=root, env=env)


def _platform_jobs(root: Path, prefix: str, staging: str, platforms: tuple[str, ...]) -> None:
    """What each platform job of release.yml does: bake the edition for its platform alone."""
    for platform in platforms:
        tag = release.platform_tag(staging, platform)
        _bake(root, prefix, tag, (platform,), "--provenance", "mode=max")


def _index(ref: str) -> registry.Index:
    index = registry.inspect(ref)
    assert index is not None, f"{ref}: no such tag"
    return index


def test_one_bake_per_platform_merged_equals_a_two_platform_bake(
    project: Path, prefix: str, resolved: Resolved
) -> None:
    platforms = tuple(resolved.project.settings.platforms)
    for platform in platforms:
        _bake(project, prefix, release.platform_tag("split", platform), (platform,))
    _bake(project, prefix, "together", platforms)
    for service in SERVICES:
        repo = f"{prefix}/{service}"
        parts = [_index(f"{repo}:{release.platform_tag('split', p)}") for p in platforms]
        registry.merge(f"{repo}:merged", [registry.pinned(i.ref, i.digest) for i in parts])
        merged, together = _index(f"{repo}:merged"), _index(f"{repo}:together")
        assert merged.digest == together.digest, service
        assert [d for _, d in merged.platforms] == [i.digest for i in parts], service


def test_release_merge_joins_the_platform_jobs_verifies_and_promotes(
    project: Path, prefix: str, resolved: Resolved
) -> None:
    platforms = tuple(resolved.project.settings.platforms)
    staging = f"{VERSION}-rc.ci"
    _platform_jobs(project, prefix, staging, platforms)
    command = ("release", EDITION, "--merge", "--registry", prefix, "--version", VERSION)
    run(*SUTRABUILD, *command, "--rc-tag", staging, "--latest", cwd=project)
    for service in SERVICES:
        repo = f"{prefix}/{service}"
        staged = _index(f"{repo}:{staging}")
        jobs = {p: _index(f"{repo}:{release.platform_tag(staging, p)}") for p in platforms}
        # Each platform's image manifest is the one its job pushed: joined, not rebuilt.
        assert dict(staged.platforms) == {p: dict(i.platforms)[p] for p, i in jobs.items()}
        for tag in (VERSION, "latest"):
            assert _index(f"{repo}:{tag}").digest == staged.digest, (service, tag)


def test_release_merge_with_a_platform_job_missing_promotes_nothing(
    project: Path, prefix: str, resolved: Resolved
) -> None:
    platforms = tuple(resolved.project.settings.platforms)
    staging = f"{VERSION}-rc.half"
    _platform_jobs(project, prefix, staging, platforms[:1])
    command = ("release", EDITION, "--merge", "--registry", prefix, "--version", VERSION)
    proc = run(*SUTRABUILD, *command, "--rc-tag", staging, cwd=project, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for service in SERVICES:
        assert f"{release.platform_tag(staging, platforms[1])}: no such tag" in proc.stderr
        assert registry.inspect(f"{prefix}/{service}:{VERSION}") is None
        assert registry.inspect(f"{prefix}/{service}:{staging}") is None
