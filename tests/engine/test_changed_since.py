"""`sutrabuild bake EDITION --changed-since REF` on real git history and the real engine.

The project tree is copied into a repository of its own, committed, changed and committed
again; what bake is handed (`--print`) and what it builds are derived from the specs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator import commands
from generator.resolve import Resolved, linked_bases
from tests.conftest import commit_all, committed_project
from tests.engine.conftest import LOCAL_REGISTRY
from tests.engine.helpers import SUTRABUILD, bake, image_id, run, vertices

pytestmark = pytest.mark.usefixtures("buildx")

EDITION = "simple"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The project (specs, sources, generated files) committed in a repository of its own."""
    return committed_project(tmp_path / "repo")


def printed(root: Path) -> tuple[set[str], set[str], str]:
    """`bake EDITION --changed-since HEAD~1 --print`: the targets asked for, every target bake
    resolved (bases included), and the selection message."""
    proc = run(*SUTRABUILD, "bake", EDITION, "--changed-since", "HEAD~1", "--print", cwd=root)
    if not proc.stdout.strip():
        return set(), set(), proc.stderr
    out = json.loads(proc.stdout)
    return set(out["group"]["default"]["targets"]), set(out["target"]), proc.stderr


COMMENT = {".py": "# changed\n", ".rs": "// changed\n"}


def change_source(root: Path, resolved: Resolved, service: str) -> Path:
    """Append a comment to a source file of the service (Python or Rust); its path."""
    context = root / resolved.project.services[service].context
    files = sorted(context.rglob("*"))
    source = next(p for p in files if p.suffix in COMMENT and "__pycache__" not in p.parts)
    source.write_text(source.read_text() + COMMENT[source.suffix])
    return source


def test_a_service_change_bakes_that_service_only(repo: Path) -> None:
    resolved = commands.load(repo)
    service = resolved.editions[EDITION].services[-1]
    source = change_source(repo, resolved, service)
    commit_all(repo, "service change")
    asked, resolved_targets, message = printed(repo)
    assert asked == {service}
    assert resolved_targets == {service, *linked_bases(resolved, service)}
    assert f"{service}: context file {source.relative_to(repo).as_posix()}" in message


def test_a_base_change_bakes_every_service_built_on_it(repo: Path) -> None:
    resolved = commands.load(repo)
    project = resolved.project
    base = next(b for b in resolved.editions[EDITION].bases if project.bases[b].context)
    context = repo / (project.bases[base].context or "")
    changed = next(p for p in sorted(context.iterdir()) if p.is_file())
    changed.write_text(changed.read_text() + "\n")
    commit_all(repo, "base change")
    asked, _, message = printed(repo)
    on_base = {s for s in resolved.editions[EDITION].services if base in linked_bases(resolved, s)}
    assert asked == on_base and on_base
    assert f"{base}: context file {changed.relative_to(repo).as_posix()}" in message


def test_an_unrelated_change_bakes_nothing_and_exits_0(repo: Path) -> None:
    (repo / "CHANGELOG.md").write_text("nothing any image is built from\n")
    commit_all(repo, "unrelated")
    asked, resolved_targets, message = printed(repo)
    assert asked == resolved_targets == set()
    assert f"nothing in edition {EDITION} changed since HEAD~1: nothing to build" in message


@pytest.mark.usefixtures("engine")
def test_a_real_bake_of_the_selection_builds_the_changed_service_alone(
    repo: Path, unique_version: str
) -> None:
    """One bake: the changed service gets its image; the edition's other services are not
    built (no step of theirs runs, no tag of theirs appears)."""
    resolved = commands.load(repo)
    services = resolved.editions[EDITION].services
    service = services[0]
    change_source(repo, resolved, service)
    commit_all(repo, "service change")
    registry = f"{LOCAL_REGISTRY}/changed-since-e2e"
    env = {"REGISTRY": registry, "VERSION": unique_version}
    proc, events = bake(EDITION, "--changed-since", "HEAD~1", cwd=repo, env=env)
    assert f"baking {service}\n" in proc.stderr
    names = [v["name"] for v in vertices(events).values()]
    for other in services:
        built = image_id(f"{registry}/{other}:{unique_version}") is not None
        assert built == (other == service), other
        assert any(n.startswith(f"[{other} ") for n in names) == (other == service), other
