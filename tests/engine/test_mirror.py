"""The base-image mirror on a real engine and the local registry.

How the tests know the mirror was used, and not the local `python:3.11-slim` & co.: the
stand-in tags are shared with every other test (and other builds on this engine), so they
cannot be removed. Instead the mirror gets *different* images under the upstream names: each
upstream base (every base's `from:` in the specs) rebuilt FROM the stand-in plus one file,
MARKER, holding a token made for this run, pushed for amd64 and arm64 to
`localhost:5000/<uuid>-mirror/<image>`, and then removed from the engine's image store. From
then on that marker exists in exactly one place: the registry, under the mirror prefix. An
image that contains it was built from a base resolved through the mirror reference; one
resolved from the local tag (or from Docker Hub) cannot contain it, since neither has it.
The build's own progress names the mirror references too, which covers the builder bases,
whose files never reach a shipped image.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.mirror import mirrored_ref
from generator.paths import base_image
from generator.resolve import Resolved, service_bases
from tests.engine.conftest import LOCAL_REGISTRY
from tests.engine.helpers import NATIVE, SUTRABUILD, bake, pushed_platforms, run, vertices

pytestmark = pytest.mark.usefixtures("engine")

MARKER = "/etc/sutra-mirror-marker"
EDITION = "simple"


@dataclass(frozen=True)
class Mirror:
    """A mirror prefix in the local registry and the token its images carry."""

    prefix: str
    token: str


def _push_marked(image: str, ref: str, context: Path, platforms: tuple[str, ...]) -> None:
    """IMAGE (the local stand-in) plus MARKER, pushed for every platform as REF."""
    dockerfile = context / f"{uuid.uuid4().hex}.Dockerfile"
    dockerfile.write_text(f"FROM {image}\nCOPY marker {MARKER}\n")
    run(
        *("docker", "buildx", "build", "--provenance=false", "--sbom=false", "--push"),
        *("--platform", ",".join(platforms), "-f", str(dockerfile), "-t", ref, str(context)),
    )
    # The docker driver also keeps what it pushed; without that copy the marked image is in
    # the registry only.
    run("docker", "image", "rm", ref, check=False)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory, resolved: Resolved) -> Mirror:
    """Every upstream base of the specs, marked, in a mirror of its own in the local registry."""
    found = Mirror(f"{LOCAL_REGISTRY}/{uuid.uuid4().hex[:12]}-mirror", uuid.uuid4().hex)
    context = tmp_path_factory.mktemp("mirror")
    (context / "marker").write_text(found.token + "\n")
    platforms = resolved.project.settings.platforms
    for image in _upstream_of_edition(resolved):
        _push_marked(image, mirrored_ref(found.prefix, image), context, platforms)
    return found


def _upstream_of_edition(resolved: Resolved) -> list[str]:
    """The upstream images the edition's bases start FROM (not every stack's)."""
    bases = resolved.project.bases
    found = {bases[b].from_image for b in resolved.editions[EDITION].bases}
    return sorted(image for image in found if image)


def _marker(ref: str, platform: str = NATIVE) -> str:
    proc = run(
        *("docker", "run", "--rm", "--pull", "missing", "--platform", platform),
        *("--entrypoint", "cat", ref, MARKER),
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else f"(no marker: {proc.stderr.strip()})"


def test_every_upstream_base_is_a_mirror_context_in_the_bake(
    resolved: Resolved, mirror: Mirror
) -> None:
    """`--mirror` gives each base target a named context per upstream image it starts FROM;
    services keep only their `target:` contexts."""
    proc = run(*SUTRABUILD, "bake", EDITION, "--mirror", mirror.prefix, "--print")
    targets = json.loads(proc.stdout)["target"]
    project = resolved.project
    for name in resolved.editions[EDITION].bases:
        base = project.bases[name]
        expected = {base_image(project, d): f"target:{d}" for d in base.bases}
        if base.from_image:
            expected[base.from_image] = f"docker-image://{mirror.prefix}/{base.from_image}"
        assert targets[name].get("contexts", {}) == expected, name
    for service in resolved.editions[EDITION].services:
        deps = service_bases(project, service)
        assert targets[service]["contexts"] == {base_image(project, b): f"target:{b}" for b in deps}


def test_an_edition_built_through_the_mirror_carries_the_mirror_bases(
    resolved: Resolved, mirror: Mirror, unique_version: str
) -> None:
    """A real bake of the edition with `--mirror`: every upstream base is loaded from the
    mirror reference, and every service image holds the mirror's marker."""
    env = {"REGISTRY": f"{LOCAL_REGISTRY}/{mirror.prefix.rsplit('/', 1)[1]}-out"}
    env["VERSION"] = unique_version
    _, events = bake(EDITION, "--mirror", mirror.prefix, env=env)
    names = " ".join(v["name"] for v in vertices(events).values())
    for image in _upstream_of_edition(resolved):
        assert mirrored_ref(mirror.prefix, image) in names, image
    for service in resolved.editions[EDITION].services:
        ref = f"{env['REGISTRY']}/{service}:{unique_version}"
        assert _marker(ref) == mirror.token, service


def test_a_two_platform_bake_resolves_the_mirror_per_platform(
    resolved: Resolved, mirror: Mirror, unique_version: str
) -> None:
    """`docker-image://` contexts are resolved once per platform: a base built for every
    platform of the project and pushed holds the mirror's marker on each of them."""
    project = resolved.project
    # A base on an upstream image alone: no other base to build first for each platform.
    base = next(
        b
        for b in resolved.editions[EDITION].bases
        if project.bases[b].from_image and not project.bases[b].bases
    )
    registry = f"{LOCAL_REGISTRY}/{mirror.prefix.rsplit('/', 1)[1]}-multi"
    env = {"REGISTRY": registry, "VERSION": unique_version}
    bake(base, "--all-platforms", "--push", "--mirror", mirror.prefix, env=env)
    ref = f"{registry}/{base_image(project, base)}:{unique_version}"
    assert pushed_platforms(ref) == set(project.settings.platforms)
    for platform in project.settings.platforms:
        assert _marker(ref, platform) == mirror.token, platform
