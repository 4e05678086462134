"""How much of a service's build an exported cache gives back after `docker buildx prune -af`:
prints, per backend and per service, the RUN/COPY steps CACHED out of all. Never asserts.

Each round empties the engine, bakes the edition with CACHE_BACKEND (exporting every
target's cache, as one CI run would), then for each service empties the engine again and
bakes that service alone, importing the caches (as the next CI run would). It bakes in a
copy of the project, so the repository's images and caches are left alone (the engine's
build cache is emptied, though).

Usage: .venv/bin/python tests/benchmarks/cache_survival.py [--edition simple] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.engine.helpers import run_or_copy_steps  # noqa: E402

SUTRABUILD = (sys.executable, "-m", "generator")
BACKENDS = ("registry", "local")


def sh(*argv: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> str:
    """Run a command; its stderr (where buildx writes rawjson). Exits when it fails."""
    proc = subprocess.run(
        argv, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr[-2000:]}")
    return proc.stderr


def steps(stderr: str) -> dict[str, bool]:
    """The RUN/COPY steps of a bake's rawjson stderr and whether each was CACHED."""
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return run_or_copy_steps(events)


def _bake(root: Path, target: str, env: dict[str, str]) -> dict[str, bool]:
    argv = (*SUTRABUILD, "bake", target, "-C", str(root), "--", "--progress=rawjson")
    return steps(sh(*argv, env=env))


def prune() -> None:
    """Empty the engine's whole build cache."""
    sh("docker", "buildx", "prune", "--all", "--force")


def _round(root: Path, edition: str, services: list[str], backend: str) -> list[str]:
    cache_registry = f"localhost:5000/cache-survival-{uuid.uuid4().hex[:8]}"
    env = {"CACHE_BACKEND": backend, "CACHE_REGISTRY": cache_registry, "VERSION": "survival"}
    prune()
    _bake(root, edition, env)
    rows = []
    for service in services:
        prune()
        steps = _bake(root, service, env)
        rows.append(f"| {backend} | {service} | {sum(steps.values())} of {len(steps)} |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edition", default="simple")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    from generator.commands import load

    services = list(load(REPO).editions[args.edition].services)
    print("| backend | service baked alone after a prune | RUN/COPY steps CACHED |")
    print("| --- | --- | ---: |")
    with tempfile.TemporaryDirectory(prefix="cache-survival-") as scratch:
        root = Path(scratch)
        for name in ("editions", "packages", "dockerfiles", "docker-bake.hcl"):
            copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
            copy(REPO / name, root / name)
        for _ in range(args.rounds):
            for backend in BACKENDS:
                print("\n".join(_round(root, args.edition, services, backend)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
