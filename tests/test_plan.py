"""plan.py: bake targets, groups and Dockerfile plans, in bake's own vocabulary."""

from __future__ import annotations

import posixpath
from pathlib import Path

import pytest

from generator import GENERATED_MARKER, commands
from generator.plan import (
    BAKE_FILE,
    DOCKERFILE_DIR,
    DockerfilePlan,
    HealthcheckPlan,
    Plan,
    Target,
    base_image,
    dockerfile_path,
    header,
    plan,
)
from tests.conftest import REPO_ROOT, make_minimal_project, project_with


@pytest.fixture(scope="module")
def real() -> Plan:
    return plan(commands.load(REPO_ROOT))


def targets_of(p: Plan) -> dict[str, Target]:
    return {t.name: t for t in p.bake.targets}


def dockerfiles_of(p: Plan) -> dict[str, DockerfilePlan]:
    return {d.name: d for d in p.dockerfiles}


def test_one_target_per_base_and_service_sorted(real: Plan) -> None:
    assert [t.name for t in real.bake.targets] == [
        "python-base",
        "python-builder",
        "rust-builder",
        "rust-runtime",
        "sutra-api",
        "sutra-bulk-ingester",
        "sutra-control",
        "sutra-embedding-service",
        "sutra-grid-agent",
        "sutra-grid-master",
        "sutra-hybrid",
        "sutra-storage",
    ]


def test_named_contexts_are_target_refs_to_existing_targets(real: Plan) -> None:
    targets = targets_of(real)
    for target in real.bake.targets:
        for name, source in target.contexts:
            assert source.startswith("target:"), (target.name, source)
            ref = source.removeprefix("target:")
            assert ref in targets, (target.name, ref)
            assert name == targets[ref].image


def test_service_contexts_bind_both_bases(real: Plan) -> None:
    targets = targets_of(real)
    assert targets["sutra-api"].contexts == (
        ("sutra-python-base", "target:python-base"),
        ("sutra-python-builder", "target:python-builder"),
    )
    assert targets["sutra-storage"].contexts == (
        ("sutra-rust-builder", "target:rust-builder"),
        ("sutra-rust-runtime", "target:rust-runtime"),
    )
    assert targets["python-base"].contexts == ()
    assert targets["rust-runtime"].contexts == (("sutra-rust-builder", "target:rust-builder"),)


def test_dockerfile_paths_are_relative_to_the_context(real: Plan) -> None:
    for target in real.bake.targets:
        assert not posixpath.isabs(target.dockerfile)
        joined = posixpath.normpath(posixpath.join(target.context, target.dockerfile))
        assert joined == f"{DOCKERFILE_DIR}/{target.image}.Dockerfile", target.name


def test_context_and_dockerfile_of_each_kind(real: Plan) -> None:
    targets = targets_of(real)
    api = targets["sutra-api"]
    assert (api.context, api.dockerfile) == (
        "packages/sutra-api",
        "../../dockerfiles/sutra-api.Dockerfile",
    )
    builder = targets["rust-builder"]
    assert (builder.context, builder.dockerfile) == ("dockerfiles", "sutra-rust-builder.Dockerfile")


def test_every_plan_has_a_target_and_vice_versa(real: Plan) -> None:
    images = {t.image for t in real.bake.targets}
    assert {d.name for d in real.dockerfiles} == images
    assert [d.path for d in real.dockerfiles] == sorted(dockerfile_path(i) for i in images)


def test_from_images_are_exactly_the_bound_named_contexts(real: Plan) -> None:
    """Every sutra-* image a Dockerfile starts FROM is a named context of its target."""
    dockerfiles = dockerfiles_of(real)
    for target in real.bake.targets:
        df = dockerfiles[target.image]
        used = {df.builder, df.runtime, df.parent} - {None}
        assert used == {name for name, _ in target.contexts}, target.name


def test_groups(real: Plan) -> None:
    groups = {g.name: g.targets for g in real.bake.groups}
    assert [g.name for g in real.bake.groups] == [
        "default",
        "bases",
        "community",
        "enterprise",
        "simple",
    ]
    assert groups["default"] == ("simple",)
    assert groups["bases"] == ("python-base", "python-builder", "rust-builder", "rust-runtime")
    assert groups["simple"] == (
        "sutra-api",
        "sutra-embedding-service",
        "sutra-hybrid",
        "sutra-storage",
    )
    assert len(groups["community"]) == 6
    assert len(groups["enterprise"]) == 8


def test_variables_default_to_the_project_settings(real: Plan) -> None:
    assert {v.name: v.default for v in real.bake.variables} == {
        "REGISTRY": "ghcr.io/sutra-ai",
        "VERSION": "0.1.0",
        "PLATFORMS": "",
        "REVISION": "",
        "CREATED": "",
        "CA_BUNDLE": "",
        "PIP_INDEX_URL": "",
        "CACHE_REGISTRY": "",
    }


