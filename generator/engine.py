"""Thin, typed calls to the docker CLI (argument lists, never a shell) used by verify."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generator.bake import ENGINE_HINT, require_buildx
from generator.errors import BuildFailed, ToolMissing
from generator.paths import BAKE_FILE


def docker(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `docker ARGS`; raise BuildFailed with docker's own message when it fails."""
    try:
        proc = subprocess.run(
            ["docker", *args], capture_output=True, text=True, check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise BuildFailed(f"docker {args[0]} did not answer within {timeout:.0f}s") from None
    except FileNotFoundError:
        raise ToolMissing(f"docker not found on PATH: {ENGINE_HINT}") from None
    if check and proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BuildFailed(f"docker {args[0]} failed: {last}")
    return proc


def bake_print(root: Path, edition: str) -> Mapping[str, Any]:
    """What `docker buildx bake --print EDITION` resolves: groups and targets as bake sees them."""
    require_buildx()
    out = docker("buildx", "bake", "--file", str(root / BAKE_FILE), "--print", edition)
    printed: Mapping[str, Any] = json.loads(out.stdout)
    return printed


def _platform(platform: str | None) -> tuple[str, ...]:
    return ("--platform", platform) if platform else ()


def inspect_image(ref: str, platform: str | None = None) -> Mapping[str, Any] | None:
    """`docker image inspect` (of one platform), or None when the image is not in the engine."""
    proc = docker("image", "inspect", *_platform(platform), ref, check=False)
    if proc.returncode != 0:
        return None
    images: list[Mapping[str, Any]] = json.loads(proc.stdout)
    return images[0]


def run_as_root(image: str, script: str, platform: str | None = None) -> str:
    """Run a shell script in a throwaway container of `image` (one platform) as root; stdout."""
    root = ("--rm", "--user", "0", "--network", "none", "--entrypoint", "sh")
    return docker("run", *root, *_platform(platform), image, "-c", script).stdout


def health(container: str) -> str:
    """Docker's health status of a container: starting, healthy, unhealthy (or the state)."""
    proc = docker("inspect", "--format", "{{json .State}}", container, check=False)
    if proc.returncode != 0:
        return "gone"
    state: Mapping[str, Any] = json.loads(proc.stdout)
    if not state.get("Running"):
        return f"exited({state.get('ExitCode')})"
    status: str = state.get("Health", {}).get("Status", "no-healthcheck")
    return status


def image_sizes(ref: str) -> tuple[int | None, int | None]:
    """(compressed, unpacked) bytes of an image in the engine; None where unknown.

    Compressed is Docker's Size (the containerd store counts the content a pull downloads);
    unpacked is the sum of the layers' unpacked sizes (a file replaced in a later layer
    counts twice, so it is a little more than `verify`'s `du` of the running filesystem).
    """
    image = inspect_image(ref)
    if image is None:
        return None, None
    history = docker("history", "--human=false", "--format", "{{.Size}}", ref, check=False)
    sizes = history.stdout.split()
    unpacked = sum(int(s) for s in sizes) if history.returncode == 0 and sizes else None
    return int(image.get("Size") or 0) or None, unpacked
