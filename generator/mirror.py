"""Base-image mirror: every upstream base (a base's `from:`) read from another registry.

The committed Dockerfiles keep `FROM python:3.11-slim`. When BASE_MIRROR is set, the bake file
gives each base target a named context with the same name, `python:3.11-slim =
docker-image://${BASE_MIRROR}/python:3.11-slim`, and BuildKit resolves the FROM through it
(air-gapped builds, pull-through caches, Docker Hub rate limits). Empty: no context at all,
so a build without a mirror is exactly what it was.
"""

from __future__ import annotations

import re

from generator.errors import UsageError
from generator.model import Base, Project

VARIABLE = "BASE_MIRROR"
# A registry host (with optional port) and path, as the spec's `registry` accepts.
_MIRROR = re.compile(
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?::[0-9]{1,5})?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)


def upstream_images(base: Base) -> tuple[str, ...]:
    """The upstream images a base's Dockerfile starts FROM (its `from:`, if any)."""
    return (base.from_image,) if base.from_image else ()


def all_upstream_images(project: Project) -> tuple[str, ...]:
    """Every upstream image of the project, sorted: what a mirror must hold."""
    return tuple(sorted({i for b in project.bases.values() for i in upstream_images(b)}))


def mirrored_ref(mirror: str, image: str) -> str:
    """Where the mirror holds an upstream image: MIRROR/IMAGE, as the bake file writes it."""
    return f"{mirror}/{image}"


def check_mirror(value: str) -> str:
    """A --mirror value without a trailing slash; UsageError when it is no registry path."""
    mirror = value.strip().rstrip("/")
    if not _MIRROR.fullmatch(mirror):
        raise UsageError(
            f"--mirror {value!r}: not a registry/namespace (e.g. localhost:5000/mirror or "
            "mirror.example.com/dockerhub; no scheme, lowercase)"
        )
    return mirror
