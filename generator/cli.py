"""The `sutrabuild` command: thin click wrappers; the only place that exits."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from generator import cache, commands
from generator import changes as changes_step
from generator import graph as graph_step
from generator import verify as verify_step
from generator.bake import BakeOptions
from generator.errors import CheckFailed, GeneratorError
from generator.release import ReleaseOptions

ROOT = click.option(
    "-C",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Project root (holds editions/, dockerfiles/, docker-bake.hcl).",
)


P = ParamSpec("P")
R = TypeVar("R")


def _reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn library errors into their message on stderr and their exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except GeneratorError as exc:
            click.echo(str(exc), err=True)
            sys.exit(exc.exit_code)

    return wrapper


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sutrabuild")
def main() -> None:
    """Render edition specs into docker-bake.hcl + Dockerfiles and build them with buildx."""


@main.command()
@ROOT
@_reports_errors
def validate(root: Path) -> None:
    """Validate every spec; print all problems as FILE:LINE: PATH: message."""
    resolved = commands.validate(root)
    project = resolved.project
    counts = (
        _count(len(project.sources), "spec file"),
        _count(len(resolved.editions), "edition"),
        _count(len(project.services), "service"),
        _count(len(project.bases), "base"),
    )
    click.echo("ok: " + ", ".join(counts))


@main.command()
@ROOT
@_reports_errors
def render(root: Path) -> None:
    """Write docker-bake.hcl, dockerfiles/ and README.md's build graph (only what changed)."""
    report = commands.render(root)
    for change in report.changes:
        verb = {"create": "wrote", "update": "wrote", "remove": "removed"}[change.action]
        click.echo(f"{verb} {change.path}")
    written = sum(c.new is not None for c in report.changes)
    removed = len(report.changes) - written
    click.echo(f"render: {written} written, {removed} removed, {report.unchanged} unchanged")


@main.command()
@ROOT
@_reports_errors
def check(root: Path) -> None:
    """Exit 1 with a diff when committed generated files differ from a fresh render."""
    count = commands.check(root)
    click.echo(f"check: {count} generated files are up to date")


@main.command(name="list")
@ROOT
@_reports_errors
def list_editions(root: Path) -> None:
    """List editions with their images and the bases they need."""
    resolved = commands.load(root)
    default = resolved.project.settings.default_edition
    for edition in resolved.editions.values():
        mark = " (default)" if edition.name == default else ""
        click.echo(f"{edition.name}{mark}: {_count(len(edition.services), 'image')}")
        click.echo(f"  images: {' '.join(edition.services)}")
        click.echo(f"  bases:  {' '.join(edition.bases)}")


@main.command()
@click.argument("edition", required=False)
@ROOT
@click.option(
    "--format",
    "fmt",
    type=click.Choice(graph_step.FORMATS),
    default="mermaid",
    show_default=True,
    help="Mermaid flowchart (GitHub renders it) or Graphviz dot.",
)
@_reports_errors
def graph(root: Path, edition: str | None, fmt: str) -> None:
    """Print the build graph (bases -> services) of EDITION, or of every edition."""
    click.echo(commands.graph(root, edition, fmt), nl=False)


