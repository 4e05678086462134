"""The pipeline (load, validate, resolve, plan, render, write/check, bake, graph) as plain
functions."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from generator import bake as bake_step
from generator import changes as changes_step
from generator import custom, engine, stacks
from generator import graph as graph_step
from generator import release as release_step
from generator import render as render_step
from generator import report as report_step
from generator import verify as verify_step
from generator import write as write_step
from generator.errors import BuildFailed, CheckFailed, SpecError, UsageError
from generator.model import build_project
from generator.plan import bake_plan, plan
from generator.resolve import RESERVED_NAMES, Resolved, linked_bases, resolve
from generator.schema import check_all
from generator.specs import parse_all
from generator.workflows import workflow_plans


def load(root: Path) -> Resolved:
    """Load, validate and resolve every spec under root/editions."""
    # YAML problems of one file and schema problems of the others are reported together;
    # checks across files need every file valid first.
    stacks.use_project(root)
    specs, problems = parse_all(root)
    problems += check_all(specs)
    if problems:
        raise SpecError(problems)
    return resolve(build_project(specs), root)


def validate(root: Path) -> Resolved:
    """load(), plus what only the plans and a render show: that the stacks' build secrets
    name no variable the bake file has already, and that a service's own template keeps the
    guarantees (rendered in memory, nothing written)."""
    resolved = load(root)
    bake_plan(resolved)
    if any(s.template for s in resolved.project.services.values()):
        _render_checked(resolved)
    return resolved


def rendered(root: Path) -> dict[str, str]:
    """Every generated file for the project at root, rendered in memory."""
    return _render_checked(load(root))


def _render_checked(resolved: Resolved) -> dict[str, str]:
    """Every generated file; a SpecError when a service's own template drops a guarantee."""
    planned = plan(resolved)
    files = dict(render_step.render_all(planned, workflow_plans(resolved)))
    paths = {df.name: df.path for df in planned.dockerfiles}
    found = list(custom.problems(resolved.project, files, paths))
    if found:
        raise SpecError(found)
    return files


@dataclass(frozen=True)
class RenderReport:
    """What `render` did."""

    changes: tuple[write_step.Change, ...]
    unchanged: int


def _pending(root: Path) -> tuple[list[write_step.Change], int]:
    """What differs from a fresh render, and the number of outputs.

    README.md counts as one when it has graph markers; only the text between them changes.
    """
    resolved = load(root)
    files = _render_checked(resolved)
    pending = write_step.changes(root, files)
    readme = write_step.read_text(root / graph_step.README)
    fresh = None if readme is None else graph_step.update_readme(readme, resolved)
    if fresh is None:
        return pending, len(files)
    if fresh != readme:
        pending.append(write_step.Change(graph_step.README, readme, fresh))
    return pending, len(files) + 1


def render(root: Path) -> RenderReport:
    """Write the outputs that changed; remove generated files no longer produced."""
    pending, outputs = _pending(root)
    write_step.apply(root, pending)
    return RenderReport(tuple(pending), outputs - sum(c.new is not None for c in pending))


def check(root: Path) -> int:
    """Raise CheckFailed with a diff when the tree differs from a fresh render; else the count."""
    pending, outputs = _pending(root)
    if pending:
        names = ", ".join(c.path for c in pending)
        diff = write_step.unified_diff(pending)
        raise CheckFailed(f"{diff}generated files are out of date: {names}\nrun `make render`")
    return outputs


def _reporter(
    edition: str, report_file: Path | None, show: Callable[[str], None] | None
) -> Callable[[bake_step.BakeRun], None]:
    """What to do with a bake's progress: the build report, shown, written and summarised."""

    def observe(run: bake_step.BakeRun) -> None:
        if not run.events or not run.metadata:
            return  # a human progress mode was asked for, or nothing was built (--print)
        built = report_step.from_progress(run.events, run.metadata)
        built = report_step.with_sizes(built, run.metadata, engine.image_sizes)
        if show is not None:
            show(report_step.markdown(built))
        if report_file is not None:
            report_step.write(built, report_file)
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            report_step.append_summary(built, Path(summary), f"sutrabuild bake {edition}")

    return observe


