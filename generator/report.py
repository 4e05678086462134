"""The build report after every `sutrabuild bake`: per target, wall time, steps run and
cached, and image sizes. Made from BuildKit's rawjson progress events and buildx's metadata
file, never from human-readable output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from generator.policy import MIB
from generator.progress import Event, timestamp

# A build step of a Dockerfile: `[target stage 2/5] RUN ...`; FROM lines only resolve a base.
STEP = re.compile(r"^\[[\w.-]+(?: [\w.-]+)? +\d+/\d+\] (?!FROM )")
_PREFIX = re.compile(r"^\[([\w.-]+)[\] ]")

Sizes = Callable[[str], "tuple[int | None, int | None]"]


@dataclass(frozen=True)
class TargetReport:
    """One bake target: its wall time, its steps, and its image's sizes (None: unknown)."""

    target: str
    seconds: float
    steps: int
    cached: int
    compressed_bytes: int | None = None
    unpacked_bytes: int | None = None

    @property
    def run(self) -> int:
        return self.steps - self.cached

    @property
    def cache_hit_percent(self) -> float | None:
        return round(100 * self.cached / self.steps, 1) if self.steps else None


@dataclass(frozen=True)
class BuildReport:
    """Every target of one bake, in name order."""

    targets: tuple[TargetReport, ...]

    @property
    def steps(self) -> int:
        return sum(t.steps for t in self.targets)

    @property
    def cached(self) -> int:
        return sum(t.cached for t in self.targets)


def target_of(name: str, targets: Iterable[str]) -> str | None:
    """The bake target a vertex belongs to, from the `[target ...]` prefix buildx adds."""
    known = set(targets)
    match = _PREFIX.match(name)
    if match and match.group(1) in known:
        return match.group(1)
    # With a single target buildx adds no prefix.
    return next(iter(known)) if len(known) == 1 else None


def _vertices_by_target(
    events: Iterable[Event], targets: Iterable[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """target -> vertex digest -> the vertex, merged across its events."""
    known = tuple(targets)
    merged: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in known}
    for event in events:
        for vertex in event.get("vertexes") or ():
            target = target_of(str(vertex.get("name", "")), known)
            if target is not None:
                merged[target].setdefault(str(vertex["digest"]), {}).update(vertex)
    return merged


def _wall_seconds(vertices: Iterable[Mapping[str, Any]]) -> float:
    done = [v for v in vertices if v.get("started") and v.get("completed")]
    if not done:
        return 0.0
    start = min(timestamp(v["started"]) for v in done)
    return round(max(timestamp(v["completed"]) for v in done) - start, 2)


def _target_report(target: str, vertices: Mapping[str, Mapping[str, Any]]) -> TargetReport:
    steps = [v for v in vertices.values() if STEP.match(str(v.get("name", "")))]
    cached = sum(1 for v in steps if v.get("cached"))
    return TargetReport(target, _wall_seconds(vertices.values()), len(steps), cached)


def from_progress(events: Iterable[Event], metadata: Mapping[str, Any]) -> BuildReport:
    """The report of one bake: targets from the metadata file, figures from the events."""
    targets = sorted(t for t, v in metadata.items() if isinstance(v, Mapping))
    merged = _vertices_by_target(events, targets)
    return BuildReport(tuple(_target_report(t, merged[t]) for t in targets))


def image_ref(metadata: Mapping[str, Any], target: str) -> str | None:
    """The first name buildx gave the target's image, if it exported one."""
    names = str(metadata.get(target, {}).get("image.name", ""))
    return names.split(",")[0] or None


def with_sizes(report: BuildReport, metadata: Mapping[str, Any], sizes: Sizes) -> BuildReport:
    """Add each image's sizes, as the engine reports them (unknown if it holds no image).

    The images are asked about at once: each answer costs docker CLI processes, and after a
    no-op bake that waiting would be most of the report's cost.
    """
    refs = [image_ref(metadata, row.target) for row in report.targets]
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda ref: sizes(ref) if ref else (None, None), refs))
    return BuildReport(
        tuple(
            replace(row, compressed_bytes=compressed, unpacked_bytes=unpacked)
            for row, (compressed, unpacked) in zip(report.targets, found, strict=True)
        )
    )


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / MIB:.1f}"


def markdown(report: BuildReport) -> str:
    """The report as a GitHub-flavoured markdown table."""
    lines = [
        "| target | wall s | steps | run | cached | cache hit % | compressed MiB | unpacked MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for t in report.targets:
        hit = "-" if t.cache_hit_percent is None else f"{t.cache_hit_percent:.1f}"
        lines.append(
            f"| {t.target} | {t.seconds:.1f} | {t.steps} | {t.run} | {t.cached} | {hit} "
            f"| {_mib(t.compressed_bytes)} | {_mib(t.unpacked_bytes)} |"
        )
    total = report.steps
    hit = f"{100 * report.cached / total:.1f}" if total else "-"
    lines.append(f"| **all** | | {total} | {total - report.cached} | {report.cached} | {hit} | | |")
    return "\n".join(lines) + "\n"


def as_json(report: BuildReport) -> str:
    rows = [
        {**asdict(t), "run": t.run, "cache_hit_percent": t.cache_hit_percent}
        for t in report.targets
    ]
    return json.dumps({"targets": rows}, indent=2, sort_keys=True) + "\n"


def write(report: BuildReport, path: Path) -> None:
    """FILE.json gets JSON; any other name gets the markdown table."""
    text = as_json(report) if path.suffix == ".json" else markdown(report)
    path.write_text(text, encoding="utf-8")


def append_summary(report: BuildReport, summary: Path, title: str) -> None:
    """Append the table to a GitHub Actions job summary ($GITHUB_STEP_SUMMARY)."""
    with summary.open("a", encoding="utf-8") as handle:
        handle.write(f"### {title}\n\n{markdown(report)}\n")
