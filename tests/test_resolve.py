"""resolve.py: semantic checks, the edition closure through `extends`, and the bases it needs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from generator.errors import SpecError
from generator.model import build_project
from generator.resolve import (
    SECRET_NAME,
    Resolved,
    ResolvedEdition,
    linked_bases,
    resolve,
    service_bases,
)
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


# The eight images the acceptance criteria are about. Services added later are not counted,
# so adding one to an edition needs only a snapshot update, not an edit here.
ACCEPTANCE_IMAGES = frozenset(
    {
        "sutra-api",
        "sutra-bulk-ingester",
        "sutra-control",
        "sutra-embedding-service",
        "sutra-grid-agent",
        "sutra-grid-master",
        "sutra-hybrid",
        "sutra-storage",
    }
)


def test_acceptance_figures(real: Resolved) -> None:
    """simple ships 4 services, community 6, enterprise 8: the one test pinning these figures."""
    shipped = {
        name: len(ACCEPTANCE_IMAGES & set(real.editions[name].services))
        for name in ("simple", "community", "enterprise")
    }
    assert shipped == {"simple": 4, "community": 6, "enterprise": 8}


def test_each_real_edition_is_its_services_plus_what_it_extends(real: Resolved) -> None:
    for edition in real.project.editions.values():
        inherited = real.editions[edition.extends].services if edition.extends else ()
        expected = tuple(sorted({*edition.services, *inherited}))
        assert real.editions[edition.name].services == expected, edition.name


def test_each_real_edition_needs_the_closure_of_its_services_bases(real: Resolved) -> None:
    project = real.project
    for name, edition in real.editions.items():
        needed = {b for s in edition.services for b in service_bases(project, s)}
        while extra := {d for b in needed for d in project.bases[b].bases} - needed:
            needed |= extra
        assert edition.bases == tuple(sorted(needed)), name


def test_each_edition_is_a_superset_of_what_it_extends(real: Resolved) -> None:
    for edition in real.project.editions.values():
        if edition.extends:
            parent = set(real.editions[edition.extends].services)
            assert parent < set(real.editions[edition.name].services)


def test_real_service_bases_are_their_stacks_builder_and_their_runtime(real: Resolved) -> None:
    project = real.project
    for service in project.services.values():
        stack = project.stacks[service.stack]
        runtime = service.base or stack.runtime
        assert service_bases(project, service.name) == (stack.builder, runtime)


def test_a_custom_base_replaces_the_stacks_runtime_base(tmp_path: Path) -> None:
    spec = project_with(
        "  rust-builder:\n",
        "  python-ml:\n    template: python-extension\n    bases: [python-base]\n"
        "    context: packages/python-ml\n  rust-builder:\n",
    )
    spec = spec.replace("    port: 8000\n", "    port: 8000\n    base: python-ml\n", 1)
    root = make_minimal_project(
        tmp_path,
        {"editions/project.yaml": spec, "packages/python-ml/requirements.txt": "numpy==2.2.6\n"},
    )
    resolved = resolved_at(root)
    assert service_bases(resolved.project, "api") == ("python-builder", "python-ml")
    # The edition builds the custom base and, through it, the base it is built on.
    assert {"python-ml", "python-base"} <= set(resolved.editions["simple"].bases)


def test_service_bases(tmp_path: Path) -> None:
    project = resolved_at(make_minimal_project(tmp_path)).project
    assert service_bases(project, "api") == ("python-builder", "python-base")
    assert service_bases(project, "store") == ("rust-builder", "rust-runtime")


def test_resolved_edition(tmp_path: Path) -> None:
    root = make_minimal_project(
        tmp_path, {"editions/simple.yaml": "description: Both\nservices: [store, api]\n"}
    )
    assert resolved_at(root).editions["simple"] == ResolvedEdition(
        name="simple", description="Both", services=("api", "store"), bases=ALL_BASES
    )


def test_resolved_editions_are_read_only(real: Resolved) -> None:
    default = real.project.settings.default_edition
    with pytest.raises(TypeError):
        real.editions["x"] = real.editions[default]  # type: ignore[index]


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


# --- linked_bases -----------------------------------------------------------------------------


def test_linked_bases_of_an_edition_are_those_of_its_services(real: Resolved) -> None:
    """Derived per service, independently of how the edition's own base list is built."""
    for name, edition in real.editions.items():
        union = {b for service in edition.services for b in linked_bases(real, service)}
        assert set(linked_bases(real, name)) == union, name
        assert list(linked_bases(real, name)) == sorted(union), "stable order"


def test_linked_bases_of_default_are_those_of_the_default_edition(real: Resolved) -> None:
    default = real.project.settings.default_edition
    assert linked_bases(real, "default") == linked_bases(real, default)


def test_linked_bases_of_a_service_close_over_its_stack_bases(real: Resolved) -> None:
    project = real.project
    for name in project.services:
        direct = set(service_bases(project, name))
        closure = set(linked_bases(real, name))
        assert direct <= closure
        for base in closure:
            assert set(project.bases[base].bases) <= closure


def test_linked_bases_of_a_base_are_what_it_is_built_on(real: Resolved) -> None:
    for name, base in real.project.bases.items():
        assert set(base.bases) <= set(linked_bases(real, name))
        assert name not in linked_bases(real, name)


def test_linked_bases_of_the_bases_group_are_the_bases_others_build_on(real: Resolved) -> None:
    used = {d for base in real.project.bases.values() for d in base.bases}
    assert set(linked_bases(real, "bases")) == used
