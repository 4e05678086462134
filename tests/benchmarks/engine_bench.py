"""`make bench-engine`: the engine benchmark, measured in one run on one engine.

1. cold: `sutrabuild bake enterprise`, every step run;
2. baseline: the same images one at a time, bases first, each with `docker buildx build`
   (the seed's build-all.sh way), every step run;
3. warm no-op: `make bake EDITION=enterprise` with nothing changed, median of 5, and whether
   any image ID changed;
4. one-file change: a comment appended to one Rust service's main.rs, then `make bake`
   (reverted afterwards);
5. reproducibility: two uncached builds of every enterprise image for the native platform,
   written as OCI layouts with rewrite-timestamp, compared manifest by manifest.

"Every step run" is `--no-cache` by default, so the benchmark can share an engine; with
--prune the whole build cache (pip and cargo cache mounts included) is pruned before the
cold bake, before the baseline and before each of the two reproducibility builds instead,
as on a fresh machine.

Prints a markdown table; writes bench/results.json and bench/chart.svg (cold and warm time
per target). A script, not a test: it asserts nothing and prints the targets it misses.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.benchmarks.bench_chart import svg_chart  # noqa: E402
from tests.benchmarks.oci_diff import OciImage  # noqa: E402
from tests.engine.helpers import NATIVE, oci_bake_command  # noqa: E402

EDITION = "enterprise"
SUTRABUILD = str(REPO / ".venv/bin/sutrabuild")
BASELINE_PREFIX = "sutra-bench-baseline"


def sh(*argv: str, env: dict[str, str] | None = None, quiet: bool = True) -> float:
    """Run a command; its wall time in seconds. Fails loudly."""
    start = time.perf_counter()
    proc = subprocess.run(
        argv, cwd=REPO, env={**os.environ, **(env or {})}, capture_output=quiet, text=True
    )
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return took


def prune() -> None:
    sh("docker", "buildx", "prune", "--all", "--force")


def bake_with_report(name: str, out: Path, *extra: str) -> tuple[float, dict[str, float]]:
    """`sutrabuild bake enterprise`: wall time, and per target seconds from its report."""
    report = out / f"{name}.json"
    took = sh(SUTRABUILD, "bake", EDITION, "--report", str(report), "--", *extra)
    rows = json.loads(report.read_text())["targets"]
    return took, {r["target"]: r["seconds"] for r in rows}


def printed_targets() -> dict[str, Any]:
    out = subprocess.run(
        ["docker", "buildx", "bake", "--print", EDITION], cwd=REPO, capture_output=True, text=True
    )
    targets: dict[str, Any] = json.loads(out.stdout)["target"]
    return targets


def build_order(targets: dict[str, Any]) -> list[str]:
    """Bases before what is built on them (their `target:` contexts), then by name."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        for source in (targets[name].get("contexts") or {}).values():
            if source.startswith("target:"):
                visit(source.removeprefix("target:"))
        order.append(name)

    for name in sorted(targets):
        visit(name)
    return order


def baseline_command(name: str, target: dict[str, Any]) -> list[str]:
    """One `docker buildx build` as build-all.sh would run it, bases taken from the store."""
    context = target["context"]
    cmd = ["docker", "buildx", "build", "--progress=quiet", "--no-cache", "--provenance=false"]
    cmd += ["-f", str(Path(context) / target["dockerfile"]), "-t", f"{BASELINE_PREFIX}/{name}"]
    for key, value in (target.get("args") or {}).items():
        cmd += ["--build-arg", f"{key}={value}"]
    for secret in target.get("secret") or ():
        cmd += ["--secret", ",".join(f"{k}={v}" for k, v in secret.items())]
    for ctx, source in (target.get("contexts") or {}).items():
        base = source.removeprefix("target:")
        cmd += ["--build-context", f"{ctx}=docker-image://{BASELINE_PREFIX}/{base}"]
    return [*cmd, context]


def baseline() -> tuple[float, dict[str, float]]:
    targets = printed_targets()
    per_target = {name: sh(*baseline_command(name, targets[name])) for name in build_order(targets)}
    return sum(per_target.values()), per_target