class _PassThrough(click.Command):
    """Keeps what follows `--` for buildx, so a stray word before it is a usage error."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            cut = args.index("--")
            ctx.meta["passthrough"] = tuple(args[cut + 1 :])
            args = args[:cut]
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [*super().collect_usage_pieces(ctx), "[-- BUILDX_ARGS]..."]


@main.command(cls=_PassThrough)
@click.argument("edition")
@ROOT
@click.option("--push", is_flag=True, help="Push the images (needs a registry).")
@click.option("--load", is_flag=True, help="Load into docker (only for non-docker drivers).")
@click.option(
    "--print", "print_only", is_flag=True, help="Print the resolved build, build nothing."
)
@click.option("--platform", "platforms", multiple=True, help="Target platform; repeatable.")
@click.option(
    "--all-platforms", is_flag=True, help="Every platform in project.platforms (releases)."
)
@click.option("--set", "sets", multiple=True, metavar="K=V", help="Override a target attribute.")
@click.option("--builder", help="The buildx builder to use.")
@click.option(
    "--changed-since",
    metavar="REF",
    help="Bake only what changed since git REF, and what is built on it.",
)
@click.option(
    "--mirror",
    metavar="REGISTRY",
    help="Read the upstream bases from REGISTRY/<image> (sets BASE_MIRROR).",
)
@click.option(
    "--ca-bundle",
    envvar="CA_BUNDLE",
    help="PEM CA bundle for a TLS-intercepting proxy, passed as a build secret.",
)
@click.option(
    "--cache",
    type=click.Choice(cache.BACKENDS),
    envvar=cache.ENV_VAR,
    help="Build cache backend of every target, over the spec's (env CACHE_BACKEND).",
)
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the build report to FILE: JSON if it ends in .json, else markdown.",
)
@_reports_errors
@click.pass_context
def bake(
    ctx: click.Context, /, root: Path, edition: str, report_file: Path | None, **flags: Any
) -> None:
    """Render, then `docker buildx bake EDITION` (or a single target or the `bases` group).

    Arguments after `--` go to buildx as they are, e.g. `-- --progress=plain`. The build
    report (per target: wall time, steps run and cached, image sizes) follows, made from
    BuildKit's rawjson progress; with another --progress there is none.
    """
    ref = flags.pop("changed_since")
    options = BakeOptions(
        **{**flags, "platforms": tuple(flags["platforms"]), "sets": tuple(flags["sets"])},
        extra=ctx.meta.get("passthrough", ()),
    )
    only: tuple[str, ...] = ()
    if ref is not None:
        selection = commands.changed(root, edition, ref)
        # stderr: `--print` keeps stdout for bake's JSON.
        click.echo(changes_step.describe(selection), err=True)
        if not selection.services:
            return
        only = selection.services
    report = commands.bake(root, edition, options, report_file, click.echo, only)
    if report.changes:
        click.echo(f"rendered {len(report.changes)} changed files before baking", err=True)


@main.command()
@click.argument("edition")
@ROOT
@_reports_errors
def verify(root: Path, edition: str) -> None:
    """Start every image of a built EDITION, wait for healthy, and enforce the image policy."""
    results = commands.verify(root, edition)
    verify_step.summary(results, click.echo)
    failed = [r.service for r in results if r.problems]
    if failed:
        raise CheckFailed(f"verify {edition}: {len(failed)} of {len(results)} images failed")
    click.echo(f"verify {edition}: all {len(results)} images healthy and compliant")


@main.command(cls=_PassThrough)
@click.argument("edition")
@ROOT
@click.option("--registry", help="Registry and namespace (default: the spec's).")
@click.option("--version", "version", help="Version tag to promote (default: the spec's).")
@click.option("--latest", is_flag=True, help="Also point :latest at the release.")
@click.option("--sbom", is_flag=True, help="Attach an SBOM attestation (BuildKit's scanner).")
@click.option("--staged", is_flag=True, help="Build nothing: the staging tags exist.")
@click.option(
    "--merge",
    is_flag=True,
    help="Build nothing: join the platform jobs' RC-TAG-<os>-<arch> tags into RC-TAG first "
    "(the CI merge job).",
)
@click.option(
    "--rc-tag", envvar="RC_TAG", help="Staging tag (default: VERSION-rc.<git short sha>)."
)
@click.option(
    "--ca-bundle",
    envvar="CA_BUNDLE",
    help="PEM CA bundle for a TLS-intercepting proxy, passed as a build secret.",
)
@_reports_errors
@click.pass_context
def release(ctx: click.Context, /, root: Path, edition: str, **flags: Any) -> None:
    """Stage EDITION for every platform, verify it from the registry, promote by digest.

    Nothing is promoted unless every image passes on every platform. Arguments after `--`
    go to buildx, e.g. `-- --no-cache`.
    """
    options = ReleaseOptions(**flags, extra=ctx.meta.get("passthrough", ()))
    report = commands.release(root, edition, options, lambda line: click.echo(line, err=True))
    verify_step.summary(list(report.results), click.echo)
    for promotion in report.promoted:
        click.echo(f"promoted {promotion.ref} -> {promotion.digest}")
    click.echo(f"release {edition}: {len(report.promoted)} tags promoted from {report.staging}")


@main.command()
@click.argument("edition")
@ROOT
@click.option("--from", "source", required=True, help="The tag to point at (e.g. 1.2.2).")
@click.option("--to", "tag", default="latest", show_default=True, help="The tag to move.")
@click.option("--registry", help="Registry and namespace (default: the spec's).")
@_reports_errors
def promote(root: Path, edition: str, source: str, tag: str, registry: str | None) -> None:
    """Re-point TAG of every image of EDITION to SOURCE's digest (rollback); no rebuild.

    Exits 2 and changes nothing when SOURCE is missing for any image.
    """
    for promotion in commands.promote(root, edition, source, tag, registry):
        click.echo(f"promoted {promotion.ref} -> {promotion.digest}")
