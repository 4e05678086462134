"""Cache backends on the real engine: the `registry` and `local` caches survive
`docker buildx prune -af`, the way a CI runner starts with an empty BuildKit.

BuildKit does not reliably match a step that several targets share, nor the steps built on
it, against imported caches (docker/buildx#414, #3878): after a prune, a rebuild of a Python
service found 4 to 9 of its 9 RUN/COPY steps in the cache, from run to run. Steps of the
bases at the root of the graph were found every time; that is what this test holds to.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from generator import cache
from generator.resolve import Resolved
from tests.engine.conftest import LOCAL_REGISTRY
from tests.engine.helpers import bake, run, run_or_copy_steps

pytestmark = pytest.mark.usefixtures("engine")

# The edition whose cache is exported, as a CI job would, in one bake of all its targets.
EDITION = "simple"
ENOUGH = 0.9


def _prune() -> None:
    run("docker", "buildx", "prune", "--all", "--force")


def _bake(root: Path, target: str, env: dict[str, str]) -> dict[str, bool]:
    _, events = bake(target, "-C", str(root), env=env)
    steps = run_or_copy_steps(events)
    assert steps, f"bake {target} reported no RUN/COPY steps"
    return steps


def _one_service_per_stack(resolved: Resolved) -> list[str]:
    project = resolved.project
    services = resolved.editions[EDITION].services
    firsts = {project.services[s].stack: s for s in reversed(services)}
    return sorted(firsts.values())


def _backend_env(backend: str, version: str) -> dict[str, str]:
    # A cache of this test's own: no earlier run's cache can make it pass.
    registry = f"{LOCAL_REGISTRY}/cache-test-{uuid.uuid4().hex[:8]}"
    return {cache.ENV_VAR: backend, "CACHE_REGISTRY": registry, "VERSION": version}


def _root_bases(resolved: Resolved) -> set[str]:
    """The edition's bases built on an upstream image alone: baked alone, no other target
    shares their steps, so BuildKit's cross-target lookups (see above) do not come in."""
    bases = resolved.project.bases
    edition = resolved.editions[EDITION].bases
    return {b for b in edition if bases[b].from_image and not bases[b].bases}


@pytest.mark.parametrize("backend", [cache.REGISTRY, cache.LOCAL])
def test_the_cache_survives_a_pruned_engine(
    resolved: Resolved, project_copy: Path, unique_version: str, backend: str
) -> None:
    """What holds on every run: the cache is exported, survives the prune, and a bake of the
    bases at the root of the graph (each alone) takes every step from it. How much of a
    service comes from it varies from run to run; `tests/benchmarks/cache_survival.py`
    measures that."""
    env = _backend_env(backend, unique_version)
    # One CI run: an empty engine builds the edition and exports every target's cache
    # (mode=max: every stage), then the next run starts empty too.
    _prune()
    _bake(project_copy, EDITION, env)
    if backend == cache.LOCAL:
        assert any((project_copy / cache.LOCAL_DIR).glob("*/index.json")), "no local cache"
    _prune()
    steps: dict[str, bool] = {}
    for base in sorted(_root_bases(resolved)):
        _, events = bake(base, "-C", str(project_copy), env=env)
        steps.update(run_or_copy_steps(events))
    assert steps, f"no RUN/COPY step in {sorted(_root_bases(resolved))}"
    ran = sorted(name for name, hit in steps.items() if not hit)
    assert not ran, f"{backend}: {len(ran)} of {len(steps)} steps ran after a prune: {ran}"


def test_without_a_cache_a_pruned_engine_runs_the_steps(
    resolved: Resolved, project_copy: Path, unique_version: str
) -> None:
    """The control: the same rebuild with no cache to import runs most steps, so the figure
    above comes from the imported cache and not from anything the prune left behind."""
    _prune()
    service = _one_service_per_stack(resolved)[0]
    steps = _bake(project_copy, service, {cache.ENV_VAR: cache.NONE, "VERSION": unique_version})
    assert sum(steps.values()) / len(steps) < ENOUGH, steps
