"""What a registry holds, through `docker buildx imagetools` (inspect, create): no registry
client of our own, so credentials and TLS settings are the ones docker already uses."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from generator import engine
from generator.errors import BuildFailed

# An attestation manifest (provenance, SBOM) sits in the index as platform unknown/unknown.
ATTESTATION_TYPE = "vnd.docker.reference.type"
# imagetools answers this when a tag does not exist (registry:2 and the OCI distribution spec).
_NOT_FOUND = ("not found", "manifest unknown", "name unknown")


@dataclass(frozen=True)
class Index:
    """A pushed tag: its own digest and the image manifest of each platform."""

    ref: str
    digest: str
    platforms: tuple[tuple[str, str], ...]  # (platform, manifest digest), in index order

    def manifest(self, platform: str) -> str | None:
        """The digest of one platform's image manifest, or None when it is not in the index."""
        return dict(self.platforms).get(platform)


def repository(ref: str) -> str:
    """localhost:5000/acme/api:1.0 -> localhost:5000/acme/api (a port is not a tag)."""
    name = ref.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def pinned(ref: str, digest: str) -> str:
    """The reference of one digest in the repository of ref: repo@sha256:..."""
    return f"{repository(ref)}@{digest}"


def platform_of(entry: Mapping[str, Any]) -> str | None:
    """linux/arm64/v8 style name of an index entry; None for attestations."""
    if ATTESTATION_TYPE in (entry.get("annotations") or {}):
        return None
    plat = entry.get("platform") or {}
    parts = [plat.get("os"), plat.get("architecture"), plat.get("variant")]
    return "/".join(p for p in parts if p) or None


def parse_index(ref: str, manifest: Mapping[str, Any]) -> Index:
    """An Index from what `imagetools inspect --format '{{json .Manifest}}'` prints."""
    entries = manifest.get("manifests") or []
    found = ((platform_of(e), str(e["digest"])) for e in entries)
    return Index(ref, str(manifest["digest"]), tuple((p, d) for p, d in found if p))


def inspect(ref: str) -> Index | None:
    """The index a tag points at, or None when the tag does not exist."""
    proc = engine.docker(
        "buildx", "imagetools", "inspect", "--format", "{{json .Manifest}}", ref, check=False
    )
    if proc.returncode != 0:
        if any(marker in proc.stderr.lower() for marker in _NOT_FOUND):
            return None
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BuildFailed(f"imagetools inspect {ref} failed: {last}")
    return parse_index(ref, json.loads(proc.stdout))


def point(tag: str, source: str, digest: str) -> None:
    """Make `tag` point at `digest` (of source's repository): the same index, not a copy."""
    engine.docker("buildx", "imagetools", "create", "--tag", tag, pinned(source, digest))


def merge(tag: str, sources: Iterable[str], annotations: Iterable[str] = ()) -> None:
    """Make `tag` one index of every manifest the sources hold (each source pinned by digest):
    how per-platform CI jobs become one multi-platform image. Index annotations stick only to
    an OCI index, which provenance attestations make; a Docker manifest list drops them."""
    notes = [arg for note in annotations for arg in ("--annotation", note)]
    engine.docker("buildx", "imagetools", "create", "--tag", tag, *notes, *sources)