def bake(
    root: Path,
    edition: str,
    options: bake_step.BakeOptions,
    report_file: Path | None = None,
    show: Callable[[str], None] | None = None,
    only: tuple[str, ...] = (),
) -> RenderReport:
    """Render, then build an edition (or one target) with docker buildx bake; the build
    report goes to `show`, to `report_file` (.json or markdown) and to a GitHub job summary.
    ONLY: bake just these targets of it, in one bake (what `changed` selected).
    """
    resolved = load(root)
    project = resolved.project
    buildable = {*resolved.editions, *RESERVED_NAMES, *project.bases, *project.services}
    if edition not in buildable:
        known = ", ".join(sorted(resolved.editions))
        raise UsageError(f"unknown edition or target {edition!r}; editions: {known}")
    if options.all_platforms:
        options = replace(options, platforms=project.settings.platforms)
    # `--platform a,b` and PLATFORMS=a,b build several platforms too: the prebuild of linked
    # bases must see each of them.
    platforms = options.platforms or tuple(filter(None, [os.environ.get("PLATFORMS", "")]))
    options = replace(options, platforms=tuple(p for v in platforms for p in v.split(",") if p))
    bake_step.require_buildx()
    report = render(root)
    targets = only or (edition,)
    bases = tuple(sorted({b for t in targets for b in linked_bases(resolved, t)}))
    for prebuild in bake_step.prebuild_options(options, bases):
        bake_step.run_bake(root, bases[0], prebuild, *bases[1:])
    observe = _reporter(edition, report_file, show)
    final = bake_step.after_prebuild(options, bases)
    bake_step.run_bake(root, targets[0], final, *targets[1:], observe=observe)
    return report


def changed(root: Path, edition: str, ref: str) -> changes_step.Selection:
    """Render, then what of EDITION changed since the git ref REF, and what is built on it."""
    resolved = load(root)
    render(root)
    return changes_step.select(root, resolved, edition, changes_step.since(root, ref))


def graph(root: Path, edition: str | None = None, fmt: str = "mermaid") -> str:
    """The build graph of an edition, or of every edition, as Mermaid or dot text."""
    return graph_step.draw(load(root), edition, fmt)


def verify(root: Path, edition: str) -> list[verify_step.ImageResult]:
    """Run every image of a built edition; raise CheckFailed listing what failed."""
    return verify_step.verify(load(root), root, edition)


def _edition(resolved: Resolved, edition: str) -> None:
    if edition not in resolved.editions:
        known = ", ".join(sorted(resolved.editions))
        raise UsageError(f"unknown edition {edition!r}; known editions: {known}")


def release(
    root: Path,
    edition: str,
    options: release_step.ReleaseOptions,
    echo: Callable[[str], None] = lambda _: None,
) -> release_step.ReleaseReport:
    """Stage (bake + push every platform to the rc tag, unless --staged), verify what the
    registry holds on every platform, then promote by digest; raise ReleaseFailed otherwise."""
    resolved = load(root)
    _edition(resolved, edition)
    revision = bake_step.bake_environment(root, bake_step.BakeOptions(), os.environ)["REVISION"]
    where = release_step.release_target(resolved.project, options, revision)
    if options.merge:
        _merge(root, resolved, edition, where, echo)
    elif not options.staged:
        _stage(root, resolved, edition, where, options, echo)
    return release_step.verify_and_promote(resolved, edition, where, echo)


def _stage(
    root: Path,
    resolved: Resolved,
    edition: str,
    where: release_step.Target,
    options: release_step.ReleaseOptions,
    echo: Callable[[str], None],
) -> None:
    services = resolved.editions[edition].services
    stage = release_step.stage_options(root, plan(resolved).bake, services, where, options)
    echo(f"release {edition}: staging {where.registry}/*:{where.staging}")
    try:
        bake(root, edition, stage)
    except BuildFailed as exc:
        failure = release_step.Failure("(bake)", release_step.ANY_PLATFORM, str(exc))
        raise release_step.ReleaseFailed(edition, where.staging, [failure]) from None


def _merge(
    root: Path,
    resolved: Resolved,
    edition: str,
    where: release_step.Target,
    echo: Callable[[str], None],
) -> None:
    """The CI merge job: one index per image from the platform jobs' staging tags."""
    platforms = resolved.project.settings.platforms
    echo(f"release {edition}: merging {where.staging}-<platform> for {', '.join(platforms)}")
    services = resolved.editions[edition].services
    failures = release_step.merge_platforms(root, plan(resolved).bake, services, where, platforms)
    if failures:
        raise release_step.ReleaseFailed(edition, where.staging, failures)


def promote(
    root: Path, edition: str, source: str, tag: str, registry: str | None = None
) -> list[release_step.Promotion]:
    """Point `tag` of every image of the edition at what `source` holds, by digest."""
    resolved = load(root)
    _edition(resolved, edition)
    options = release_step.ReleaseOptions(registry=registry, version=source, rc_tag=source)
    where = release_step.release_target(resolved.project, options, "")
    where = replace(where, tags=(release_step.check_tag(tag, "tag"),))
    return release_step.promote(resolved, edition, where, source)
