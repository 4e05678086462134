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
The `image` graph is also tried with the other ways of choosing what each target imports.

Usage: .venv/bin/python tests/benchmarks/cache_key_race.py [--rounds 16]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.benchmarks.cache_survival import prune, sh, steps  # noqa: E402

CONTEXT_FILE = {"base": "file.txt", "svc": "svc.txt"}
VARIANTS = {
    "image": (
        "FROM debian:bookworm-slim\nRUN echo one > /one\nCOPY file.txt /file.txt\n",
        "FROM base\nRUN echo three > /three\nRUN echo four > /four\n",
    ),
    "scratch": ("FROM scratch\nCOPY file.txt /file.txt\n", "FROM base\nCOPY svc.txt /svc.txt\n"),
}
# What each target imports: sutrabuild's layout (its own cache, then its bases'), each only
# its own, or every target every cache.
IMPORTS = {
    "own + base's": {"base": ("base",), "svc": ("svc", "base")},
    "own only": {"base": ("base",), "svc": ("svc",)},
    "every cache": {"base": ("svc", "base"), "svc": ("svc", "base")},
}
ROWS = (("image", "own + base's"), ("image", "own only"), ("image", "every cache"))
ROWS += (("scratch", "own + base's"),)
TARGET = """
target "{name}" {{
  context    = "{name}"
  contexts   = {{ {contexts} }}
  cache-from = [{cache_from}]
  cache-to   = ["type=local,dest=.cache/{name},mode=max"]
  output     = ["type=cacheonly"]
}}
"""


def _bake_file(imports: dict[str, tuple[str, ...]]) -> str:
    blocks = []
    for name, caches in imports.items():
        contexts = 'base = "target:base"' if name == "svc" else ""
        cache_from = ", ".join(f'"type=local,src=.cache/{c}"' for c in caches)
        blocks.append(TARGET.format(name=name, contexts=contexts, cache_from=cache_from))
    return "".join(blocks)


def _project(root: Path, variant: str, imports: dict[str, tuple[str, ...]]) -> None:
    base, svc = VARIANTS[variant]
    for name, dockerfile in (("base", base), ("svc", svc)):
        (root / name).mkdir()
        (root / name / "Dockerfile").write_text(dockerfile)
        (root / name / CONTEXT_FILE[name]).write_text(f"{name}\n")
    (root / "docker-bake.hcl").write_text(_bake_file(imports))


def _bake(root: Path) -> dict[str, bool]:
    return steps(sh("docker", "buildx", "bake", "base", "svc", "--progress=rawjson", cwd=root))


def _fresh_engine(root: Path, exported: Path) -> None:
    shutil.rmtree(root / ".cache", ignore_errors=True)
    shutil.copytree(exported, root / ".cache")
    prune()


def _variant(root: Path, rounds: int) -> int:
    """The rounds in which every step of svc's came back CACHED."""
    prune()
    _bake(root)
    exported = root / "exported"
    shutil.copytree(root / ".cache", exported)
    own = sum(line.startswith(("RUN ", "COPY ")) for line in (root / "svc/Dockerfile").open())
    whole = 0
    for _ in range(rounds):
        _fresh_engine(root, exported)
        seen = {n: c for n, c in _bake(root).items() if n.startswith("[svc ")}
        if len(seen) < own:
            raise SystemExit(f"saw {len(seen)} of svc's {own} RUN/COPY steps: {sorted(seen)}")
        whole += all(seen.values())
    return whole


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=16)
    args = parser.parse_args()
    print("| base starts | each target imports | imports after a prune | svc wholly CACHED |")
    print("| --- | --- | ---: | ---: |")
    for variant, layout in ROWS:
        with tempfile.TemporaryDirectory(prefix="cache-key-race-") as scratch:
            root = Path(scratch)
            _project(root, variant, IMPORTS[layout])
            whole = _variant(root, args.rounds)
            print(f"| {variant} | {layout} | {args.rounds} | {whole} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
