"""`bake EDITION --changed-since REF`: the targets of an edition that changed since a git ref,
plus every target built on them, each with the reasons it was selected.

A target changed when one of these differs between REF and the working tree:
- a file its build context sends (the `.dockerignore` allowlist of its generated Dockerfile);
- its generated Dockerfile or that Dockerfile's `.dockerignore`;
- a template it is rendered from (its Dockerfile template and what that imports, and the
  templates every target shares), when the templates live in this project;
- its entry in the specs: the base or service, the stack of a service, the project settings,
  or an edition that now ships a service it did not ship at REF.
Then everything built on a selected base (resolve's `linked_bases`) is selected too.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import MappingProxyType

import jinja2
import jinja2.meta

from generator import render as render_step
from generator.dockerfile_plan import DockerfilePlan, dockerfile_plans
from generator.errors import GeneratorError, UsageError
from generator.model import Project, build_project
from generator.paths import base_image, dockerfile_path
from generator.resolve import RESERVED_NAMES, Resolved, linked_bases
from generator.schema import check_schema
from generator.specs import SPEC_DIR, parse_all
from generator.stacks import TEMPLATE_DIR

# Rendered for every target (the bake file) or with every Dockerfile (its .dockerignore).
SHARED_TEMPLATES = ("docker-bake.hcl.j2", "dockerignore.j2")
# What the allowlist excludes again (see DockerfilePlan.dockerignore_lines): bytecode.
_BYTECODE_DIR, _BYTECODE_SUFFIX = "__pycache__", ".pyc"


@dataclass(frozen=True)
class Changes:
    """What differs since REF: changed paths (relative to the project root), old specs."""

    ref: str
    files: tuple[str, ...]
    old: Project | None  # None when the specs at REF cannot be read


@dataclass(frozen=True)
class Selection:
    """The targets of an edition to build, and why each was selected."""

    edition: str
    ref: str
    reasons: Mapping[str, tuple[str, ...]]
    services: tuple[str, ...]  # what bake is given: bases come through their target: contexts


def _git(root: Path, *args: str) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    except OSError as exc:
        raise UsageError(f"--changed-since needs git: {exc}") from None
    if proc.returncode != 0:
        raise UsageError(f"git {' '.join(args)}: {proc.stderr.strip() or 'failed'}")
    return proc.stdout


def changed_files(root: Path, ref: str) -> tuple[str, ...]:
    """Tracked files that differ from REF (committed or not) and new untracked files."""
    _git(root, "rev-parse", "--show-toplevel")  # fails clearly outside a git checkout
    try:
        if ref.startswith("-"):
            raise UsageError(ref)
        _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except UsageError:
        raise UsageError(f"--changed-since {ref!r}: no such commit in this repository") from None
    diff = _git(root, "diff", "--name-only", "--no-renames", "--relative", ref, "--")
    untracked = _git(root, "ls-files", "--others", "--exclude-standard")
    return tuple(sorted(set(diff.splitlines() + untracked.splitlines())))


def old_project(root: Path, ref: str) -> Project | None:
    """The specs as they were at REF, or None when they cannot be read there."""
    names = _git(root, "ls-tree", "--name-only", ref, f"./{SPEC_DIR}/").split()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / SPEC_DIR).mkdir()
        for name in names:
            text = _git(root, "show", f"{ref}:./{name}")
            (Path(tmp) / SPEC_DIR / PurePosixPath(name).name).write_text(text, encoding="utf-8")
        try:
            specs, problems = parse_all(Path(tmp))
            problems += [p for spec in specs for p in check_schema(spec)]
            return None if problems or not specs else build_project(specs)
        except (GeneratorError, KeyError, ValueError):
            return None


def since(root: Path, ref: str) -> Changes:
    """Everything `select` needs to know about REF."""
    return Changes(ref, changed_files(root, ref), old_project(root, ref))


def _sent(df: DockerfilePlan, context: str, path: str) -> bool:
    """Whether the build context of DF sends PATH (relative to the project root)."""
    rel = _relative(path, context)
    if rel is None or _BYTECODE_DIR in rel.split("/") or rel.endswith(_BYTECODE_SUFFIX):
        return False
    return any(
        rel == a.rstrip("/") or rel.startswith(a.rstrip("/") + "/") for a in df.context_allow
    )


def _relative(path: str, directory: str) -> str | None:
    """PATH relative to DIRECTORY, or None when it is not inside it."""
    prefix = directory.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else None


def template_files(root: Path, template: str) -> tuple[str, ...]:
    """A template and every template it imports or includes, as paths under root (none when
    the templates are not part of this project)."""
    env = render_step.environment()
    seen: list[str] = []
    todo = [template, *SHARED_TEMPLATES]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.append(name)
        try:
            source = env.loader.get_source(env, name)[0] if env.loader else ""
        except jinja2.TemplateNotFound:
            continue
        todo += [t for t in jinja2.meta.find_referenced_templates(env.parse(source)) if t]
    top = TEMPLATE_DIR.resolve()
    if root.resolve() not in top.parents:
        return ()
    return tuple(sorted(os.path.relpath(top / n, root.resolve()) for n in seen))


def _file_reasons(root: Path, resolved: Resolved, changes: Changes) -> Iterator[tuple[str, str]]:
    project = resolved.project
    contexts = {b.name: b.context for b in project.bases.values()}
    contexts.update({s.name: s.context for s in project.services.values()})
    by_path = {df.path: df for df in dockerfile_plans(project)}
    for name, df in _plans_by_target(resolved, by_path).items():
        templates = template_files(root, df.template)
        for path in changes.files:
            if path in (df.path, df.dockerignore_path):
                yield name, f"Dockerfile {path}"
            elif path in templates:
                yield name, f"template {path}"
            elif (context := contexts[name]) and _sent(df, context, path):
                yield name, f"context file {path}"


def _plans_by_target(
    resolved: Resolved, by_path: Mapping[str, DockerfilePlan]
) -> dict[str, DockerfilePlan]:
    project = resolved.project
    plans = {b: by_path[dockerfile_path(base_image(project, b))] for b in project.bases}
    plans.update({s: by_path[dockerfile_path(s)] for s in project.services})
    return plans


def _edition_services(project: Project, edition: str) -> set[str]:
    found: set[str] = set()
    seen: set[str] = set()
    name: str | None = edition
    while name is not None and name in project.editions and name not in seen:
        seen.add(name)
        found.update(project.editions[name].services)
        name = project.editions[name].extends
    return found


def _spec_reasons(resolved: Resolved, edition: str, changes: Changes) -> Iterator[tuple[str, str]]:
    project, old = resolved.project, changes.old
    spec = f"{SPEC_DIR}/project.yaml"
    if old is None:
        for name in (*project.bases, *project.services):
            yield name, f"spec at {changes.ref} unreadable"
        return
    if old.settings != project.settings:
        for name in (*project.bases, *project.services):
            yield name, f"project settings in {spec}"
    for name, base in project.bases.items():
        if old.bases.get(name) != base:
            yield name, f"spec entry bases.{name}"
    for name, service in project.services.items():
        if old.services.get(name) != service:
            yield name, f"spec entry services.{name}"
        elif old.stacks.get(service.stack) != project.stacks[service.stack]:
            yield name, f"spec entry stacks.{service.stack}"
        elif name not in _edition_services(old, edition):
            yield name, f"newly in edition {edition}"


def select(root: Path, resolved: Resolved, edition: str, changes: Changes) -> Selection:
    """The edition's targets that changed since REF and those built on them, with reasons."""
    if edition == "default":
        edition = resolved.project.settings.default_edition
    if edition not in resolved.editions or edition in RESERVED_NAMES:
        known = ", ".join(sorted(resolved.editions))
        raise UsageError(f"--changed-since takes an edition, not {edition!r}; editions: {known}")
    ed = resolved.editions[edition]
    members = {*ed.services, *ed.bases}
    reasons: dict[str, list[str]] = {}
    found = [*_file_reasons(root, resolved, changes), *_spec_reasons(resolved, edition, changes)]
    for name, why in found:
        if name in members and why not in reasons.setdefault(name, []):
            reasons[name].append(why)
    for name in sorted(members - set(reasons)):
        under = [b for b in linked_bases(resolved, name) if b in reasons]
        if under:
            reasons[name] = [f"built on {', '.join(under)}"]
    services = tuple(s for s in ed.services if s in reasons)
    frozen = {k: tuple(v) for k, v in sorted(reasons.items())}
    return Selection(edition, changes.ref, MappingProxyType(frozen), services)


def describe(selection: Selection) -> str:
    """What was selected and why, one target a line (the message when nothing was)."""
    if not selection.reasons:
        return (
            f"nothing in edition {selection.edition} changed since {selection.ref}: "
            "nothing to build"
        )
    lines = [
        f"changed since {selection.ref}: {len(selection.reasons)} target(s) of edition "
        f"{selection.edition}; baking {' '.join(selection.services)}"
    ]
    lines += [f"  {t}: {'; '.join(why)}" for t, why in selection.reasons.items()]
    return "\n".join(lines)
