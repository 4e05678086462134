"""sutrabuild's own on-disk cache (never the build cache): compiled templates, so a command
that renders pays for Jinja2's compiler only when a template changed, and stamps of spec sets
already found valid, so an unchanged tree is not validated (nor jsonschema imported) again.

Where: $SUTRABUILD_CACHE, else $XDG_CACHE_HOME/sutrabuild, else ~/.cache/sutrabuild. Every
entry is keyed by the content it was made from, so a stale entry is never used, and deleting
the folder is always safe. When no folder can be written, nothing is cached.
"""

from __future__ import annotations

import os
from pathlib import Path

import jinja2

DISABLE = "off"


def cache_dir() -> Path | None:
    """The cache folder, created on first use; None when caching is off or impossible."""
    chosen = os.environ.get("SUTRABUILD_CACHE")
    if chosen == DISABLE:
        return None
    if chosen:
        root = Path(chosen)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = Path(xdg) / "sutrabuild"
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return root if os.access(root, os.W_OK) else None


def template_bytecode() -> jinja2.BytecodeCache | None:
    """Jinja2's own bytecode cache; it checks each template's source checksum before use."""
    root = cache_dir()
    if root is None:
        return None
    folder = root / f"jinja2-{jinja2.__version__}"
    try:
        folder.mkdir(exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


def stamp(kind: str, key: str) -> Path | None:
    """Where the stamp of `key` lives (it may not exist yet); None when nothing is cached."""
    root = cache_dir()
    return None if root is None else root / kind / key


def touch(path: Path) -> None:
    """Leave a stamp; a cache that cannot be written is no error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        pass
