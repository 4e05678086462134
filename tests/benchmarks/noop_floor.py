"""Where a warm no-op bake spends its time: prints a table of medians, never asserts.

Run on a warm engine (after `make bake EDITION=enterprise`). Each row removes one layer of
the no-op `make bake EDITION=enterprise`:

  make bake                    make + sutrabuild (render, git, report) + buildx bake
  sutrabuild bake              without make
  docker buildx bake           without sutrabuild (same REVISION and CREATED, same IDs)
  ... --progress=rawjson span  BuildKit's own span, first step started to last finished
  ... output=cacheonly         the same solve, no image exported to the image store
  docker buildx bake --print   buildx start-up and reading the bake file alone

Usage: .venv/bin/python tests/benchmarks/noop_floor.py [--edition enterprise] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from generator.bake import BakeOptions, bake_command, bake_environment  # noqa: E402
from generator.progress import timestamp  # noqa: E402


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr[-2000:]}")
    return elapsed, proc.stderr


def _span(stderr: str) -> float:
    """BuildKit's own span in a rawjson stream: first step started to last step finished."""
    starts, ends = [], []
    for line in stderr.splitlines():
        if not line.startswith("{"):
            continue
        for vertex in json.loads(line).get("vertexes") or ():
            if vertex.get("started"):
                starts.append(timestamp(vertex["started"]))
            if vertex.get("completed"):
                ends.append(timestamp(vertex["completed"]))
    return max(ends) - min(starts) if starts and ends else 0.0


def _median(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edition", default="enterprise")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    edition = args.edition
    # What sutrabuild gives bake (REVISION, CREATED, the CA secret): plain bake then builds
    # the same configs, so it is a no-op too.
    env = bake_environment(REPO, BakeOptions(), os.environ)
    ca_bundle = env.get("CA_BUNDLE")

    def bake(options: BakeOptions | None = None) -> list[str]:
        return bake_command(edition, options or BakeOptions(), ca_bundle)

    sutrabuild = [str(REPO / ".venv/bin/sutrabuild"), "bake", edition]
    _timed(sutrabuild, env)  # warm: whatever changed since the last bake is built now
    rows = {
        "make bake": lambda: _timed(["make", "bake", f"EDITION={edition}"], env)[0],
        "sutrabuild bake": lambda: _timed(sutrabuild, env)[0],
        "docker buildx bake": lambda: _timed(bake(), env)[0],
        "  BuildKit span (rawjson)": lambda: _span(
            _timed(bake(BakeOptions(extra=("--progress=rawjson",))), env)[1]
        ),
        "docker buildx bake, output=cacheonly": lambda: _timed(
            bake(BakeOptions(sets=("*.output=type=cacheonly",))), env
        )[0],
        "docker buildx bake --print": lambda: _timed(bake(BakeOptions(print_only=True)), env)[0],
    }
    print(f"| warm no-op, {edition}, median of {args.runs} | seconds |")
    print("| --- | ---: |")
    for name, measure in rows.items():
        print(f"| {name} | {_median(args.runs, measure):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
