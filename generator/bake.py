"""Run `docker buildx bake` on the generated file: argument lists, no shell, live output."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from generator import cache, mirror, progress
from generator.errors import BuildFailed, ToolMissing, UsageError
from generator.paths import BAKE_FILE

ENGINE_HINT = "install Docker Engine with the buildx plugin, or run `make engine` on Debian"


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
    cache: str | None = None
    extra: tuple[str, ...] = ()
    # Bake variables (REGISTRY, VERSION, ...) set for this run, over the environment's.
    variables: tuple[tuple[str, str], ...] = ()
    # BASE_MIRROR for this bake (generator/mirror.py); None keeps the environment's or the spec's.
    mirror: str | None = None


def require_buildx() -> None:
    """Raise ToolMissing unless `docker` and its buildx plugin answer."""
    _probe_buildx(os.environ.get("PATH", ""))


# Once per process and PATH: a bake asks before rendering and before each buildx run, and
# each probe costs a docker process (about 0.2 s). A failed probe is not cached.
@functools.cache
def _probe_buildx(path: str) -> None:
    if shutil.which("docker", path=path) is None:
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
    """The environment buildx runs with: REVISION and CREATED from git, CA_BUNDLE from
    --ca-bundle."""
    env = {**base, **dict(options.variables)}
    if not env.get("REVISION"):
        env["REVISION"] = _git(root, "rev-parse", "HEAD")
    # The commit time goes in the created label only. SOURCE_DATE_EPOCH stays the bake
    # file's constant: BuildKit makes it part of the cache key of every WORKDIR and COPY,
    # so the commit time there would rebuild nearly every step after each commit.
    if not env.get("CREATED"):
        env["CREATED"] = _git(root, "log", "-1", "--format=%cI")
    if options.mirror:
        env[mirror.VARIABLE] = mirror.check_mirror(options.mirror)
    if options.cache:
        # A bake variable: the bake file's cache_from/cache_to read it for every target.
        env[cache.ENV_VAR] = options.cache
    bundle = options.ca_bundle or env.get("CA_BUNDLE")
    if bundle:
        if not Path(bundle).is_file():
            raise UsageError(f"CA bundle {bundle}: no such file")
        env["CA_BUNDLE"] = str(Path(bundle).resolve())
    return env


@dataclass(frozen=True)
class BakeRun:
    """What one buildx bake reported: its rawjson events (none when the user chose a human
    progress mode), its metadata file, and whether it succeeded."""

    edition: str
    events: tuple[progress.Event, ...]
    metadata: Mapping[str, Any]
    ok: bool


def _option_value(extra: tuple[str, ...], flag: str) -> str | None:
    """The value of `--flag=v` or `--flag v` among the pass-through arguments."""
    for i, arg in enumerate(extra):
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
        if arg == flag and i + 1 < len(extra):
            return extra[i + 1]
    return None


def _read_metadata(path: Path) -> Mapping[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _run(
    command: list[str], root: Path, env: dict[str, str], raw: bool | None
) -> tuple[int, progress.Followed]:
    """Run buildx. raw=None: the user's own progress mode (a terminal keeps buildx's display);
    else rawjson is read and shown a line per step (or echoed as is when raw)."""
    human_on_tty = raw is None and sys.stderr.isatty()
    stderr = None if human_on_tty else subprocess.PIPE
    proc = subprocess.Popen(command, cwd=root, env=env, stderr=stderr, text=True)
    followed = progress.follow(proc.stderr or (), sys.stderr, raw=bool(raw))
    return proc.wait(), followed


def run_bake(
    root: Path,
    edition: str,
    options: BakeOptions,
    *more: str,
    observe: Callable[[BakeRun], None] | None = None,
) -> BakeRun:
    """Run buildx bake, showing its progress; raise BuildFailed naming the failing targets.

    `observe` sees the run (events and metadata) before a failure is raised.
    """
    require_buildx()
    env = bake_environment(root, options, os.environ)
    chosen = _option_value(options.extra, "--progress")
    with tempfile.TemporaryDirectory(prefix="sutrabuild-") as scratch:
        extra = list(options.extra)
        if chosen is None:
            extra.append("--progress=rawjson")
        metadata = _option_value(options.extra, "--metadata-file")
        if metadata is None and chosen in (None, "rawjson"):
            metadata = str(Path(scratch) / "metadata.json")
            extra += ["--metadata-file", metadata]
        command = bake_command(
            edition, replace(options, extra=tuple(extra)), env.get("CA_BUNDLE"), *more
        )
        raw = None if chosen not in (None, "rawjson") else chosen == "rawjson"
        code, followed = _run(command, root, env, raw)
        written = _read_metadata(root / metadata) if metadata else {}
        run = BakeRun(edition, tuple(followed.events), written, code == 0)
    if observe is not None:
        observe(run)
    if code != 0:
        named = f"; failed target(s): {', '.join(followed.failed)}" if followed.failed else ""
        raise BuildFailed(f"docker buildx bake {edition} failed (exit {code}){named}")
    return run


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
