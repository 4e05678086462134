"""`sutrabuild release`: stage every platform under one rc tag, verify what the registry holds,
then promote by digest; `sutrabuild promote` re-points tags to an earlier release.

A release changes no final tag until every image passed on every platform, so a broken
release leaves every `:VERSION` and `:latest` where it was and keeps its staging tags.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from generator import registry
from generator import verify as verify_step
from generator.bake import BakeOptions, bake_environment
from generator.errors import BuildFailed, CheckFailed, UsageError
from generator.model import Project
from generator.plan import BakePlan
from generator.resolve import Resolved
from generator.workflows import platform_slug

# What a registry accepts as a tag (the OCI distribution spec).
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
ANY_PLATFORM = "*"


@dataclass(frozen=True)
class ReleaseOptions:
    """What `sutrabuild release` was asked for; None means the spec's own value."""

    registry: str | None = None
    version: str | None = None
    latest: bool = False
    sbom: bool = False
    staged: bool = False
    merge: bool = False
    rc_tag: str | None = None
    ca_bundle: str | None = None
    extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """Where one release goes: registry, version, staging tag and the final tags."""

    registry: str
    version: str
    staging: str
    tags: tuple[str, ...]

    def ref(self, image: str, tag: str) -> str:
        return f"{self.registry}/{image}:{tag}"


@dataclass(frozen=True)
class Failure:
    """One row of the failure table: which image, on which platform, and why."""

    image: str
    platform: str
    why: str


@dataclass(frozen=True)
class Promotion:
    """A tag that now points at a digest (the staged index, unchanged)."""

    ref: str
    digest: str


@dataclass(frozen=True)
class ReleaseReport:
    """What a release did: the verify rows of every platform and the tags it moved."""

    staging: str
    results: tuple[verify_step.ImageResult, ...]
    promoted: tuple[Promotion, ...]


class ReleaseFailed(CheckFailed):
    """Something failed before promotion: nothing was promoted, staging tags remain."""

    def __init__(self, edition: str, staging: str, failures: Iterable[Failure]) -> None:
        self.failures = tuple(failures)
        head = f"release {edition}: {len(self.failures)} failure(s); nothing promoted"
        tail = f"staging tags {staging} kept for inspection; :VERSION and :latest unchanged"
        super().__init__("\n".join([head, failure_table(self.failures), tail]))


class MissingTags(UsageError):
    """`promote` found a source tag missing for some image; it changed nothing."""


def failure_table(failures: Iterable[Failure]) -> str:
    """IMAGE / PLATFORM / WHY, one failure per line."""
    rows = [("IMAGE", "PLATFORM", "WHY"), *((f.image, f.platform, f.why) for f in failures)]
    width = [max(len(r[i]) for r in rows) for i in (0, 1)]
    return "\n".join(f"{a:<{width[0]}}  {b:<{width[1]}}  {c}" for a, b, c in rows)


def check_tag(tag: str, what: str) -> str:
    if not TAG.match(tag):
        raise UsageError(f"{what} {tag!r} is not a valid image tag ([A-Za-z0-9_.-], max 128)")
    return tag


def release_target(project: Project, options: ReleaseOptions, revision: str) -> Target:
    """Registry, version and tags: flags over the spec; staging is VERSION-rc.<short sha>."""
    version = check_tag(options.version or project.settings.version, "version")
    staging = options.rc_tag or os.environ.get("RC_TAG") or ""
    if not staging:
        if not revision:
            raise UsageError("no git commit to name the staging tag after; pass --rc-tag")
        staging = f"{version}-rc.{revision[:7]}"
    tags = (version, "latest") if options.latest else (version,)
    registry_ = (options.registry or project.settings.registry).rstrip("/")
    return Target(registry_, version, check_tag(staging, "staging tag"), tags)


def created(env: Mapping[str, str]) -> str:
    """The created label as the bake file computes it: CREATED, else SOURCE_DATE_EPOCH."""
    if env.get("CREATED"):
        return env["CREATED"]
    epoch = int(env.get("SOURCE_DATE_EPOCH") or 0)
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def index_annotations(
    plan: BakePlan, target: str, env: Mapping[str, str], version: str
) -> list[str]:
    """The index annotations of a target: its OCI labels, as the bake file sets them."""
    bake_target = next(t for t in plan.targets if t.name == target)
    labels = dict(plan.common_labels) | dict(bake_target.labels)
    labels["org.opencontainers.image.version"] = version
    labels["org.opencontainers.image.revision"] = env.get("REVISION", "")
    labels["org.opencontainers.image.created"] = created(env)
    return [f"index:{key}={value}" for key, value in sorted(labels.items()) if value]


def stage_options(
    root: Path, plan: BakePlan, services: Iterable[str], where: Target, options: ReleaseOptions
) -> BakeOptions:
    """One push of every platform to the staging tags, with provenance (and SBOM) and the
    index annotations. VERSION stays the release's, so the labels name it, not the rc."""
    env = bake_environment(root, BakeOptions(), os.environ)
    sets = []
    for service in services:
        sets.append(f"{service}.tags={where.ref(service, where.staging)}")
        notes = index_annotations(plan, service, env, where.version)
        sets += [f"{service}.annotations={a}" for a in notes]
    attest = ("--provenance", "mode=max", *(("--sbom", "true") if options.sbom else ()))
    return BakeOptions(
        push=True,
        all_platforms=True,
        sets=tuple(sets),
        ca_bundle=options.ca_bundle,
        extra=(*attest, *options.extra),
        variables=(("REGISTRY", where.registry), ("VERSION", where.version)),
    )


