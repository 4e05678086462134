"""Reproducible images on a real engine: two builds of the same commit, every step run
(`--no-cache`), give byte-identical image manifests.

The images are written as OCI layouts with BuildKit's `rewrite-timestamp`, which clamps the
file times in every layer to SOURCE_DATE_EPOCH. The docker driver's own image store cannot
take that option (it unpacks every image), so the layouts are what is compared; a registry
push from a docker-container builder (CI) gets the same option.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.resolve import Resolved
from tests.benchmarks.oci_diff import OciImage, differences
from tests.engine.helpers import oci_bake_command, run

pytestmark = pytest.mark.usefixtures("engine")


def _one_service_per_stack(resolved: Resolved) -> tuple[str, ...]:
    """The first service of each stack in enterprise (Python and Rust today)."""
    project = resolved.project
    first: dict[str, str] = {}
    for name in resolved.editions["enterprise"].services:
        first.setdefault(project.services[name].stack, name)
    return tuple(sorted(first.values()))


def _build(services: tuple[str, ...], dest: Path, epoch: str, *flags: str) -> dict[str, OciImage]:
    """The services (and their bases) built, each written as an OCI tar."""
    dest.mkdir()
    run(*oci_bake_command(services, services, dest, *flags), env={"SOURCE_DATE_EPOCH": epoch})
    return {s: OciImage(dest / f"{s}.tar") for s in services}


def test_two_uncached_builds_give_identical_manifests(resolved: Resolved, tmp_path: Path) -> None:
    services = _one_service_per_stack(resolved)
    assert len(services) >= 2, "expected a service of each stack"
    epoch = run("git", "log", "-1", "--format=%ct").stdout.strip()
    first = _build(services, tmp_path / "first", epoch, "--no-cache")
    second = _build(services, tmp_path / "second", epoch, "--no-cache")
    for service in services:
        found = differences(first[service], second[service])
        assert not found, f"{service} differs between two builds:\n" + "\n".join(found[:40])
        assert first[service].manifest_digest == second[service].manifest_digest


def test_the_diff_finds_a_changed_build(resolved: Resolved, tmp_path: Path) -> None:
    """The comparison is not blind: another SOURCE_DATE_EPOCH changes the image config (the
    steps themselves may come from the cache)."""
    service = _one_service_per_stack(resolved)[0]
    one = _build((service,), tmp_path / "one", "1700000000")
    two = _build((service,), tmp_path / "two", "1700000001")
    found = differences(one[service], two[service])
    assert any(line.startswith("config created") for line in found), found
