"""Real builds of every edition on a real engine: health, cache, rebuild scope, failures."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.resolve import Resolved
from tests.engine.helpers import (
    SUTRABUILD,
    bake,
    image_content,
    image_id,
    pushed_platforms,
    run,
    vertices,
)

pytestmark = pytest.mark.usefixtures("engine")

# A Dockerfile instruction as bake names it: `[target stage n/m] RUN ...`. FROM lines and
# BuildKit's own bookkeeping (`[target internal] load ...`, exporting) are not build steps.
STEP = re.compile(r"^\[[\w.-]+(?: [\w.-]+)? +\d+/\d+\] (?!FROM )")


@dataclass(frozen=True)
class Build:
    """What one bake did: its progress events, metadata file and wall time."""

    events: list[dict]
    metadata: dict
    seconds: float


def _steps(events: list[dict]) -> dict[str, dict]:
    return {d: v for d, v in vertices(events).items() if STEP.match(v["name"])}


def _uncached(events: list[dict]) -> list[str]:
    return sorted(v["name"] for v in _steps(events).values() if not v.get("cached"))


@pytest.fixture(scope="module")
def enterprise(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """`make bake EDITION=enterprise` as a user types it, every step run (no cache hit)."""
    metadata = tmp_path_factory.mktemp("bake") / "metadata.json"
    # --no-cache rather than `buildx prune`: a prune racing BuildKit's own cache bookkeeping
    # has failed the next build with "failed to get dead record".
    flags = f"-- --no-cache --progress=rawjson --metadata-file {metadata}"
    start = time.monotonic()
    proc = run("make", "--no-print-directory", "bake", "EDITION=enterprise", f"BAKE_FLAGS={flags}")
    took = time.monotonic() - start
    events = [json.loads(x) for x in proc.stderr.splitlines() if x.startswith('{"')]
    print(f"cold enterprise bake: {took:.0f}s, {len(_steps(events))} steps")
    return Build(events, json.loads(metadata.read_text()), took)


def test_enterprise_builds_every_base_and_service(enterprise: Build, resolved: Resolved) -> None:
    """Every service image is in the engine, and every base's Dockerfile ran."""
    edition = resolved.editions["enterprise"]
    for service in edition.services:
        assert service in enterprise.metadata, f"{service} not built"
        tag = run("docker", "buildx", "bake", "--print", service).stdout
        assert image_id(json.loads(tag)["target"][service]["tags"][0])
    # Bases share steps, and BuildKit reports a shared step once per target that uses it,
    # so look at every name reported; `[base internal]` bookkeeping does not count.
    names = {v["name"] for e in enterprise.events for v in e.get("vertexes") or []}
    built = {n[1:].split(" ")[0] for n in names if n.split(" ")[1:2] != ["internal]"]}
    assert set(edition.bases) <= built, set(edition.bases) - built
    run_steps = [v for v in _steps(enterprise.events).values() if "RUN " in v["name"]]
    assert run_steps and not any(v.get("cached") for v in run_steps), "a RUN was a cache hit"


@pytest.mark.parametrize("edition", ["simple", "community", "enterprise"])
def test_verify_passes_for_every_edition(enterprise: Build, resolved: Resolved, edition: str):
    """Each image starts, turns healthy, and meets the runtime image policy."""
    proc = run(*SUTRABUILD, "verify", edition)
    services = resolved.editions[edition].services
    assert f"verify {edition}: all {len(services)} images healthy and compliant" in proc.stdout
    rows = [line.split()[0] for line in proc.stdout.splitlines()[1:-1]]
    assert rows == list(services)


def test_second_bake_is_fully_cached(enterprise: Build) -> None:
    """With nothing changed, every build step of a second bake is a cache hit."""
    _, events = bake("enterprise")
    assert _steps(events), "no build steps reported"
    assert _uncached(events) == []


def _image_ids(services: tuple[str, ...]) -> dict[str, str | None]:
    printed = json.loads(run("docker", "buildx", "bake", "--print", *services).stdout)
    return {s: image_id(printed["target"][s]["tags"][0]) for s in services}


def test_a_no_op_bake_keeps_every_image_id(enterprise: Build, resolved: Resolved) -> None:
    """Nothing changed, so no image changes: not its config, history, labels or index."""
    services = resolved.editions["enterprise"].services
    bake("enterprise")
    before = _image_ids(services)
    bake("enterprise")
    assert _image_ids(services) == before


def test_a_no_op_plain_buildx_bake_keeps_every_image_id(
    enterprise: Build, resolved: Resolved
) -> None:
    """The committed bake file alone, with none of sutrabuild's variables, is as stable."""
    services = resolved.editions["enterprise"].services
    # CA_BUNDLE stays as it is: without it the fetch steps would (rightly) run again.
    bundle = os.environ.get("CA_BUNDLE")
    grant = [f"--allow=fs.read={bundle}"] if bundle else []
    plain = ("docker", "buildx", "bake", *grant, "--progress=quiet", "enterprise")
    unset = {"SOURCE_DATE_EPOCH": "", "REVISION": "", "CREATED": ""}
    run(*plain, env=unset)
    before = _image_ids(services)
    run(*plain, env=unset)
    assert _image_ids(services) == before


def test_source_change_rebuilds_only_that_service(
    enterprise: Build, project_copy: Path, unique_version: str
) -> None:
    """Editing one service's source reruns only that service's steps from its COPY on."""
    main_rs = project_copy / "packages/sutra-grid-agent/src/main.rs"
    main_rs.write_text(main_rs.read_text() + f"\n// rebuild probe {unique_version}\n")
    env = {"VERSION": unique_version}
    _, events = bake("enterprise", cwd=project_copy, env=env)
    rerun = _uncached(events)
    assert rerun, "the edited service was not rebuilt"
    assert all(name.startswith("[sutra-grid-agent ") for name in rerun), rerun
    assert not any("cargo fetch" in name for name in rerun), "dependency layer was not reused"


def test_failing_service_fails_the_bake_naming_it(
    enterprise: Build, project_copy: Path, unique_version: str, resolved: Resolved
) -> None:
    """Broken requirements: exit 1, the failing target named, other images' tags untouched."""
    # bake does not cancel targets that finish before the failure: they are exported again,
    # from cache. "Untouched" means their tags still name the same layers and config.
    env = {"VERSION": unique_version, "CREATED": "2026-01-01T00:00:00Z"}
    bake("enterprise", cwd=project_copy, env=env)
    tags = {
        s: f"{resolved.project.settings.registry}/{s}:{unique_version}"
        for s in resolved.editions["enterprise"].services
    }
    before = {s: image_content(t) for s, t in tags.items()}
    (project_copy / "packages/sutra-hybrid/requirements.txt").write_text("numpy==0.0.0.404\n")
    proc, _ = bake("enterprise", cwd=project_copy, env=env, check=False)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("docker buildx bake enterprise failed (exit 1); failed target(s): ")
    assert "sutra-hybrid" in last
    after = {s: image_content(t) for s, t in tags.items()}
    assert after == before


def test_multi_platform_push_yields_an_index_with_both_platforms(
    enterprise: Build, unique_version: str, resolved: Resolved
) -> None:
    """A Python and a Rust service, built for amd64 and arm64 and pushed to the local registry."""
    env = {"REGISTRY": "localhost:5000/sutra-e2e", "VERSION": unique_version}
    for service in ("sutra-control", "sutra-grid-agent"):
        bake(service, "--all-platforms", "--push", env=env)
        found = pushed_platforms(f"localhost:5000/sutra-e2e/{service}:{unique_version}")
        assert found == set(resolved.project.settings.platforms), (service, found)
