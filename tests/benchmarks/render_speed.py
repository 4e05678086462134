"""Speed targets of the generator (`make bench`); a script, not a pytest module.

(a) Rendering the real specs in memory (all three editions): median of N runs < 1 s.
(b) A synthetic project of 500 services, validated and rendered to disk in a fresh tree: < 3 s.

Prints the numbers and says which target is missed. It exits 1 for a miss only with
--strict: on a shared 2-core CI machine a noisy timing must not fail a submission, so CI
prints the figures and a person reads them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Run as a script (`python tests/benchmarks/render_speed.py`), the repo root is not on sys.path.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from generator import commands  # noqa: E402
from tests.conftest import MINIMAL_PACKAGES, MINIMAL_PROJECT  # noqa: E402

REAL_LIMIT_S = 1.0
SYNTHETIC_LIMIT_S = 3.0

# The test suite's minimal project: its settings, stacks and bases, without its two services.
PROJECT_HEAD = MINIMAL_PROJECT[: MINIMAL_PROJECT.index("services:\n") + len("services:\n")]
# The files the bases' build contexts need (the services' own come per synthetic service).
BASE_PACKAGES = {
    rel: text
    for rel, text in MINIMAL_PACKAGES.items()
    if not rel.startswith(("packages/api/", "packages/store/"))
}


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def synthetic_project(root: Path, count: int) -> None:
    """`count` services (python and rust alternating) in three editions, with their packages."""
    files = dict(BASE_PACKAGES)
    services = []
    names = []
    for i in range(count):
        name = f"svc-{i:04d}"
        names.append(name)
        stack = "python" if i % 2 == 0 else "rust"
        services.append(
            f"  {name}:\n"
            f"    stack: {stack}\n"
            f"    description: Synthetic service number {i}\n"
            f"    context: packages/{name}\n"
            f"    port: {8000 + i}\n"
            f"    env: {{LOG_LEVEL: info, WORKERS: {i % 8 + 1}}}\n"
        )
        if stack == "python":
            files[f"packages/{name}/requirements.txt"] = "msgpack==1.0.8\n"
            files[f"packages/{name}/app/__init__.py"] = ""
        else:
            files[f"packages/{name}/Cargo.toml"] = f'[package]\nname = "{name}"\n'
            files[f"packages/{name}/Cargo.lock"] = "version = 3\n"
            files[f"packages/{name}/src/main.rs"] = "fn main() {}\n"
    first, second = count // 5, count // 2
    files["editions/project.yaml"] = PROJECT_HEAD + "".join(services)
    files["editions/simple.yaml"] = f"services: [{', '.join(names[:first])}]\n"
    files["editions/community.yaml"] = (
        f"extends: simple\nservices: [{', '.join(names[first:second])}]\n"
    )
    files["editions/enterprise.yaml"] = (
        f"extends: community\nservices: [{', '.join(names[second:])}]\n"
    )
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def bench_real(runs: int) -> tuple[float, float]:
    """(first run, median of the following runs) of rendering the real specs in memory."""
    first = timed(lambda: commands.rendered(REPO))
    times = [timed(lambda: commands.rendered(REPO)) for _ in range(runs)]
    return first, statistics.median(times)


def bench_synthetic(count: int, runs: int) -> tuple[float, float, int]:
    """(median fresh validate+render to disk, median no-op re-render, files written)."""
    fresh: list[float] = []
    again: list[float] = []
    written = 0
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="sutrabuild-bench-") as tmp:
            root = Path(tmp)
            synthetic_project(root, count)

            def validate_and_render(root: Path = root) -> None:
                nonlocal written
                commands.load(root)
                report = commands.render(root)
                written = len(report.changes)

            fresh.append(timed(validate_and_render))
            again.append(timed(lambda root=root: commands.render(root)))
    return statistics.median(fresh), statistics.median(again), written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs of the real render")
    parser.add_argument("--services", type=int, default=500, help="synthetic project size")
    parser.add_argument("--synthetic-runs", type=int, default=3, help="fresh synthetic trees")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    first, median = bench_real(args.runs)
    print(
        f"real specs, 3 editions, in memory: first {first:.3f} s, "
        f"median of {args.runs} {median:.3f} s"
    )
    fresh, again, written = bench_synthetic(args.services, args.synthetic_runs)
    print(
        f"synthetic {args.services} services: validate+render to disk {fresh:.3f} s "
        f"({written} files, median of {args.synthetic_runs}); no-op re-render {again:.3f} s"
    )

    failures = []
    if median >= REAL_LIMIT_S:
        failures.append(f"real render {median:.3f} s >= {REAL_LIMIT_S} s")
    if fresh >= SYNTHETIC_LIMIT_S:
        failures.append(f"{args.services}-service render {fresh:.3f} s >= {SYNTHETIC_LIMIT_S} s")
    for failure in failures:
        print(f"MISSED: {failure}", file=sys.stderr)
    if not failures:
        print("ok: speed targets met")
    return 1 if failures and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
