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
    Group,
    HealthcheckPlan,
    Plan,
    Target,
    base_image,
    dockerfile_path,
    header,
    plan,
)
from generator.resolve import Resolved
from tests.conftest import (
    MINIMAL_PROJECT,
    REPO_ROOT,
    make_minimal_project,
    project_with,
    replace_once,
)

# The minimal project with the optional keys the exact-value tests look at.
EDITS = (
    ("  version: 0.1.0\n", "  version: 0.1.0\n  vendor: Sutra AI\n"),
    (
        "    bases: [python-base]\n",
        "    description: Compilers for native extensions\n"
        "    bases: [python-base]\n"
        "    packages: [libc6-dev, gcc]\n",
    ),
    (
        "    port: 8000\n",
        "    description: Public REST API\n"
        "    port: 8000\n"
        '    env: {STORAGE_URL: "http://store:9000"}\n',
    ),
    ("    port: 9000\n", "    port: 9000\n    env: {DATA_DIR: /data}\n    volumes: [/data]\n"),
)
DETAILED_PROJECT = MINIMAL_PROJECT
for _old, _new in EDITS:
    DETAILED_PROJECT = replace_once(DETAILED_PROJECT, _old, _new)
EDITIONS = {
    "editions/project.yaml": DETAILED_PROJECT,
    "editions/simple.yaml": "description: Just the API\nservices: [api]\n",
    "editions/full.yaml": "extends: simple\nservices: [store]\n",
}


@pytest.fixture(scope="module")
def real_specs() -> Resolved:
    return commands.load(REPO_ROOT)


@pytest.fixture(scope="module")
def real(real_specs: Resolved) -> Plan:
    """The real specs: only invariants and values derived from the specs are asserted on it."""
    return plan(real_specs)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    """The minimal project with details: exact values are asserted on it."""
    root = make_minimal_project(tmp_path_factory.mktemp("plan") / "proj", EDITIONS)
    return plan(commands.load(root))


def targets_of(p: Plan) -> dict[str, Target]:
    return {t.name: t for t in p.bake.targets}


def dockerfiles_of(p: Plan) -> dict[str, DockerfilePlan]:
    return {d.name: d for d in p.dockerfiles}


# --- invariants of the real specs -------------------------------------------------------------


def test_real_specs_have_one_target_per_base_and_service_sorted(
    real: Plan, real_specs: Resolved
) -> None:
    project = real_specs.project
    assert [t.name for t in real.bake.targets] == sorted([*project.bases, *project.services])


def test_named_contexts_are_target_refs_to_existing_targets(real: Plan) -> None:
    targets = targets_of(real)
    for target in real.bake.targets:
        for name, source in target.contexts:
            assert source.startswith("target:"), (target.name, source)
            ref = source.removeprefix("target:")
            assert ref in targets, (target.name, ref)
            assert name == targets[ref].image


def test_real_services_bind_their_stacks_builder_and_their_runtime(
    real: Plan, real_specs: Resolved
) -> None:
    project = real_specs.project
    targets = targets_of(real)
    for service in project.services.values():
        stack = project.stacks[service.stack]
        assert targets[service.name].contexts == tuple(
            sorted(
                (base_image(project, base), f"target:{base}")
                for base in (stack.builder, service.base or stack.runtime)
            )
        ), service.name


def test_dockerfile_paths_are_relative_to_the_context(real: Plan) -> None:
    for target in real.bake.targets:
        assert not posixpath.isabs(target.dockerfile)
        joined = posixpath.normpath(posixpath.join(target.context, target.dockerfile))
        assert joined == f"{DOCKERFILE_DIR}/{target.image}.Dockerfile", target.name


def test_every_plan_has_a_target_and_vice_versa(real: Plan) -> None:
    images = {t.image for t in real.bake.targets}
    assert {d.name for d in real.dockerfiles} == images
    assert [d.path for d in real.dockerfiles] == sorted(dockerfile_path(i) for i in images)


def test_from_images_are_exactly_the_bound_named_contexts(real: Plan) -> None:
    """Every sutra-* image a Dockerfile starts FROM is a named context of its target."""
    dockerfiles = dockerfiles_of(real)
    for target in real.bake.targets:
        df = dockerfiles[target.image]
        assert df.named_contexts == {name for name, _ in target.contexts}, target.name


def test_real_groups_are_the_resolved_editions(real: Plan, real_specs: Resolved) -> None:
    resolved = real_specs
    groups = {g.name: g.targets for g in real.bake.groups}
    assert [g.name for g in real.bake.groups] == ["default", "bases", *sorted(resolved.editions)]
    assert groups["default"] == (resolved.project.settings.default_edition,)
    assert groups["bases"] == tuple(resolved.project.bases)
    for name, edition in resolved.editions.items():
        assert groups[name] == edition.services, name