def critical_path(seconds: dict[str, float]) -> tuple[float, list[str]]:
    """The longest chain of `target:` links, each target timed by its own baseline build: no
    scheduler finishes the edition sooner, whatever the number of cores."""
    targets = printed_targets()
    chains: dict[str, tuple[float, list[str]]] = {}

    def chain(name: str) -> tuple[float, list[str]]:
        if name not in chains:
            sources = (targets[name].get("contexts") or {}).values()
            deps = [s.removeprefix("target:") for s in sources if s.startswith("target:")]
            longest = max((chain(d) for d in deps), key=lambda c: c[0], default=(0.0, []))
            chains[name] = (longest[0] + seconds[name], [*longest[1], name])
        return chains[name]

    return max((chain(name) for name in targets), key=lambda c: c[0])


def plain_no_op(runs: int) -> float:
    """Median no-op of `docker buildx bake` alone, given what sutrabuild gives it (REVISION,
    CREATED, the CA secret), so it builds the same configs: the floor under `make bake`."""
    from generator.bake import BakeOptions, bake_command, bake_environment

    env = bake_environment(REPO, BakeOptions(), os.environ)
    argv = bake_command(EDITION, BakeOptions(), env.get("CA_BUNDLE"))
    return statistics.median(sh(*argv, env=env) for _ in range(runs))


def image_ids() -> dict[str, str]:
    ids = {}
    for name, target in printed_targets().items():
        ref = target["tags"][0]
        proc = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", ref],
            capture_output=True,
            text=True,
        )
        ids[name] = proc.stdout.strip()
    return ids


def warm_no_op(runs: int) -> tuple[float, list[float], bool]:
    sh("make", "--no-print-directory", "bake", f"EDITION={EDITION}")
    before = image_ids()
    times = [sh("make", "--no-print-directory", "bake", f"EDITION={EDITION}") for _ in range(runs)]
    return statistics.median(times), times, image_ids() == before


def one_file_change() -> float:
    main_rs = REPO / "packages/sutra-storage/src/main.rs"
    original = main_rs.read_text()
    try:
        main_rs.write_text(original + f"\n// bench-engine edit {time.time_ns()}\n")
        return sh("make", "--no-print-directory", "bake", f"EDITION={EDITION}")
    finally:
        main_rs.write_text(original)


