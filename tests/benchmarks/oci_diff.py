"""Compare two OCI image tarballs (BuildKit's `type=oci` output), diffoci-style.

    python tests/benchmarks/oci_diff.py A.tar B.tar

Prints the image manifest digest of each and, when they differ, what differs: the config
fields, then layer by layer the files whose content, mode, owner, mtime or link differ (and
the files only one side has). Exits 0 when the manifests are identical, 1 otherwise.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
Entry = tuple[str, ...]


class OciImage:
    """One single-platform image inside an OCI layout tarball."""

    def __init__(self, path: Path) -> None:
        self.tar = tarfile.open(path)  # noqa: SIM115 (kept open for the image's life)
        self.manifest_digest = self._manifest_digest()
        self.manifest = self.blob_json(self.manifest_digest)
        self.config = self.blob_json(self.manifest["config"]["digest"])

    def blob(self, digest: str) -> bytes:
        member = self.tar.extractfile("blobs/" + digest.replace(":", "/"))
        assert member is not None, digest
        return member.read()

    def blob_json(self, digest: str) -> Any:
        return json.loads(self.blob(digest))

    def _manifest_digest(self) -> str:
        """The first image manifest, descending through indexes (attestations are skipped)."""
        index = json.loads(self.tar.extractfile("index.json").read())  # type: ignore[union-attr]
        while True:
            entries = [m for m in index["manifests"] if not _is_attestation(m)]
            first = entries[0]
            if first["mediaType"] in MANIFEST_TYPES:
                return str(first["digest"])
            index = self.blob_json(first["digest"])

    def layers(self) -> list[str]:
        return [layer["digest"] for layer in self.manifest["layers"]]

    def layer_entries(self, digest: str) -> dict[str, Entry]:
        data = self.blob(digest)
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        with tarfile.open(fileobj=io.BytesIO(data)) as layer:
            return {m.name: _entry(layer, m) for m in layer.getmembers()}


def _is_attestation(descriptor: dict[str, Any]) -> bool:
    annotations = descriptor.get("annotations", {})
    return annotations.get("vnd.docker.reference.type") == "attestation-manifest"


def _entry(layer: tarfile.TarFile, member: tarfile.TarInfo) -> Entry:
    content = ""
    if member.isfile():
        handle = layer.extractfile(member)
        content = hashlib.sha256(handle.read() if handle else b"").hexdigest()[:16]
    pax = ",".join(f"{k}={v}" for k, v in sorted(member.pax_headers.items()))
    return (
        f"mode={member.mode:o}",
        f"owner={member.uid}:{member.gid}",
        f"mtime={member.mtime}",
        f"size={member.size}",
        f"sha={content}",
        f"link={member.linkname}",
        f"pax={pax}",
    )


def config_differences(a: dict[str, Any], b: dict[str, Any]) -> Iterator[str]:
    for key in sorted({*a, *b}):
        if a.get(key) != b.get(key):
            yield f"config {key}: {json.dumps(a.get(key))[:300]} != {json.dumps(b.get(key))[:300]}"


def layer_differences(a: OciImage, b: OciImage) -> Iterator[str]:
    left, right = a.layers(), b.layers()
    if len(left) != len(right):
        yield f"layer count {len(left)} != {len(right)}"
    for number, (one, two) in enumerate(zip(left, right, strict=False), start=1):
        if one == two:
            continue
        yield f"layer {number}: {one} != {two}"
        files_a, files_b = a.layer_entries(one), b.layer_entries(two)
        for name in sorted({*files_a, *files_b}):
            fa, fb = files_a.get(name), files_b.get(name)
            if fa != fb:
                yield f"  {name}: {_entry_difference(fa, fb)}"


def _entry_difference(a: Entry | None, b: Entry | None) -> str:
    if a is None or b is None:
        return "only in A" if a else "only in B"
    return "; ".join(f"{x} -> {y}" for x, y in zip(a, b, strict=True) if x != y)


def differences(a: OciImage, b: OciImage) -> list[str]:
    if a.manifest_digest == b.manifest_digest:
        return []
    return [*config_differences(a.config, b.config), *layer_differences(a, b)]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    a, b = (OciImage(Path(p)) for p in argv)
    print(f"A {a.manifest_digest}\nB {b.manifest_digest}")
    found = differences(a, b)
    print("\n".join(found) if found else "identical")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