def test_headers_mark_every_file_as_generated(real: Plan) -> None:
    assert real.bake.path == BAKE_FILE
    assert real.bake.header.startswith(GENERATED_MARKER)
    for df in real.dockerfiles:
        assert df.header.startswith(GENERATED_MARKER)
    assert header("editions/project.yaml", "service x") == (
        "# Generated by sutrabuild from editions/project.yaml (service x). "
        "Do not edit: change the spec, then run `make render`."
    )


# --- exact values, on the minimal project -----------------------------------------------------


def test_one_target_per_base_and_service_sorted(small: Plan) -> None:
    assert [t.name for t in small.bake.targets] == [
        "api",
        "python-base",
        "python-builder",
        "rust-builder",
        "rust-runtime",
        "store",
    ]


def test_service_contexts_bind_both_bases(small: Plan) -> None:
    targets = targets_of(small)
    assert targets["api"].contexts == (
        ("sutra-python-base", "target:python-base"),
        ("sutra-python-builder", "target:python-builder"),
    )
    assert targets["store"].contexts == (
        ("sutra-rust-builder", "target:rust-builder"),
        ("sutra-rust-runtime", "target:rust-runtime"),
    )
    assert targets["python-base"].contexts == ()
    assert targets["rust-runtime"].contexts == (("sutra-rust-builder", "target:rust-builder"),)


def test_context_and_dockerfile_of_each_kind(small: Plan) -> None:
    targets = targets_of(small)
    api = targets["api"]
    assert (api.context, api.dockerfile) == ("packages/api", "../../dockerfiles/api.Dockerfile")
    builder = targets["rust-builder"]
    assert (builder.context, builder.dockerfile) == ("dockerfiles", "sutra-rust-builder.Dockerfile")


def test_groups(small: Plan) -> None:
    assert small.bake.groups == (
        Group("default", ("simple",), "Plain `docker buildx bake`."),
        Group(
            "bases",
            ("python-base", "python-builder", "rust-builder", "rust-runtime"),
            "Every base, tagged (editions build them untagged).",
        ),
        Group("full", ("api", "store")),
        Group("simple", ("api",), "Just the API"),
    )


def test_variables_default_to_the_project_settings(small: Plan) -> None:
    assert {v.name: v.default for v in small.bake.variables} == {
        "REGISTRY": "ghcr.io/sutra-ai",
        "VERSION": "0.1.0",
        "TAG": "",
        "PLATFORMS": "",
        "REVISION": "",
        "SOURCE_DATE_EPOCH": "0",
        "CREATED": "",
        "CA_BUNDLE": "",
        "PIP_INDEX_URL": "",
        "CACHE_BACKEND": "",
        "CACHE_REGISTRY": "",
        "BASE_MIRROR": "",
        "CACHE_DIR": ".cache/buildx",
        "CACHE_SCOPE": "",
    }


def test_labels(small: Plan) -> None:
    assert small.bake.common_labels == (
        ("org.opencontainers.image.source", "https://github.com/sutra-ai/sutra"),
        ("org.opencontainers.image.vendor", "Sutra AI"),
    )
    targets = targets_of(small)
    assert targets["api"].labels == (
        ("org.opencontainers.image.title", "api"),
        ("org.opencontainers.image.description", "Public REST API"),
    )
    assert targets["store"].labels == (("org.opencontainers.image.title", "store"),)


def test_no_vendor_label_without_a_vendor(tmp_path: Path) -> None:
    p = plan(commands.load(make_minimal_project(tmp_path)))
    assert p.bake.common_labels == (
        ("org.opencontainers.image.source", "https://github.com/sutra-ai/sutra"),
    )


def test_service_dockerfile_plan(small: Plan) -> None:
    api = dockerfiles_of(small)["api"]
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


def test_rust_service_runs_its_binary(small: Plan) -> None:
    store = dockerfiles_of(small)["store"]
    assert store.template == "stacks/rust/service.Dockerfile.j2"
    assert store.command == ("store",)
    assert store.volumes == ("/data",)
    assert store.env == (("DATA_DIR", "/data"), ("PORT", "9000"))
    assert store.context_allow == ("Cargo.toml", "Cargo.lock", "src/")


def test_base_dockerfile_plans(small: Plan) -> None:
    plans = dockerfiles_of(small)
    builder = plans["sutra-python-builder"]
    assert (builder.from_image, builder.from_base, builder.build_stage_base) == (
        None,
        "sutra-python-base",
        None,
    )
    assert builder.packages == ("gcc", "libc6-dev")
    runtime = plans["sutra-rust-runtime"]
    assert (runtime.from_image, runtime.from_base, runtime.build_stage_base) == (
        "debian:bookworm-slim",
        None,
        "sutra-rust-builder",
    )
    assert plans["sutra-python-base"].context_allow == ("requirements.txt", "sutra-healthcheck")
    assert plans["sutra-rust-builder"].context_allow == ()


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