def platform_tag(staging: str, platform: str) -> str:
    """The tag one platform's CI job pushes: VERSION-rc.<sha>-linux-arm64."""
    return f"{staging}-{platform_slug(platform)}"


def merge_platforms(
    root: Path, plan: BakePlan, services: Iterable[str], where: Target, platforms: Iterable[str]
) -> list[Failure]:
    """Join each image's per-platform staging tags into its staging index, by digest, with
    the index annotations a one-bake release gives; a failure for every tag that is missing."""
    env = bake_environment(root, BakeOptions(), os.environ)
    failures: list[Failure] = []
    for service in services:
        notes = index_annotations(plan, service, env, where.version)
        failures += _merge_one(service, where, tuple(platforms), notes)
    return failures


def _merge_one(
    service: str, where: Target, platforms: tuple[str, ...], notes: list[str]
) -> list[Failure]:
    tags = {p: platform_tag(where.staging, p) for p in platforms}
    found = {p: registry.inspect(where.ref(service, tag)) for p, tag in tags.items()}
    missing = [Failure(service, p, f"{tags[p]}: no such tag") for p, i in found.items() if not i]
    if not missing:
        sources = [registry.pinned(i.ref, i.digest) for i in found.values() if i]
        registry.merge(where.ref(service, where.staging), sources, notes)
    return missing


def inspect_staged(
    services: Iterable[str], where: Target, platforms: Iterable[str]
) -> tuple[dict[str, registry.Index], list[Failure]]:
    """Each staged index, and a failure for every tag or platform the registry lacks."""
    indexes: dict[str, registry.Index] = {}
    failures: list[Failure] = []
    for service in services:
        index = registry.inspect(where.ref(service, where.staging))
        if index is None:
            failures.append(Failure(service, ANY_PLATFORM, f"{where.staging}: no such tag"))
            continue
        indexes[service] = index
        missing = [p for p in platforms if index.manifest(p) is None]
        failures += [Failure(service, p, "platform not in the pushed index") for p in missing]
    return indexes, failures


def verify_platform(
    project: Project, indexes: Mapping[str, registry.Index], platform: str
) -> tuple[list[verify_step.ImageResult], list[Failure]]:
    """Run every image of one platform by its manifest digest and apply verify's checks."""
    images = {
        service: registry.pinned(index.ref, digest)
        for service, index in indexes.items()
        if (digest := index.manifest(platform))
    }
    try:
        results = verify_step.verify_images(project, images, platform)
    except BuildFailed as exc:
        return [], [Failure(service, platform, str(exc)) for service in images]
    failures = [Failure(r.service, platform, "; ".join(r.problems)) for r in results if r.problems]
    return results, failures


def promote_indexes(indexes: Mapping[str, registry.Index], where: Target) -> list[Promotion]:
    """Point every final tag at its staged index digest, then read each back to prove it."""
    promoted = []
    for service, index in indexes.items():
        for tag in where.tags:
            ref = where.ref(service, tag)
            registry.point(ref, index.ref, index.digest)
            promoted.append(_confirmed(ref, index.digest))
    return promoted


def _confirmed(ref: str, digest: str) -> Promotion:
    now = registry.inspect(ref)
    if now is None or now.digest != digest:
        raise BuildFailed(f"{ref} does not point at {digest} after imagetools create")
    return Promotion(ref, digest)


def verify_and_promote(
    resolved: Resolved, edition: str, where: Target, echo: Callable[[str], None]
) -> ReleaseReport:
    """Inspect the staged indexes, verify every platform, promote only if nothing failed."""
    project = resolved.project
    services = resolved.editions[edition].services
    indexes, failures = inspect_staged(services, where, project.settings.platforms)
    results: list[verify_step.ImageResult] = []
    for platform in project.settings.platforms:
        echo(f"release {edition}: verifying {platform} from the registry")
        found, failed = verify_platform(project, indexes, platform)
        results += found
        failures += failed
    if failures:
        raise ReleaseFailed(edition, where.staging, failures)
    return ReleaseReport(where.staging, tuple(results), tuple(promote_indexes(indexes, where)))


def promote(resolved: Resolved, edition: str, where: Target, source: str) -> list[Promotion]:
    """Re-point where.tags of every image to what `source` holds; all sources checked first."""
    services = resolved.editions[edition].services
    indexes = {s: registry.inspect(where.ref(s, source)) for s in services}
    missing = [where.ref(s, source) for s, index in indexes.items() if index is None]
    if missing:
        lines = [f"{ref}: no such tag" for ref in missing]
        raise MissingTags("\n".join([*lines, f"promote {edition}: nothing re-pointed"]))
    found = {s: index for s, index in indexes.items() if index is not None}
    return promote_indexes(found, where)
