"""model.py: schema-valid specs become frozen, typed, ordered data."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from generator.model import (
    Base,
    Edition,
    HealthCheck,
    Project,
    Service,
    Settings,
    User,
    build_project,
    edition_name,
)
from generator.schema import validate_all
from generator.specs import load_specs, parse_yaml
from tests.conftest import (
    MINIMAL_PROJECT,
    REPO_ROOT,
    make_minimal_project,
    project_with,
    replace_once,
)


def project_from(root: Path) -> Project:
    """Load and schema-check the specs under root, then build the model."""
    specs = load_specs(root)
    validate_all(specs)
    return build_project(specs)


# The minimal project with every optional key set, for exact-value tests.
DETAILED_PROJECT = MINIMAL_PROJECT
for _old, _new in (
    (
        "  platforms: [linux/amd64]\n",
        "  platforms: [linux/amd64, linux/arm64]\n"
        "  vendor: Sutra AI\n"
        "  user: {name: app, uid: 1001, gid: 1002}\n"
        "  healthcheck: {path: /healthz, interval: 20s, timeout: 2s, start_period: 5s, "
        "start_interval: 1s, retries: 4}\n",
    ),
    (
        "    bases: [rust-builder]\n",
        "    description: Minimal runtime\n    bases: [rust-builder]\n"
        "    packages: [ca-certificates]\n",
    ),
    (
        "    port: 9000\n",
        "    description: Key/value store\n"
        "    port: 9000\n"
        "    env: {DATA_DIR: /data}\n"
        "    volumes: [/data]\n"
        "    size_budget_mb: 120\n"
        "    healthcheck: {start_period: 20s}\n",
    ),
):
    DETAILED_PROJECT = replace_once(DETAILED_PROJECT, _old, _new)
DETAILED_EDITIONS = {
    "editions/project.yaml": DETAILED_PROJECT,
    "editions/simple.yaml": "description: Just the API\nservices: [api]\n",
    "editions/full.yaml": "extends: simple\nservices: [store]\n",
}


@pytest.fixture(scope="module")
def detailed(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = make_minimal_project(tmp_path_factory.mktemp("model") / "proj", DETAILED_EDITIONS)
    return project_from(root)


@pytest.fixture(scope="module")
def real() -> Project:
    return project_from(REPO_ROOT)


def test_settings(detailed: Project) -> None:
    assert detailed.settings == Settings(
        name="sutra",
        registry="ghcr.io/sutra-ai",
        version="0.1.0",
        source="https://github.com/sutra-ai/sutra",
        default_edition="simple",
        platforms=("linux/amd64", "linux/arm64"),
        vendor="Sutra AI",
        user=User("app", 1001, 1002),
        healthcheck=HealthCheck("/healthz", "20s", "2s", "5s", "1s", 4),
    )


def test_bases(detailed: Project) -> None:
    assert list(detailed.bases) == ["python-base", "python-builder", "rust-builder", "rust-runtime"]
    assert detailed.bases["rust-runtime"] == Base(
        name="rust-runtime",
        template="rust-runtime",
        description="Minimal runtime",
        from_image="debian:bookworm-slim",
        bases=("rust-builder",),
        context="packages/healthcheck",
        packages=("ca-certificates",),
    )
    assert detailed.bases["python-builder"].packages == ()
    assert detailed.bases["python-builder"].from_image is None


def test_services_are_sorted_and_typed(detailed: Project) -> None:
    assert list(detailed.services) == ["api", "store"]
    assert detailed.services["store"] == Service(
        name="store",
        stack="rust",
        context="packages/store",
        port=9000,
        healthcheck=HealthCheck("/healthz", "20s", "2s", "20s", "1s", 4),
        description="Key/value store",
        env=(("DATA_DIR", "/data"),),
        volumes=("/data",),
        size_budget_mb=120,
    )


def test_service_healthcheck_overrides_merge_with_the_project_defaults(
    detailed: Project,
) -> None:
    assert detailed.services["api"].healthcheck == detailed.settings.healthcheck
    assert detailed.services["store"].healthcheck == dataclasses.replace(
        detailed.settings.healthcheck, start_period="20s"
    )


def test_editions(detailed: Project) -> None:
    assert detailed.editions == {
        "full": Edition("full", "editions/full.yaml", ("store",), "", "simple"),
        "simple": Edition("simple", "editions/simple.yaml", ("api",), "Just the API", None),
    }


def test_project_file_is_the_first_source(detailed: Project) -> None:
    assert detailed.project_file.path == "editions/project.yaml"
    assert list(detailed.sources) == [
        "editions/project.yaml",
        "editions/full.yaml",
        "editions/simple.yaml",
    ]


def test_model_is_frozen(detailed: Project) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        detailed.services["api"].port = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        detailed.settings.version = "2"  # type: ignore[misc]
    with pytest.raises(TypeError):
        detailed.services["evil"] = detailed.services["api"]  # type: ignore[index]
    with pytest.raises(TypeError):
        detailed.bases["evil"] = detailed.bases["python-base"]  # type: ignore[index]


def test_real_model_matches_its_yaml(real: Project) -> None:
    """Derived from the real specs, so adding a service or an edition keeps this green."""
    raw = yaml.safe_load((REPO_ROOT / "editions/project.yaml").read_text())
    assert list(real.services) == sorted(raw["services"])
    assert list(real.bases) == sorted(raw["bases"])
    assert real.settings.name == raw["project"]["name"]
    assert real.settings.platforms == tuple(raw["project"]["platforms"])
    for name, spec in raw["services"].items():
        service = real.services[name]
        assert (service.stack, service.context, service.port) == (
            spec["stack"],
            spec["context"],
            spec["port"],
        ), name
        assert service.size_budget_mb == spec.get("size_budget_mb"), name
        assert service.healthcheck == dataclasses.replace(
            real.settings.healthcheck, **spec.get("healthcheck", {})
        ), name
    edition_files = sorted((REPO_ROOT / "editions").glob("*.yaml"))
    edition_files = [f for f in edition_files if f.name != "project.yaml"]
    assert list(real.sources) == [
        "editions/project.yaml",
        *(f"editions/{f.name}" for f in edition_files),
    ]
    for file in edition_files:
        edition = real.editions[file.stem]
        spec = yaml.safe_load(file.read_text())
        assert edition.services == tuple(spec["services"]), file.name
        assert edition.extends == spec.get("extends"), file.name


def test_defaults_when_optional_keys_are_absent(tmp_path: Path) -> None:
    project = project_from(make_minimal_project(tmp_path))
    assert project.settings.vendor == ""
    assert project.settings.user == User("sutra", 1000, 1000)
    assert project.settings.healthcheck == HealthCheck()
    api = project.services["api"]
    assert (api.description, api.command, api.env, api.args, api.volumes) == ("", (), (), (), ())
    assert api.size_budget_mb is None
    assert project.editions["simple"].extends is None


def test_env_and_args_become_sorted_text_pairs(tmp_path: Path) -> None:
    edit = (
        "    port: 8000\n"
        "    env: {ZED: last, DEBUG: false, WORKERS: 4, ENABLED: true}\n"
        "    args: {B: '2', A: 1}\n"
        "    command: [python, -m, app, --workers, '4']\n"
    )
    root = make_minimal_project(
        tmp_path, {"editions/project.yaml": project_with("    port: 8000\n", edit)}
    )
    api = project_from(root).services["api"]
    assert api.env == (("DEBUG", "false"), ("ENABLED", "true"), ("WORKERS", "4"), ("ZED", "last"))
    assert api.args == (("A", "1"), ("B", "2"))
    assert api.command == ("python", "-m", "app", "--workers", "4")


def test_base_packages_are_sorted_but_base_order_is_kept(tmp_path: Path) -> None:
    edit = "    bases: [python-base]\n    packages: [zlib1g-dev, gcc, make]\n"
    root = make_minimal_project(
        tmp_path,
        {"editions/project.yaml": project_with("    bases: [python-base]\n", edit)},
    )
    assert project_from(root).bases["python-builder"].packages == ("gcc", "make", "zlib1g-dev")


def test_edition_name_comes_from_the_file_name() -> None:
    spec = parse_yaml("services: [a]\n", "editions/my-edition.yaml")
    assert edition_name(spec) == "my-edition"
