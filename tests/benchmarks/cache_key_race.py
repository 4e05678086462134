"""Why an imported cache gives back a varying share of a bake after `docker buildx prune -af`:
a two-target reproducer, outside sutrabuild, that prints how often the dependent target's
own steps come back CACHED. Never asserts.

`svc` is built `FROM base` through a `target:` context, so bake solves `base` as its own job
and the two jobs share base's steps. Each job imports its caches itself, and BuildKit gives
every record of an imported cache an ID hashed from its parents' IDs
(cache/remotecache/v1/chains.go, `(*item).computeID`). Where one input of a record has two
links, that hash walks a Go map, so each import may give the record, and every record below
it, another ID. The first step on an image has two: the image's manifest key and its config
key. When `base`'s job has already looked a shared step up in its own imports before `svc`'s
job joins, `svc`'s steps are looked up by that foreign ID in `svc`'s imports, and found only
when both imports drew the same order.

Two variants of the same graph, each exported once and then imported `--rounds` times, each
time into an emptied build cache:
- `image`: base is `FROM debian:bookworm-slim` (the stand-in) + RUN + COPY, svc adds two RUNs;
- `scratch`: base is `FROM scratch` + COPY, svc adds a COPY: no record has two links.

Usage: .venv/bin/python tests/benchmarks/cache_key_race.py [--rounds 12]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.engine.helpers import run_or_copy_steps  # noqa: E402

CONTEXT_FILE = {"base": "file.txt", "svc": "svc.txt"}
VARIANTS = {
    "image": (
        "FROM debian:bookworm-slim\nRUN echo one > /one\nCOPY file.txt /file.txt\n",
        "FROM base\nRUN echo three > /three\nRUN echo four > /four\n",
    ),
    "scratch": ("FROM scratch\nCOPY file.txt /file.txt\n", "FROM base\nCOPY svc.txt /svc.txt\n"),
}
BAKE_FILE = """
target "base" {
  context    = "base"
  cache-from = ["type=local,src=.cache/base"]
  cache-to   = ["type=local,dest=.cache/base,mode=max"]
  output     = ["type=cacheonly"]
}
target "svc" {
  context    = "svc"
  contexts   = { base = "target:base" }
  cache-from = ["type=local,src=.cache/svc", "type=local,src=.cache/base"]
  cache-to   = ["type=local,dest=.cache/svc,mode=max"]
  output     = ["type=cacheonly"]
}
"""


def _project(root: Path, base: str, svc: str) -> None:
    for name, dockerfile in (("base", base), ("svc", svc)):
        (root / name).mkdir()
        (root / name / "Dockerfile").write_text(dockerfile)
        (root / name / CONTEXT_FILE[name]).write_text(f"{name}\n")
    (root / "docker-bake.hcl").write_text(BAKE_FILE)


def _sh(root: Path, *argv: str) -> str:
    proc = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr[-2000:]}")
    return proc.stderr


def _bake(root: Path) -> dict[str, bool]:
    stderr = _sh(root, "docker", "buildx", "bake", "base", "svc", "--progress=rawjson")
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return run_or_copy_steps(events)


def _fresh_engine(root: Path, exported: Path) -> None:
    shutil.rmtree(root / ".cache", ignore_errors=True)
    shutil.copytree(exported, root / ".cache")
    _sh(root, "docker", "buildx", "prune", "--all", "--force")


def _variant(root: Path, rounds: int) -> int:
    """The rounds in which every step of svc's came back CACHED."""
    _sh(root, "docker", "buildx", "prune", "--all", "--force")
    _bake(root)
    exported = root / "exported"
    shutil.copytree(root / ".cache", exported)
    whole = 0
    for _ in range(rounds):
        _fresh_engine(root, exported)
        steps = _bake(root)
        whole += all(cached for name, cached in steps.items() if name.startswith("[svc "))
    return whole


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    print("| base starts | imports after a prune | every step of svc CACHED |")
    print("| --- | ---: | ---: |")
    for variant, (base, svc) in VARIANTS.items():
        with tempfile.TemporaryDirectory(prefix="cache-key-race-") as scratch:
            root = Path(scratch)
            _project(root, base, svc)
            whole = _variant(root, args.rounds)
            print(f"| {variant} | {args.rounds} | {whole} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
