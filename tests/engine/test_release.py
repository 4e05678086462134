"""`sutrabuild release` and `promote` against the real local registry: staged push of every
platform, verification of what was pushed (non-native platforms under QEMU), promotion by
digest, a broken release that moves no tag, and a rollback."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from generator import registry, release
from generator.bake import bake_command, bake_environment
from generator.plan import plan
from generator.release import ReleaseOptions
from generator.resolve import Resolved
from tests.engine.conftest import LOCAL_REGISTRY
from tests.engine.helpers import REPO, SUTRABUILD, remove_local, run

pytestmark = pytest.mark.usefixtures("engine")

# One Python and one Rust service keep the release small while covering both stacks.
SERVICES = ("sutra-control", "sutra-grid-agent")
BROKEN = "sutra-control"
EDITION = "release-e2e"
VERSION = "1.0.0"


def _project(tmp: Path, repo_copy: Path, broken: bool) -> Path:
    """A copy of the project with a two-service edition; `broken` makes one service's health
    check probe a path the service does not serve, so it turns unhealthy."""
    root = tmp / ("broken" if broken else "good")
    run("cp", "-a", str(repo_copy), str(root))
    (root / "editions" / f"{EDITION}.yaml").write_text(
        f"description: release test\nservices: [{', '.join(SERVICES)}]\n"
    )
    if broken:
        spec = root / "editions" / "project.yaml"
        text = spec.read_text()
        anchor = "    port: 9000\n"  # sutra-control's
        assert text.count(anchor) == 1
        text = text.replace(anchor, anchor + "    healthcheck: {path: /broken, interval: 5s}\n")
        # The healthy service changes too (a label), so the builds are reproducible and it
        # still gets a new digest: promoting it would move its tags.
        anchor = "    description: Grid worker agent\n"
        assert text.count(anchor) == 1
        spec.write_text(text.replace(anchor, "    description: Grid worker agent, rebuilt\n"))
    return root


def _release(root: Path, prefix: str, rc: str, *flags: str) -> tuple[int, str]:
    proc = run(
        *SUTRABUILD,
        "release",
        EDITION,
        "--registry",
        prefix,
        "--version",
        VERSION,
        "--rc-tag",
        rc,
        *flags,
        cwd=root,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def _promote(
    root: Path, prefix: str, source: str, tag: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    command = ("promote", EDITION, "--from", source, "--to", tag, "--registry", prefix)
    return run(*SUTRABUILD, *command, cwd=root, check=check)


def _digests(prefix: str, tag: str) -> dict[str, str | None]:
    found = {s: registry.inspect(f"{prefix}/{s}:{tag}") for s in SERVICES}
    return {s: index.digest if index else None for s, index in found.items()}


@pytest.fixture(scope="module")
def released(
    engine: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, Path]]:
    """A good release of VERSION (with --latest) under a registry prefix of this run alone."""
    tmp = tmp_path_factory.mktemp("release")
    base = tmp / "repo"
    base.mkdir()
    for name in ("editions", "packages", "dockerfiles", "docker-bake.hcl"):
        run("cp", "-a", str(REPO / name), str(base / name))
    prefix = f"{LOCAL_REGISTRY}/sutra-release-{uuid.uuid4().hex[:8]}"
    good = _project(tmp, base, broken=False)
    code, out = _release(good, prefix, f"{VERSION}-rc.good", "--latest")
    assert code == 0, out
    yield prefix, good, _project(tmp, base, broken=True)
    remove_local(prefix)


def test_good_release_promotes_the_staged_indexes(
    released: tuple[str, Path, Path], resolved: Resolved
) -> None:
    prefix, _, _ = released
    platforms = set(resolved.project.settings.platforms)
    for service in SERVICES:
        staged = registry.inspect(f"{prefix}/{service}:{VERSION}-rc.good")
        assert staged is not None
        assert {p for p, _ in staged.platforms} == platforms
        for tag in (VERSION, "latest"):
            final = registry.inspect(f"{prefix}/{service}:{tag}")
            assert final is not None
            assert final.digest == staged.digest, (service, tag)


def test_staged_index_carries_provenance_and_annotations(
    released: tuple[str, Path, Path], resolved: Resolved
) -> None:
    prefix, _, _ = released
    ref = f"{prefix}/{SERVICES[0]}:{VERSION}"
    raw = json.loads(run("docker", "buildx", "imagetools", "inspect", "--raw", ref).stdout)
    notes = raw.get("annotations") or {}
    assert notes.get("org.opencontainers.image.title") == SERVICES[0]
    assert notes.get("org.opencontainers.image.version") == VERSION
    description = resolved.project.services[SERVICES[0]].description
    assert notes.get("org.opencontainers.image.description") == description
    kinds = {(m.get("annotations") or {}).get(registry.ATTESTATION_TYPE) for m in raw["manifests"]}
    assert "attestation-manifest" in kinds
    # mode=max provenance: one SLSA statement per platform, with the build's full config
    # (mode=min leaves buildConfig out).
    fmt = "{{json .Provenance}}"
    out = run("docker", "buildx", "imagetools", "inspect", "--format", fmt, ref).stdout
    provenance = json.loads(out)
    assert set(provenance) == set(resolved.project.settings.platforms)
    assert all("buildConfig" in p["SLSA"] for p in provenance.values())


def test_broken_release_moves_no_tag_and_keeps_staging(
    released: tuple[str, Path, Path], resolved: Resolved
) -> None:
    prefix, _, broken = released
    before = {tag: _digests(prefix, tag) for tag in (VERSION, "latest")}
    code, out = _release(broken, prefix, f"{VERSION}-rc.broken", "--latest")
    assert code == 1, out
    table = [line.split() for line in out.splitlines()]
    failed_rows = [row for row in table if row and row[0] == BROKEN]
    assert {row[1] for row in failed_rows} == set(resolved.project.settings.platforms), out
    assert "nothing promoted" in out
    after = {tag: _digests(prefix, tag) for tag in (VERSION, "latest")}
    assert after == before
    staged = _digests(prefix, f"{VERSION}-rc.broken")
    assert all(staged.values()), staged
    # The healthy service has a new index, so promoting it would have moved its tags: the
    # unchanged digests above are the release refusing, not a no-op.
    assert staged[SERVICES[1]] != before[VERSION][SERVICES[1]]


def test_promote_rolls_latest_back_by_digest(released: tuple[str, Path, Path]) -> None:
    prefix, good, _ = released
    # An earlier release to roll back to: the good release's staged indexes, tagged 0.9.0.
    first = _digests(prefix, f"{VERSION}-rc.good")
    _promote(good, prefix, f"{VERSION}-rc.good", "0.9.0")
    assert _digests(prefix, "0.9.0") == first
    # A newer latest (the broken release's staging stands in for it), then the rollback.
    _promote(good, prefix, f"{VERSION}-rc.broken", "latest")
    assert _digests(prefix, "latest") != first
    _promote(good, prefix, "0.9.0", "latest")
    assert _digests(prefix, "latest") == first


def test_promote_refuses_a_source_missing_for_one_image_and_changes_nothing(
    released: tuple[str, Path, Path],
) -> None:
    prefix, good, _ = released
    before = _digests(prefix, "latest")
    # The source tag exists for the first image only, on a digest latest does not hold.
    first = f"{prefix}/{SERVICES[0]}"
    other = registry.inspect(f"{first}:{VERSION}-rc.broken")
    assert other is not None and other.digest != before[SERVICES[0]]
    registry.point(f"{first}:partial", other.ref, other.digest)
    proc = _promote(good, prefix, "partial", "latest", check=False)
    assert proc.returncode == 2, proc.stderr
    assert f"{prefix}/{SERVICES[1]}:partial: no such tag" in proc.stderr
    assert first + ":partial" not in proc.stderr
    assert _digests(prefix, "latest") == before


def test_sbom_and_provenance_reach_bake(resolved: Resolved) -> None:
    """`--sbom` is only checked as far as bake: its scanner image comes from Docker Hub,
    which this machine cannot reach (see README, Releasing)."""
    where = release.release_target(resolved.project, ReleaseOptions(rc_tag="x-rc.1"), "")
    services = resolved.editions["enterprise"].services
    stage = release.stage_options(
        REPO, plan(resolved).bake, services, where, ReleaseOptions(sbom=True)
    )
    command = bake_command("enterprise", replace(stage, push=False, print_only=True))
    env = bake_environment(REPO, stage, os.environ)
    printed = json.loads(run(*command, env=env).stdout)["target"]
    for service in services:
        target = printed[service]
        assert {"type": "sbom"} in target["attest"], service
        assert {"type": "provenance", "mode": "max"} in target["attest"], service
        assert target["tags"] == [where.ref(service, "x-rc.1")]
        assert f"index:org.opencontainers.image.title={service}" in target["annotations"]
