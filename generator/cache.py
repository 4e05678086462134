"""Build cache backends: which one a target uses, and what that means for bake.

The spec picks a backend for the project (`project.cache`, default `registry`) and may override
it per base or service (`cache:`). The environment wins over both: `CACHE_BACKEND` (a bake
variable, so plain `docker buildx bake` honours it too) or `sutrabuild bake --cache`. The
cache-from/cache-to entries themselves are spelled out by the bake file's `cache_from` /
`cache_to` functions, so a bake run without sutrabuild behaves the same; this module only
names the backends and picks one per target.
"""

from __future__ import annotations

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
