"""Cache backends on the real engine: the `registry` and `local` caches survive
`docker buildx prune -af`, the way a CI runner starts with an empty BuildKit.

Each rebuild bakes one service (its bases come along through `target:` contexts). A bake of
several services at once imports its caches unreliably: BuildKit looks a step that two targets
share up in one target's imports only, and the other targets' steps below it then miss
(docker/buildx#414, #3878). Measured here on `simple`: 20 of 30 RUN/COPY steps CACHED for the
whole edition, 9 of 9 for each service baked alone. The README's cache section says so.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from generator import cache
from generator.resolve import Resolved
from tests.engine.conftest import LOCAL_REGISTRY
from tests.engine.helpers import bake, run, vertices

pytestmark = pytest.mark.usefixtures("engine")

# The edition whose cache is exported, as a CI job would, in one bake of all its targets.
EDITION = "simple"
# The steps that do work; FROM, WORKDIR and the like are not what a cache saves.
RUN_OR_COPY = re.compile(r"^\[[\w.-]+(?: [\w.-]+)? +\d+/\d+\] (RUN|COPY) ")
ENOUGH = 0.9


def _run_or_copy(events: list[dict]) -> dict[str, bool]:
    """Every RUN/COPY step of a bake and whether BuildKit reported it CACHED."""
    steps: dict[str, bool] = {}
    for vertex in vertices(events).values():
        if RUN_OR_COPY.match(vertex.get("name", "")):
            steps[vertex["name"]] = steps.get(vertex["name"], False) or bool(vertex.get("cached"))
    return steps


def _prune() -> None:
    run("docker", "buildx", "prune", "--all", "--force")


def _bake(root: Path, target: str, env: dict[str, str]) -> dict[str, bool]:
    _, events = bake(target, "-C", str(root), env=env)
    steps = _run_or_copy(events)
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


@pytest.mark.parametrize("backend", [cache.REGISTRY, cache.LOCAL])
def test_the_cache_survives_a_pruned_engine(
    resolved: Resolved, project_copy: Path, unique_version: str, backend: str
) -> None:
    env = _backend_env(backend, unique_version)
    # One CI run: an empty engine builds the edition and exports every target's cache
    # (mode=max: every stage). Empty first, as a runner is: after the uncached builds of
    # other tests, BuildKit holds two results for some steps, and an export may link a step
    # to the other result of the step before it, which no import then matches.
    _prune()
    _bake(project_copy, EDITION, env)
    if backend == cache.LOCAL:
        assert any((project_copy / cache.LOCAL_DIR).glob("*/index.json")), "no local cache"
    for service in _one_service_per_stack(resolved):
        _prune()  # the next CI run, on an empty runner
        steps = _bake(project_copy, service, env)
        hits = sum(steps.values())
        assert hits / len(steps) >= ENOUGH, (
            f"{backend}, {service}: {hits} of {len(steps)} RUN/COPY steps CACHED after a "
            f"prune; ran {sorted(name for name, cached in steps.items() if not cached)}"
        )


def test_without_a_cache_a_pruned_engine_runs_the_steps(
    resolved: Resolved, project_copy: Path, unique_version: str
) -> None:
    """The control: the same rebuild with no cache to import runs most steps, so the figure
    above comes from the imported cache and not from anything the prune left behind."""
    _prune()
    service = _one_service_per_stack(resolved)[0]
    steps = _bake(project_copy, service, {cache.ENV_VAR: cache.NONE, "VERSION": unique_version})
    assert sum(steps.values()) / len(steps) < ENOUGH, steps
