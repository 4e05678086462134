"""Run `docker buildx bake` on the generated file: argument lists, no shell, live output."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from generator import mirror
from generator.errors import BuildFailed, ToolMissing, UsageError
from generator.plan import BAKE_FILE

ENGINE_HINT = "install Docker Engine with the buildx plugin, or run `make engine` on Debian"
# buildx names the failing target in its final error: `ERROR: target sutra-api: failed to solve`.
FAILED_TARGET = re.compile(r"target ([A-Za-z0-9_.-]+): failed to solve")


@dataclass(frozen=True)
class BakeOptions:
    """What `sutrabuild bake` passes on to buildx."""

    push: bool = False
    load: bool = False
    print_only: bool = False
    platforms: tuple[str, ...] = ()
    all_platforms: bool = False
    sets: tuple[str, ...] = ()
    builder: str | None = None
    ca_bundle: str | None = None
    extra: tuple[str, ...] = ()
    # BASE_MIRROR for this bake (generator/mirror.py); None keeps the environment's or the spec's.
    mirror: str | None = None


def require_buildx() -> None:
    """Raise ToolMissing unless `docker` and its buildx plugin answer."""
    if shutil.which("docker") is None:
        raise ToolMissing(f"docker not found on PATH: {ENGINE_HINT}")
    probe = subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False)
    if probe.returncode != 0:
        raise ToolMissing(f"`docker buildx` is not available: {ENGINE_HINT}")


def bake_command(
    edition: str, options: BakeOptions, ca_bundle: str | None = None, *more: str
) -> list[str]:
    """The buildx command line for an edition (and any more targets)."""
    cmd = ["docker", "buildx", "bake", "--file", BAKE_FILE]
    if ca_bundle:
        # buildx asks for an explicit grant to read a secret file outside the project.
        cmd.append(f"--allow=fs.read={ca_bundle}")
    if options.builder:
        cmd += ["--builder", options.builder]
    if options.platforms:
        cmd += ["--set", "*.platform=" + ",".join(options.platforms)]
    for item in options.sets:
        cmd += ["--set", item]
    flags = {"--push": options.push, "--load": options.load, "--print": options.print_only}
    cmd += [flag for flag, on in flags.items() if on]
    return [*cmd, *options.extra, edition, *more]


def _git(root: Path, *args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def bake_environment(root: Path, options: BakeOptions, base: Mapping[str, str]) -> dict[str, str]:
    """The environment buildx runs with: REVISION from git, CA_BUNDLE from --ca-bundle."""
    env = dict(base)
    if not env.get("REVISION"):
        env["REVISION"] = _git(root, "rev-parse", "HEAD")
    # The commit time, not the wall clock: rebuilding a commit gives the same labels.
    if not env.get("CREATED"):
        env["CREATED"] = _git(root, "log", "-1", "--format=%cI")
    if options.mirror:
        env[mirror.VARIABLE] = mirror.check_mirror(options.mirror)
    bundle = options.ca_bundle or env.get("CA_BUNDLE")
    if bundle:
        if not Path(bundle).is_file():
            raise UsageError(f"CA bundle {bundle}: no such file")
        env["CA_BUNDLE"] = str(Path(bundle).resolve())
    return env


def _stream(proc: subprocess.Popen[str]) -> list[str]:
    """Echo buildx's stderr as it comes and collect the targets it says failed."""
    failed: list[str] = []
    for line in proc.stderr or ():
        sys.stderr.write(line)
        failed += [m for m in FAILED_TARGET.findall(line) if m not in failed]
    return failed


def run_bake(root: Path, edition: str, options: BakeOptions, *more: str) -> None:
    """Run buildx bake with live output; raise BuildFailed naming the failing targets."""
    require_buildx()
    env = bake_environment(root, options, os.environ)
    command = bake_command(edition, options, env.get("CA_BUNDLE"), *more)
    # On a terminal buildx keeps its own live display and names failures itself; piped
    # (CI, logs) we read its lines to name the failing targets in our last line too.
    piped = None if sys.stderr.isatty() else subprocess.PIPE
    proc = subprocess.Popen(command, cwd=root, env=env, stderr=piped, text=True)
    failed = _stream(proc) if piped else []
    if proc.wait() != 0:
        named = f"; failed target(s): {', '.join(failed)}" if failed else ""
        raise BuildFailed(f"docker buildx bake {edition} failed (exit {proc.returncode}){named}")


# buildx before 0.33 evaluates a linked (`target:` context) base one platform after another.
# A service of a multi-platform bake can then run the base's second-platform steps before the
# base's own build has attached its session to them, and those steps run without the build
# secrets (docker/buildx commit 2adc53c, v0.33; fully fixed in 9ea5f15, on master only).
# Building the linked bases first, one platform per bake, makes their steps cache hits in the
# multi-platform bake, where no secret is needed any more.


def prebuild_options(options: BakeOptions, bases: tuple[str, ...]) -> list[BakeOptions]:
    """One single-platform, cache-only bake of the linked bases per platform (none if one)."""
    if len(options.platforms) < 2 or options.print_only or not bases:
        return []
    cache_only = tuple(f"{b}.output=type=cacheonly" for b in bases)
    return [
        replace(options, platforms=(p,), push=False, load=False, sets=options.sets + cache_only)
        for p in options.platforms
    ]


def after_prebuild(options: BakeOptions, bases: tuple[str, ...]) -> BakeOptions:
    """The multi-platform bake after the prebuild: `--no-cache` must not rerun the bases."""
    if "--no-cache" not in options.extra or not prebuild_options(options, bases):
        return options
    extra = tuple(a for a in options.extra if a != "--no-cache")
    sets = ("*.no-cache=true", *(f"{b}.no-cache=false" for b in bases))
    return replace(options, extra=extra, sets=options.sets + sets)
