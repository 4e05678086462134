"""The CLI's own cost (`make bench`): `sutrabuild check`, `render` and `list` as whole
processes on the real specs with nothing to change; a script, not a pytest module.

Target: a median of at most 0.3 s each. Prints the figures and names a missed target; exits 1
for a miss only with --strict (a shared CI machine is noisy).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMMANDS = ("check", "render", "list")
LIMIT_S = 0.3


def sutrabuild() -> str:
    """This checkout's sutrabuild, as `make` puts it first on PATH."""
    local = REPO / ".venv/bin/sutrabuild"
    return str(local) if local.exists() else (shutil.which("sutrabuild") or "sutrabuild")


def timed(*argv: str) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - start


def cpu(*argv: str) -> float:
    """The child's CPU seconds (user + system): steadier than wall time on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, cwd=REPO, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def baseline(runs: int) -> None:
    """What no sutrabuild code can save: the interpreter's own start, for comparison."""
    python = str(Path(sutrabuild()).with_name("python"))
    walls = sorted(timed(python, "-c", "pass") for _ in range(runs))
    print(f"python -c pass (floor): median {statistics.median(walls):.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each command")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    exe = sutrabuild()
    timed(exe, "check")  # the first run fills the template cache
    missed = []
    for command in COMMANDS:
        runs = sorted(timed(exe, command) for _ in range(args.runs))
        cpus = sorted(cpu(exe, command) for _ in range(args.runs))
        median = statistics.median(runs)
        print(
            f"sutrabuild {command}: median {median:.3f} s, min {runs[0]:.3f} s, "
            f"CPU median {statistics.median(cpus):.3f} s ({args.runs} runs)"
        )
        if median > LIMIT_S:
            missed.append(f"sutrabuild {command} {median:.3f} s > {LIMIT_S} s")
    baseline(args.runs)
    for line in missed:
        print(f"MISSED: {line}", file=sys.stderr)
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
