"""Helpers for the real-engine tests: run commands, read buildx progress, look up images."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from generator import registry
from generator.bake import BakeOptions, bake_command

REPO = Path(__file__).resolve().parents[2]
# The generator under test, whatever `sutrabuild` on PATH may be.
SUTRABUILD = (sys.executable, "-m", "generator")
NATIVE = "linux/arm64" if platform.machine() in ("aarch64", "arm64") else "linux/amd64"


def run(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None, check: bool = True):
    """Run a command, capturing text output; fail the test with its output when it fails."""
    proc = subprocess.run(
        list(args), cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def oci_bake_command(
    services: Sequence[str], targets: Sequence[str], dest: Path, *flags: str
) -> list[str]:
    """Plain bake of TARGETS for the native platform, writing each of SERVICES as an OCI tar
    in DEST with BuildKit's rewrite-timestamp (the docker image store cannot take it): the
    build that reproducibility is judged on."""
    outputs = tuple(
        f"{s}.output=type=oci,dest={dest / s}.tar,rewrite-timestamp=true" for s in services
    )
    extra = (f"--allow=fs.write={dest}", "--progress=quiet", *flags)
    options = BakeOptions(platforms=(NATIVE,), sets=outputs, extra=extra)
    return bake_command(targets[0], options, os.environ.get("CA_BUNDLE"), *targets[1:])


def bake(
    *args: str,
    cwd: Path = REPO,
    env: dict[str, str] | None = None,
    check: bool = True,
    extra: tuple[str, ...] = (),
) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    """`sutrabuild bake ARGS -- --progress=rawjson EXTRA`: the process and its progress events."""
    command = [*SUTRABUILD, "bake", *args, "--", "--progress=rawjson", *extra]
    proc = run(*command, cwd=cwd, env=env, check=check)
    events = []
    for line in proc.stderr.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                events.append(json.loads(line))
    return proc, events


def vertices(events: list[dict]) -> dict[str, dict]:
    """Completed build steps by digest, merged across progress events."""
    merged: dict[str, dict] = {}
    for event in events:
        for vertex in event.get("vertexes") or []:
            merged.setdefault(vertex["digest"], {}).update(vertex)
    return merged


def image_id(ref: str) -> str | None:
    """The image ID a tag points at, or None."""
    proc = run("docker", "image", "inspect", "--format", "{{.Id}}", ref, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def image_content(ref: str) -> str | None:
    """What a tag runs: its layers and config (not the build's timestamps), or None."""
    fmt = "{{json .RootFS.Layers}} {{json .Config}}"
    proc = run("docker", "image", "inspect", "--format", fmt, ref, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def remove_local(prefix: str) -> None:
    """Drop what this run left in the shared engine: staging tags (the docker driver keeps
    what it pushes) and the images verify pulled by digest. The registry keeps its copies."""
    fmt = "{{.Repository}} {{.Tag}} {{.Digest}}"
    listing = run("docker", "image", "ls", "--digests", "--format", fmt, check=False).stdout
    refs = [
        f"{repo}:{tag}" if tag != "<none>" else f"{repo}@{digest}"
        for repo, tag, digest in (line.split() for line in listing.splitlines())
        if repo.startswith(prefix + "/")
    ]
    if refs:
        run("docker", "image", "rm", *refs, check=False)


# The steps that do work; FROM, WORKDIR and the like are not what a cache saves.
RUN_OR_COPY = re.compile(r"^\[[\w.-]+(?: [\w.-]+)? +\d+/\d+\] (RUN|COPY) ")


def run_or_copy_steps(events: list[dict]) -> dict[str, bool]:
    """Every RUN/COPY step of a bake and whether BuildKit reported it CACHED."""
    steps: dict[str, bool] = {}
    for vertex in vertices(events).values():
        if RUN_OR_COPY.match(vertex.get("name", "")):
            steps[vertex["name"]] = steps.get(vertex["name"], False) or bool(vertex.get("cached"))
    return steps


def pushed_platforms(ref: str) -> set[str]:
    """The platforms of the index a tag points at in its registry (attestations aside)."""
    index = registry.inspect(ref)
    assert index is not None, f"{ref}: no such tag"
    return {platform for platform, _ in index.platforms}