def test_labels(real: Plan) -> None:
    assert real.bake.common_labels == (
        ("org.opencontainers.image.source", "https://github.com/sutra-ai/sutra"),
        ("org.opencontainers.image.vendor", "Sutra AI"),
    )
    assert targets_of(real)["sutra-hybrid"].labels == (
        ("org.opencontainers.image.title", "sutra-hybrid"),
        ("org.opencontainers.image.description", "Hybrid semantic and keyword search"),
    )


def test_service_dockerfile_plan(real: Plan) -> None:
    api = dockerfiles_of(real)["sutra-api"]
    assert api.template == "python-service"
    assert (api.builder, api.runtime) == ("sutra-python-builder", "sutra-python-base")
    assert api.env == (("PORT", "8000"), ("STORAGE_URL", "http://sutra-storage:50051"))
    assert api.command == ("python", "-m", "app")
    assert api.healthcheck == HealthcheckPlan(
        "--interval=30s --timeout=3s --start-period=10s --start-interval=2s --retries=3",
        ("sutra-healthcheck", "http://localhost:8000/health"),
    )
    assert api.context_allow == ("requirements.txt", "app/")
    assert api.dockerignore_path == "dockerfiles/sutra-api.Dockerfile.dockerignore"
    assert (api.user_name, api.uid, api.gid) == ("sutra", 1000, 1000)


def test_rust_service_runs_its_binary(real: Plan) -> None:
    storage = dockerfiles_of(real)["sutra-storage"]
    assert storage.template == "rust-service"
    assert storage.command == ("sutra-storage",)
    assert storage.volumes == ("/data",)
    assert storage.env == (("DATA_DIR", "/data"), ("PORT", "50051"))
    assert storage.context_allow == ("Cargo.toml", "Cargo.lock", "src/")


def test_base_dockerfile_plans(real: Plan) -> None:
    plans = dockerfiles_of(real)
    builder = plans["sutra-python-builder"]
    assert (builder.from_image, builder.parent, builder.builder) == (
        None,
        "sutra-python-base",
        None,
    )
    runtime = plans["sutra-rust-runtime"]
    assert (runtime.from_image, runtime.parent, runtime.builder) == (
        "debian:bookworm-slim",
        None,
        "sutra-rust-builder",
    )
    assert plans["sutra-python-base"].context_allow == ("requirements.txt", "sutra-healthcheck")
    assert plans["sutra-rust-builder"].context_allow == ()


def test_headers_mark_every_file_as_generated(real: Plan) -> None:
    assert real.bake.path == BAKE_FILE
    assert real.bake.header.startswith(GENERATED_MARKER)
    for df in real.dockerfiles:
        assert df.header.startswith(GENERATED_MARKER)
    assert header("editions/project.yaml", "service x") == (
        "# Generated by sutrabuild from editions/project.yaml (service x). "
        "Do not edit: change the spec, then run `make render`."
    )


def test_names_follow_the_project_name(tmp_path: Path) -> None:
    root = make_minimal_project(
        tmp_path, {"editions/project.yaml": project_with("  name: sutra\n", "  name: acme\n")}
    )
    resolved = commands.load(root)
    assert base_image(resolved.project, "python-base") == "acme-python-base"
    p = plan(resolved)
    assert targets_of(p)["api"].contexts == (
        ("acme-python-base", "target:python-base"),
        ("acme-python-builder", "target:python-builder"),
    )
    assert "dockerfiles/acme-rust-runtime.Dockerfile" in {d.path for d in p.dockerfiles}


def test_service_options_reach_the_plans(tmp_path: Path) -> None:
    edit = (
        "    port: 8000\n"
        "    command: [uvicorn, app.main:app]\n"
        "    args: {BUILD_MODE: fast}\n"
        "    volumes: [/cache, /data]\n"
        "    healthcheck: {path: /ready, retries: 5}\n"
    )
    root = make_minimal_project(
        tmp_path, {"editions/project.yaml": project_with("    port: 8000\n", edit)}
    )
    p = plan(commands.load(root))
    api = dockerfiles_of(p)["api"]
    assert api.command == ("uvicorn", "app.main:app")
    assert api.args == (("BUILD_MODE", "fast"),)
    assert api.volumes == ("/cache", "/data")
    assert api.healthcheck == HealthcheckPlan(
        "--interval=30s --timeout=3s --start-period=10s --start-interval=2s --retries=5",
        ("sutra-healthcheck", "http://localhost:8000/ready"),
    )
    assert targets_of(p)["api"].args == (("BUILD_MODE", "fast"),)
