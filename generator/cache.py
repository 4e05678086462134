"""Build cache backends: which one a target uses, and what that means for bake.

The spec picks a backend for the project (`project.cache`, default `registry`) and may override
it per base or service (`cache:`). The environment wins over both: `CACHE_BACKEND` (a bake
variable, so plain `docker buildx bake` honours it too) or `sutrabuild bake --cache`. The
cache-from/cache-to entries themselves are spelled out by the bake file's `cache_from` /
`cache_to` functions, so a bake run without sutrabuild behaves the same.
"""

from __future__ import annotations

from generator.errors import UsageError

REGISTRY = "registry"
LOCAL = "local"
GHA = "gha"
NONE = "none"
BACKENDS = (REGISTRY, LOCAL, GHA, NONE)
ENV_VAR = "CACHE_BACKEND"
# Inside the project: bake's filesystem entitlements refuse a cache-to path outside it without
# --allow=fs.write. Gitignored (.gitignore lists .cache/).
LOCAL_DIR = ".cache/buildx"


def target_backend(project_default: str, override: str | None) -> str:
    """The backend the spec chose for one target: its own `cache:`, else the project's."""
    return override or project_default


def checked(backend: str) -> str:
    """A backend named on the command line or in the environment, refused if unknown."""
    if backend not in BACKENDS:
        raise UsageError(f"unknown cache backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    return backend


def cache_from(backend: str, image: str, cache_registry: str = "") -> tuple[str, ...]:
    """The cache-from entries bake computes for an image (mirrors the bake file's function;
    used by tests and by the report of what a bake will import)."""
    entries = _entries(backend, image, cache_registry)
    return (entries[0],) if entries else ()


def cache_to(backend: str, image: str, cache_registry: str = "") -> tuple[str, ...]:
    """The cache-to entries bake computes for an image (mode=max: every stage's layers)."""
    entries = _entries(backend, image, cache_registry)
    return (entries[1],) if entries else ()


def _entries(backend: str, image: str, cache_registry: str) -> tuple[str, str] | None:
    if backend == REGISTRY and cache_registry:
        ref = f"type=registry,ref={cache_registry}/{image}:buildcache"
        return ref, ref + ",mode=max"
    if backend == LOCAL:
        path = f"{LOCAL_DIR}/{image}"
        return f"type=local,src={path}", f"type=local,dest={path},mode=max"
    if backend == GHA:
        return f"type=gha,scope={image}", f"type=gha,scope={image},mode=max"
    return None
