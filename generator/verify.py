"""`sutrabuild verify`: run every image of an edition, wait for healthy, enforce the policy."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from generator import engine, policy
from generator.errors import CheckFailed, UsageError
from generator.model import HealthCheck, Project, Service
from generator.resolve import Resolved, service_bases

POLL_SECONDS = 0.5
_DURATION = re.compile(r"^(\d+)(ms|s|m|h)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True)
class ImageResult:
    """One row of the verify summary."""

    service: str
    image: str
    compressed_bytes: int
    unpacked_bytes: int
    health: str
    seconds: float | None
    problems: tuple[str, ...]
    # Empty for the engine's own platform (`verify`); a release verifies each one it ships.
    platform: str = ""


def seconds(duration: str) -> float:
    """30s -> 30.0, as Docker reads HEALTHCHECK durations."""
    match = _DURATION.match(duration)
    if not match:
        raise ValueError(duration)
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def health_deadline(check: HealthCheck) -> float:
    """How long Docker may take to call a container unhealthy: start period + retries x interval."""
    return seconds(check.start_period) + check.retries * seconds(check.interval) + 5


def edition_images(resolved: Resolved, printed: Mapping[str, Any], edition: str) -> dict[str, str]:
    """service -> the first tag bake resolves for it (so REGISTRY/VERSION overrides apply)."""
    targets = printed["target"]
    return {s: targets[s]["tags"][0] for s in resolved.editions[edition].services}


Status = tuple[str, float | None]


def _wait_healthy(containers: dict[str, str], deadlines: dict[str, float]) -> dict[str, Status]:
    """Poll every container until healthy, unhealthy, exited, or past its deadline."""
    start = time.monotonic()
    done: dict[str, Status] = {}
    while len(done) < len(containers):
        elapsed = time.monotonic() - start
        for service, container in containers.items():
            if service in done:
                continue
            status = engine.health(container)
            if status == "healthy":
                done[service] = (status, round(elapsed, 1))
            elif status != "starting" or elapsed > deadlines[service]:
                done[service] = (status if status != "starting" else "timeout", None)
        time.sleep(POLL_SECONDS)
    return done


@cache
def _setuid_files(image: str, platform: str | None = None) -> frozenset[str]:
    script = engine.run_as_root(image, policy.facts_script(), platform)
    return policy.parse_facts(script)["setuid"]


def _upstream_image(project: Project, service: Service) -> str | None:
    """The upstream image under a service's runtime base, through any custom bases."""
    base = project.bases[service_bases(project, service.name)[1]]
    while base.from_image is None and base.bases:
        base = project.bases[base.bases[0]]
    return base.from_image


def image_facts(
    image: str,
    upstream: str | None,
    budget_mb: int | None,
    uid: int | None,
    platform: str | None = None,
) -> policy.ImageFacts:
    """Gather what the policy looks at: config, sizes, tools, caches, setuid files vs upstream."""
    inspected = engine.inspect_image(image, platform) or {}
    found = policy.parse_facts(engine.run_as_root(image, policy.facts_script(), platform))
    return policy.ImageFacts(
        image=image,
        config=inspected.get("Config") or {},
        # With the containerd image store, Docker's Size is the compressed content: what a
        # pull downloads for this platform.
        compressed_bytes=int(inspected.get("Size") or 0),
        unpacked_bytes=policy.unpacked_bytes(found),
        tools=found["tool"],
        caches=found["cache"],
        apt_caches=found["apt"],
        setuid=found["setuid"],
        base_setuid=_setuid_files(upstream, platform) if upstream else frozenset(),
        running_uid=uid,
        size_budget_mb=budget_mb,
    )


def _running_uid(container: str) -> int | None:
    proc = engine.docker("exec", container, "id", "-u", check=False)
    return int(proc.stdout.strip()) if proc.returncode == 0 else None


