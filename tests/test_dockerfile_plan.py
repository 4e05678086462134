"""dockerfile_plan.py: what each Dockerfile template is given for a base or a service."""

from __future__ import annotations

import pytest

from generator import commands
from generator.dockerfile_plan import (
    BaseDockerfile,
    DockerfilePlan,
    HealthcheckPlan,
    ServiceDockerfile,
    dockerfile_plans,
)
from tests.conftest import DETAILED_EDITIONS, make_minimal_project


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DockerfilePlan]:
    """The minimal project with details: exact values are asserted on it."""
    root = make_minimal_project(tmp_path_factory.mktemp("dockerfiles") / "proj", DETAILED_EDITIONS)
    return {d.name: d for d in dockerfile_plans(commands.load(root).project)}


def _service(plans: dict[str, DockerfilePlan], name: str) -> ServiceDockerfile:
    plan = plans[name]
    assert isinstance(plan, ServiceDockerfile)
    return plan


def _base(plans: dict[str, DockerfilePlan], name: str) -> BaseDockerfile:
    plan = plans[name]
    assert isinstance(plan, BaseDockerfile)
    return plan


def test_plans_are_in_path_order(plans: dict[str, DockerfilePlan]) -> None:
    paths = [p.path for p in plans.values()]
    assert paths == sorted(paths)


def test_service_dockerfile_plan(plans: dict[str, DockerfilePlan]) -> None:
    api = _service(plans, "api")
    assert api.template == "stacks/python/service.Dockerfile.j2"
    assert (api.builder, api.runtime) == ("sutra-python-builder", "sutra-python-base")
    assert api.env == (("PORT", "8000"), ("STORAGE_URL", "http://store:9000"))
    assert api.command == ("python", "-m", "app")
    assert api.healthcheck == HealthcheckPlan(
        "--interval=30s --timeout=3s --start-period=10s --start-interval=2s --retries=3",
        ("sutra-healthcheck", "http://localhost:8000/health"),
    )
    assert api.context_allow == ("requirements.txt", "app/")
    assert api.dockerignore_path == "dockerfiles/api.Dockerfile.dockerignore"
    assert (api.user_name, api.uid, api.gid) == ("sutra", 1000, 1000)


def test_rust_service_runs_its_binary(plans: dict[str, DockerfilePlan]) -> None:
    store = _service(plans, "store")
    assert store.template == "stacks/rust/service.Dockerfile.j2"
    assert store.command == ("store",)
    assert store.volumes == ("/data",)
    assert store.env == (("DATA_DIR", "/data"), ("PORT", "9000"))
    assert store.context_allow == ("Cargo.toml", "Cargo.lock", "src/")


def test_base_dockerfile_plans(plans: dict[str, DockerfilePlan]) -> None:
    builder = _base(plans, "sutra-python-builder")
    assert (builder.from_image, builder.from_base, builder.build_stage_base) == (
        None,
        "sutra-python-base",
        None,
    )
    assert builder.packages == ("gcc", "libc6-dev")
    runtime = _base(plans, "sutra-rust-runtime")
    assert (runtime.from_image, runtime.from_base, runtime.build_stage_base) == (
        "debian:bookworm-slim",
        None,
        "sutra-rust-builder",
    )
    assert plans["sutra-python-base"].context_allow == ("requirements.txt", "sutra-healthcheck")
    assert plans["sutra-rust-builder"].context_allow == ()
