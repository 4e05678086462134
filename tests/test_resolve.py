"""resolve.py: semantic checks, the edition closure through `extends`, and the bases it needs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from generator.errors import SpecError
from generator.model import build_project
from generator.resolve import SECRET_NAME, Resolved, ResolvedEdition, resolve, service_bases
from generator.schema import validate_all
from generator.specs import load_specs
from tests.conftest import REPO_ROOT, FileContent, make_minimal_project, project_with

ALL_BASES = ("python-base", "python-builder", "rust-builder", "rust-runtime")


def resolved_at(root: Path) -> Resolved:
    specs = load_specs(root)
    validate_all(specs)
    return resolve(build_project(specs), root)


def problems_at(tmp_path: Path, files: Mapping[str, FileContent]) -> list[str]:
    """The semantic problems of the minimal project with these overrides."""
    root = make_minimal_project(tmp_path / "proj", files)
    with pytest.raises(SpecError) as info:
        resolved_at(root)
    return [str(p) for p in info.value.problems]


@pytest.fixture(scope="module")
def real() -> Resolved:
    return resolved_at(REPO_ROOT)


def test_simple_edition_has_four_services(real: Resolved) -> None:
    assert real.editions["simple"] == ResolvedEdition(
        name="simple",
        description="Single-node Sutra - storage, API, hybrid search and embeddings",
        services=("sutra-api", "sutra-embedding-service", "sutra-hybrid", "sutra-storage"),
        bases=ALL_BASES,
    )


def test_community_edition_adds_two_through_extends(real: Resolved) -> None:
    assert real.editions["community"].services == (
        "sutra-api",
        "sutra-bulk-ingester",
        "sutra-control",
        "sutra-embedding-service",
        "sutra-hybrid",
        "sutra-storage",
    )
    assert real.editions["community"].bases == ALL_BASES


def test_enterprise_edition_has_all_eight_through_two_levels(real: Resolved) -> None:
    enterprise = real.editions["enterprise"]
    assert enterprise.services == tuple(sorted(real.project.services))
    assert len(enterprise.services) == 8
    assert enterprise.bases == ALL_BASES


def test_each_edition_is_a_superset_of_what_it_extends(real: Resolved) -> None:
    for edition in real.project.editions.values():
        if edition.extends:
            parent = set(real.editions[edition.extends].services)
            assert parent < set(real.editions[edition.name].services)


def test_service_bases(real: Resolved) -> None:
    assert service_bases(real.project, "sutra-api") == ("python-builder", "python-base")
    assert service_bases(real.project, "sutra-storage") == ("rust-builder", "rust-runtime")


def test_resolved_editions_are_read_only(real: Resolved) -> None:
    with pytest.raises(TypeError):
        real.editions["x"] = real.editions["simple"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("services", "bases"),
    [
        ("[api]", ("python-base", "python-builder")),
        ("[store]", ("rust-builder", "rust-runtime")),
        ("[api, store]", ALL_BASES),
        ("[]", ()),
    ],
)
def test_bases_closure_follows_base_dependencies(
    tmp_path: Path, services: str, bases: tuple[str, ...]
) -> None:
    """python-builder needs python-base and rust-runtime needs rust-builder, transitively."""
    root = make_minimal_project(
        tmp_path,
        {
            "editions/simple.yaml": f"services: {services}\n",
            "editions/all.yaml": "services: [api, store]\n",
        },
    )
    assert resolved_at(root).editions["simple"].bases == bases


def test_three_level_extends_collects_everything(tmp_path: Path) -> None:
    root = make_minimal_project(
        tmp_path,
        {
            "editions/simple.yaml": "services: []\n",
            "editions/middle.yaml": "extends: simple\nservices: [store]\n",
            "editions/top.yaml": "extends: middle\nservices: [api]\n",
        },
    )
    editions = resolved_at(root).editions
    assert editions["simple"].services == ()
    assert editions["middle"].services == ("store",)
    assert editions["top"].services == ("api", "store")
    assert editions["top"].bases == ALL_BASES


def test_base_cycle_is_reported_on_both_bases(tmp_path: Path) -> None:
    edit = "    context: packages/python-base\n    bases: [python-builder]\n"
    files = {"editions/project.yaml": project_with("    context: packages/python-base\n", edit)}
    assert problems_at(tmp_path, files) == [
        "editions/project.yaml:16: $.bases.python-base.bases: template 'python-base' does not "
        "use 'bases'; remove it",
        "editions/project.yaml:16: $.bases.python-base.bases[0]: base cycle through "
        "'python-builder'",
        "editions/project.yaml:19: $.bases.python-builder.bases[0]: base cycle through "
        "'python-base'",
    ]


def test_self_extends_is_a_cycle(tmp_path: Path) -> None:
    files = {"editions/simple.yaml": "extends: simple\nservices: [api, store]\n"}
    assert problems_at(tmp_path, files) == [
        "editions/simple.yaml:1: $.extends: extends cycle: simple -> simple"
    ]


def test_three_edition_cycle_is_reported_on_each(tmp_path: Path) -> None:
    files = {
        "editions/a.yaml": "extends: b\nservices: [api]\n",
        "editions/b.yaml": "extends: c\nservices: [store]\n",
        "editions/c.yaml": "extends: a\nservices: []\n",
    }
    assert problems_at(tmp_path, files) == [
        "editions/a.yaml:1: $.extends: extends cycle: a -> b -> c -> a",
        "editions/b.yaml:1: $.extends: extends cycle: b -> c -> a -> b",
        "editions/c.yaml:1: $.extends: extends cycle: c -> a -> b -> c",
    ]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "editions/project.yaml": project_with("  store:\n", "  simple:\n"),
                "editions/simple.yaml": "services: [api]\n",
            },
            "editions/project.yaml:32: $.services.simple: service name 'simple' clashes with "
            "an edition (bake group) name",
        ),
        (
            {
                "editions/project.yaml": project_with("  store:\n", "  bases:\n"),
                "editions/simple.yaml": "services: [api]\n",
            },
            "editions/project.yaml:32: $.services.bases: service name 'bases' clashes with "
            "an edition (bake group) name",
        ),
        (
            {
                "editions/project.yaml": project_with("  store:\n", "  python-base:\n"),
                "editions/simple.yaml": "services: [api]\n",
            },
            "editions/project.yaml:32: $.services.python-base: service name 'python-base' "
            "clashes with a base",
        ),
        (
            {"editions/rust-builder.yaml": "services: [api]\n"},
            "editions/project.yaml:19: $.bases.rust-builder: base name 'rust-builder' clashes "
            "with an edition name",
        ),
        (
            {"editions/My_Edition.yaml": "services: [api]\n"},
            "editions/My_Edition.yaml:1: $: edition name 'My_Edition' (from the file name) is "
            "reserved or invalid",
        ),
    ],
    ids=[
        "service-vs-edition",
        "service-vs-bases-group",
        "service-vs-base",
        "base-vs-edition",
        "edition-file-name",
    ],
)
def test_name_clashes(tmp_path: Path, files: Mapping[str, FileContent], expected: str) -> None:
    assert problems_at(tmp_path, files) == [expected]


@pytest.mark.parametrize(
    "name",
    [
        "API_TOKEN",
        "DB_PASSWORD",
        "AWS_SECRET_ACCESS_KEY",
        "SIGNING_KEY",
        "KEY",
        "db_passwd",
        "GCP_CREDENTIALS",
        "client_secret",
    ],
)
def test_secret_like_names(name: str) -> None:
    assert SECRET_NAME.search(name)


@pytest.mark.parametrize(
    "name", ["PORT", "DATA_DIR", "KEYBOARD", "MONKEY", "KEYS_DIR", "LOG_LEVEL"]
)
def test_ordinary_names(name: str) -> None:
    assert not SECRET_NAME.search(name)


def test_contexts_are_checked_against_the_root_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_minimal_project(tmp_path / "proj")
    monkeypatch.chdir(tmp_path)
    assert resolved_at(Path("proj")).editions["simple"].services == ("api", "store")


def test_context_inside_root_through_a_symlink_is_fine(tmp_path: Path) -> None:
    root = make_minimal_project(
        tmp_path, {"editions/project.yaml": project_with("context: packages/api", "context: api")}
    )
    (root / "api").symlink_to(root / "packages/api", target_is_directory=True)
    assert resolved_at(root).project.services["api"].context == "api"