def reproducible(out: Path, empty_between: bool) -> dict[str, bool]:
    """service -> identical manifests across two uncached OCI builds (with `empty_between`,
    the whole build cache, pip's and cargo's cache mounts too, pruned before each)."""
    from generator.commands import load

    services = sorted(load(REPO).editions[EDITION].services)
    epoch = subprocess.run(
        ["git", "log", "-1", "--format=%ct"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    digests: list[dict[str, str]] = []
    for run in ("a", "b"):
        if empty_between:
            prune()
        dest = out / f"oci-{run}"
        dest.mkdir()
        sh(
            *oci_bake_command(services, (EDITION,), dest, "--no-cache"),
            env={"SOURCE_DATE_EPOCH": epoch},
        )
        digests.append({s: OciImage(dest / f"{s}.tar").manifest_digest for s in services})
    return {s: digests[0][s] == digests[1][s] for s in services}


def ratio(part: float, whole: float) -> float:
    return round(part / whole, 3) if whole else float("nan")


def measure(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    uncached = () if args.prune else ("--no-cache",)
    if args.prune:
        prune()
    cold, cold_targets = bake_with_report("cold", out, *uncached)
    if args.prune:
        prune()
    base_total, base_targets = baseline()
    sh(SUTRABUILD, "bake", EDITION)  # back to the project's own images and cache
    _, warm_targets = bake_with_report("warm", out)
    median, runs, ids_kept = warm_no_op(args.runs)
    plain = plain_no_op(args.runs)
    edit = one_file_change()
    sh("make", "--no-print-directory", "bake", f"EDITION={EDITION}")  # the reverted source
    same = reproducible(out, args.prune) if not args.skip_reproducibility else {}
    chain_s, chain = critical_path(base_targets)
    return {
        "machine": {"cpus": os.cpu_count(), "platform": NATIVE},
        "empty_cache": "buildx prune --all" if args.prune else "--no-cache",
        "cold_bake_s": round(cold, 1),
        "baseline_s": round(base_total, 1),
        "cold_vs_baseline": ratio(cold, base_total),
        "warm_no_op_median_s": round(median, 2),
        "warm_no_op_runs_s": [round(t, 2) for t in runs],
        "no_op_kept_every_image_id": ids_kept,
        "one_file_change_s": round(edit, 1),
        "one_file_change_vs_cold": ratio(edit, cold),
        "reproducible": same,
        "bounds": {
            "critical_path": chain,
            "critical_path_s": round(chain_s, 1),
            "critical_path_vs_baseline": ratio(chain_s, base_total),
            "plain_bake_no_op_median_s": round(plain, 2),
            "no_op_vs_cold": ratio(median, cold),
        },
        "per_target_s": {
            t: {
                "cold": cold_targets.get(t),
                "warm": warm_targets.get(t),
                "baseline": base_targets.get(t),
            }
            for t in sorted({*cold_targets, *base_targets})
        },
    }


TARGETS = (
    ("warm_no_op_median_s", "<=", 1.5),
    ("one_file_change_vs_cold", "<=", 0.10),
    ("cold_vs_baseline", "<=", 0.5),
)


def table(results: dict[str, Any]) -> str:
    same = results["reproducible"]
    identical = f"{sum(same.values())} of {len(same)} images identical" if same else "skipped"
    rows = [
        ("cold enterprise bake", f"{results['cold_bake_s']} s", ""),
        ("one image at a time (baseline)", f"{results['baseline_s']} s", ""),
        ("cold / baseline", f"{results['cold_vs_baseline']}", "<= 0.5"),
        (
            "warm no-op `make bake` (median of runs)",
            f"{results['warm_no_op_median_s']} s",
            "<= 1.5 s",
        ),
        ("no-op kept every image ID", str(results["no_op_kept_every_image_id"]).lower(), "true"),
        ("one-file change", f"{results['one_file_change_s']} s", ""),
        ("one-file change / cold", f"{results['one_file_change_vs_cold']}", "<= 0.10"),
        ("two uncached builds, manifests", identical, "all identical"),
    ]
    bounds = results["bounds"]
    rows += [
        (
            "critical path, one image at a time: " + " -> ".join(bounds["critical_path"]),
            f"{bounds['critical_path_s']} s",
            "",
        ),
        (
            "critical path / baseline (floor of cold / baseline)",
            f"{bounds['critical_path_vs_baseline']}",
            "",
        ),
        (
            "plain `docker buildx bake` no-op (median)",
            f"{bounds['plain_bake_no_op_median_s']} s",
            "",
        ),
        ("no-op / cold (floor of one-file change / cold)", f"{bounds['no_op_vs_cold']}", ""),
    ]
    lines = ["| measure | value | target |", "| --- | ---: | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines) + "\n"


def missed(results: dict[str, Any]) -> list[str]:
    found = [f"{k} = {results[k]} (target {op} {v})" for k, op, v in TARGETS if results[k] > v]
    if not results["no_op_kept_every_image_id"]:
        found.append("a no-op bake changed an image ID")
    found += [f"{s} is not reproducible" for s, ok in results["reproducible"].items() if not ok]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prune", action="store_true", help="empty the whole build cache first")
    parser.add_argument("--runs", type=int, default=5, help="runs of the warm no-op")
    parser.add_argument("--skip-reproducibility", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "bench", help="results folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as scratch:
        results = measure(args, Path(scratch))
    args.out.mkdir(exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (args.out / "chart.svg").write_text(svg_chart(results["per_target_s"]))
    print(table(results))
    print(f"wrote {args.out / 'results.json'} and {args.out / 'chart.svg'}")
    for line in missed(results):
        print(f"MISSED: {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