def _start(images: dict[str, str], containers: dict[str, str], platform: str | None) -> None:
    """Start one container per image, recording each before the next, so all get removed.

    A platform other than the engine's own runs under QEMU (binfmt, as `make engine` sets up).
    """
    suffix = f"-{platform.replace('/', '-')}" if platform else ""
    options = ("--platform", platform) if platform else ()
    for service, image in images.items():
        name = f"sutra-verify-{service}{suffix}-{os.getpid()}"
        containers[service] = name
        # A pull of a release image can take a while under load; the health wait is separate.
        engine.docker("run", "--detach", *options, "--name", name, image, timeout=600)


def _verify_started(
    project: Project, images: dict[str, str], containers: dict[str, str], platform: str | None
) -> list[ImageResult]:
    deadlines = {s: health_deadline(project.services[s].healthcheck) for s in containers}
    statuses = _wait_healthy(containers, deadlines)
    results = []
    for service, image in images.items():
        status, took = statuses[service]
        spec = project.services[service]
        uid = _running_uid(containers[service])
        upstream = _upstream_image(project, spec)
        facts = image_facts(image, upstream, spec.size_budget_mb, uid, platform)
        problems = policy.violations(facts)
        if status != "healthy":
            problems.insert(0, f"health: {status}")
        results.append(
            ImageResult(
                service,
                image,
                facts.compressed_bytes,
                facts.unpacked_bytes,
                status,
                took,
                tuple(problems),
                platform or "",
            )
        )
    return results


def verify(resolved: Resolved, root: Path, edition: str) -> list[ImageResult]:
    """Start every image of the edition, wait for health, apply the policy; always clean up."""
    if edition not in resolved.editions:
        known = ", ".join(sorted(resolved.editions))
        raise UsageError(f"unknown edition {edition!r}; known editions: {known}")
    images = edition_images(resolved, engine.bake_print(root, edition), edition)
    missing = [image for image in images.values() if engine.inspect_image(image) is None]
    if missing:
        raise CheckFailed(f"not built: {', '.join(missing)}; run `make bake EDITION={edition}`")
    return verify_images(resolved.project, images)


def verify_images(
    project: Project, images: Mapping[str, str], platform: str | None = None
) -> list[ImageResult]:
    """Run each service's image (any ref, e.g. repo@sha256:... of one platform), wait for
    health, apply the policy; always remove the containers."""
    containers: dict[str, str] = {}
    try:
        _start(dict(images), containers, platform)
        return _verify_started(project, dict(images), containers, platform)
    finally:
        for container in containers.values():
            engine.docker("rm", "--force", "--volumes", container, check=False)


def summary(results: list[ImageResult], echo: Callable[[str], None]) -> None:
    """Print the table, then every problem on its own line.

    COMPRESSED is what a pull downloads; UNPACKED is what the image takes on disk (what `du`
    shows, and what `size_budget_mb` limits).
    """
    names = [f"{r.service} {r.platform}" if r.platform else r.service for r in results]
    # At least 28 wide, so one platform's table lines up; wider when a platform is named.
    width = max([28, *map(len, names)])
    echo(
        f"{'IMAGE':<{width}} {'COMPRESSED':>10} {'UNPACKED':>10} {'HEALTH':<10} "
        f"{'TO HEALTHY':>10}  RESULT"
    )
    for name, r in zip(names, results, strict=True):
        took = f"{r.seconds:.1f}s" if r.seconds is not None else "-"
        compressed = f"{r.compressed_bytes / policy.MIB:.1f}MiB"
        unpacked = f"{r.unpacked_bytes / policy.MIB:.1f}MiB"
        verdict = "ok" if not r.problems else f"FAIL ({len(r.problems)})"
        echo(
            f"{name:<{width}} {compressed:>10} {unpacked:>10} {r.health:<10} {took:>10}  {verdict}"
        )
    for name, r in zip(names, results, strict=True):
        for problem in r.problems:
            echo(f"{name}: {problem}")
