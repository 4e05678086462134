"""model.py: schema-valid specs become frozen, typed, ordered data."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

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
from tests.conftest import REPO_ROOT, make_minimal_project, project_with


def project_from(root: Path) -> Project:
    """Load and schema-check the specs under root, then build the model."""
    specs = load_specs(root)
    validate_all(specs)
    return build_project(specs)


@pytest.fixture(scope="module")
def real() -> Project:
    return project_from(REPO_ROOT)


def test_real_settings(real: Project) -> None:
    assert real.settings == Settings(
        name="sutra",
        registry="ghcr.io/sutra-ai",
        version="0.1.0",
        source="https://github.com/sutra-ai/sutra",
        default_edition="simple",
        platforms=("linux/amd64", "linux/arm64"),
        vendor="Sutra AI",
        user=User("sutra", 1000, 1000),
        healthcheck=HealthCheck("/health", "30s", "3s", "10s", "2s", 3),
    )


def test_real_bases(real: Project) -> None:
    assert list(real.bases) == ["python-base", "python-builder", "rust-builder", "rust-runtime"]
    assert real.bases["rust-runtime"] == Base(
        name="rust-runtime",
        template="rust-runtime",
        description="Minimal Debian runtime for the Rust services, with the health probe",
        from_image="debian:bookworm-slim",
        bases=("rust-builder",),
        context="packages/sutra-healthcheck",
        packages=("ca-certificates",),
    )
    assert real.bases["python-builder"].packages == ("g++", "gcc", "libc6-dev")
    assert real.bases["python-builder"].from_image is None


def test_real_services_are_sorted_and_typed(real: Project) -> None:
    assert list(real.services) == sorted(real.services)
    assert len(real.services) == 8
    storage = real.services["sutra-storage"]
    assert storage == Service(
        name="sutra-storage",
        stack="rust",
        context="packages/sutra-storage",
        port=50051,
        healthcheck=real.settings.healthcheck,
        description="Key/value storage engine with an append-only log",
        env=(("DATA_DIR", "/data"),),
        volumes=("/data",),
        size_budget_mb=120,
    )


def test_service_healthcheck_overrides_merge_with_the_project_defaults(real: Project) -> None:
    assert real.services["sutra-embedding-service"].healthcheck == dataclasses.replace(
        real.settings.healthcheck, start_period="20s"
    )


def test_real_editions(real: Project) -> None:
    assert real.editions == {
        "community": Edition(
            "community",
            "editions/community.yaml",
            ("sutra-control", "sutra-bulk-ingester"),
            "Simple plus the control center and bulk ingestion",
            "simple",
        ),
        "enterprise": Edition(
            "enterprise",
            "editions/enterprise.yaml",
            ("sutra-grid-master", "sutra-grid-agent"),
            "Community plus the distributed grid (master and agents)",
            "community",
        ),
        "simple": Edition(
            "simple",
            "editions/simple.yaml",
            ("sutra-storage", "sutra-api", "sutra-hybrid", "sutra-embedding-service"),
            "Single-node Sutra - storage, API, hybrid search and embeddings",
            None,
        ),
    }


def test_project_file_is_the_first_source(real: Project) -> None:
    assert real.project_file.path == "editions/project.yaml"
    assert list(real.sources) == [
        "editions/project.yaml",
        "editions/community.yaml",
        "editions/enterprise.yaml",
        "editions/simple.yaml",
    ]


def test_model_is_frozen(real: Project) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        real.services["sutra-api"].port = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        real.settings.version = "2"  # type: ignore[misc]
    with pytest.raises(TypeError):
        real.services["evil"] = real.services["sutra-api"]  # type: ignore[index]
    with pytest.raises(TypeError):
        real.bases["evil"] = real.bases["python-base"]  # type: ignore[index]


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
