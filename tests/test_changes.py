"""changes.py: what `bake EDITION --changed-since REF` selects, on real git history in a copy
of the project. Expectations are derived from the specs (resolve's linked_bases)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from generator import commands
from generator.changes import Changes, select, since, template_files
from generator.cli import main
from generator.errors import UsageError
from generator.resolve import Resolved, linked_bases
from generator.stacks import load_stacks
from tests.conftest import REPO_ROOT, commit_all, committed_project

EDITION = "enterprise"  # the superset: every base and service


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The project's specs, sources and generated files, committed in a repository of its own."""
    return committed_project(tmp_path / "repo")


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def selected(root: Path, edition: str = EDITION, ref: str = "HEAD~1") -> dict[str, tuple[str, ...]]:
    return dict(select(root, commands.load(root), edition, since(root, ref)).reasons)


def built_on(resolved: Resolved, edition: str, base: str) -> set[str]:
    """The targets of an edition that a change to BASE must rebuild: it and all built on it."""
    ed = resolved.editions[edition]
    return {base} | {t for t in (*ed.bases, *ed.services) if base in linked_bases(resolved, t)}


def test_a_change_to_one_service_selects_that_service_only(repo: Path) -> None:
    resolved = commands.load(repo)
    service = resolved.editions[EDITION].services[0]
    context = repo / resolved.project.services[service].context
    source = next(p for p in sorted(context.rglob("*.py")) if "__pycache__" not in p.parts)
    append(source, "# changed\n")
    commit_all(repo, "service change")
    rel = source.relative_to(repo).as_posix()
    assert selected(repo) == {service: (f"context file {rel}",)}


def test_a_change_to_a_base_selects_it_and_everything_built_on_it(repo: Path) -> None:
    resolved = commands.load(repo)
    base = next(b for b, spec in resolved.project.bases.items() if spec.context)
    context = repo / (resolved.project.bases[base].context or "")
    append(next(p for p in sorted(context.iterdir()) if p.is_file()), "\n")
    commit_all(repo, "base change")
    reasons = selected(repo)
    assert set(reasons) == built_on(resolved, EDITION, base)
    assert reasons[base][0].startswith("context file ")
    for target, why in reasons.items():
        if target != base:
            assert len(why) == 1 and why[0].startswith("built on ") and base in why[0], target


def test_an_unrelated_file_selects_nothing(repo: Path) -> None:
    (repo / "NOTES.md").write_text("not part of any build\n")
    (repo / "packages" / "README.md").write_text("packages/ itself is no build context\n")
    commit_all(repo, "unrelated")
    assert selected(repo) == {}


def test_a_file_outside_the_dockerignore_allowlist_selects_nothing(repo: Path) -> None:
    resolved = commands.load(repo)
    service = resolved.editions[EDITION].services[0]
    context = repo / resolved.project.services[service].context
    (context / "notes.txt").write_text("the Dockerfile copies only what it needs\n")
    (context / "app" / "__pycache__").mkdir(exist_ok=True)
    (context / "app" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    commit_all(repo, "unsent files")
    assert selected(repo) == {}


def test_uncommitted_and_untracked_changes_count(repo: Path) -> None:
    resolved = commands.load(repo)
    service = resolved.editions[EDITION].services[-1]
    context = repo / resolved.project.services[service].context
    new = next(d for d in sorted(context.iterdir()) if d.is_dir()) / "new_module_x"
    new.write_text("new\n")
    assert set(selected(repo, ref="HEAD")) == {service}


def test_a_spec_entry_change_selects_that_target(repo: Path) -> None:
    resolved = commands.load(repo)
    service = resolved.editions[EDITION].services[0]
    spec = repo / "editions" / "project.yaml"
    text = spec.read_text()
    anchor = f"  {service}:\n"
    spec.write_text(text.replace(anchor, anchor + "    args: {EXTRA_FLAG: '1'}\n", 1))
    commit_all(repo, "spec change")
    assert selected(repo) == {service: (f"spec entry services.{service}",)}


def test_a_service_new_in_an_edition_is_selected(repo: Path) -> None:
    """A service moved from an edition down to the one it extends: new there, nothing else."""
    project = commands.load(repo).project
    child = next(e for e in project.editions.values() if e.extends)
    parent, moved = child.extends or "", child.services[0]
    for name, drop, add in ((child.name, [moved], []), (parent, [], [moved])):
        spec = repo / "editions" / f"{name}.yaml"
        data = yaml.safe_load(spec.read_text())
        data["services"] = [s for s in data["services"] if s not in drop] + add
        spec.write_text(yaml.safe_dump(data))
    commit_all(repo, "ship a service one edition earlier")
    assert selected(repo, parent) == {moved: (f"newly in edition {parent}",)}
    assert selected(repo, child.name) == {}


def test_project_settings_select_every_target(repo: Path) -> None:
    spec = repo / "editions" / "project.yaml"
    spec.write_text(spec.read_text().replace("  vendor: ", "  vendor: New ", 1))
    commit_all(repo, "vendor")
    ed = commands.load(repo).editions[EDITION]
    assert set(selected(repo)) == {*ed.bases, *ed.services}


def test_a_template_change_selects_the_targets_rendered_from_it() -> None:
    resolved = commands.load(REPO_ROOT)
    name = load_stacks()["python"].service_template
    path = f"templates/{name}"
    assert path in template_files(REPO_ROOT, name)
    changes = Changes("X", (path,), resolved.project)
    reasons = select(REPO_ROOT, resolved, EDITION, changes).reasons
    services = resolved.project.services
    python = {s for s in resolved.editions[EDITION].services if services[s].stack == "python"}
    assert set(reasons) == python
    assert all(why == (f"template {path}",) for why in reasons.values())


def test_shared_templates_and_imports_belong_to_every_target() -> None:
    files = template_files(REPO_ROOT, load_stacks()["rust"].service_template)
    assert {"templates/docker-bake.hcl.j2", "templates/dockerignore.j2"} <= set(files)
    assert "templates/_macros.j2" in files  # imported by the template


def test_unreadable_specs_at_the_ref_select_every_target(repo: Path) -> None:
    spec = repo / "editions" / "project.yaml"
    good = spec.read_text()
    spec.write_text("project: [\n")
    commit_all(repo, "broken")
    spec.write_text(good)
    commit_all(repo, "fixed")
    ed = commands.load(repo).editions[EDITION]
    assert set(selected(repo)) == {*ed.bases, *ed.services}


def test_an_unknown_ref_is_a_usage_error(repo: Path) -> None:
    with pytest.raises(UsageError, match="no such commit"):
        since(repo, "no-such-branch")


def test_only_editions_take_changed_since(repo: Path) -> None:
    resolved = commands.load(repo)
    service = resolved.editions[EDITION].services[0]
    with pytest.raises(UsageError, match="takes an edition"):
        select(repo, resolved, service, since(repo, "HEAD"))


def test_cli_nothing_changed_exits_0_with_a_message(repo: Path) -> None:
    (repo / "NOTES.md").write_text("unrelated\n")
    commit_all(repo, "unrelated")
    args = ["bake", EDITION, "-C", str(repo), "--changed-since", "HEAD~1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert f"nothing in edition {EDITION} changed since HEAD~1: nothing to build" in result.output
