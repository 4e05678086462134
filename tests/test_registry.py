"""registry.py: reading an index as imagetools prints it, refs, and the calls it makes."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from generator import registry
from generator.errors import BuildFailed
from tests.conftest import FakeDocker

AMD, ARM, ATT = "sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64
INDEX = {
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "digest": "sha256:" + "1" * 64,
    "manifests": [
        {"digest": AMD, "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": ARM, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {
            "digest": ATT,
            "platform": {"os": "unknown", "architecture": "unknown"},
            "annotations": {registry.ATTESTATION_TYPE: "attestation-manifest"},
        },
    ],
}
INSPECT = ["buildx", "imagetools", "inspect", "--format", "{{json .Manifest}}"]


@pytest.mark.parametrize(
    ("ref", "repo"),
    [
        ("localhost:5000/acme/api:1.0", "localhost:5000/acme/api"),
        ("localhost:5000/acme/api", "localhost:5000/acme/api"),
        ("ghcr.io/a/b@sha256:abc", "ghcr.io/a/b"),
        ("api:1.0-rc.abc1234", "api"),
    ],
)
def test_repository_drops_tag_and_digest_but_not_the_port(ref: str, repo: str) -> None:
    assert registry.repository(ref) == repo


def test_pinned_is_the_digest_in_the_same_repository() -> None:
    assert registry.pinned("localhost:5000/a/api:1.0", AMD) == f"localhost:5000/a/api@{AMD}"


def test_parse_index_keeps_platforms_and_skips_attestations() -> None:
    index = registry.parse_index("r/api:1", INDEX)
    assert index.digest == INDEX["digest"]
    assert index.platforms == (("linux/amd64", AMD), ("linux/arm64/v8", ARM))
    assert index.manifest("linux/amd64") == AMD
    assert index.manifest("linux/s390x") is None


def test_a_single_manifest_has_no_platforms() -> None:
    index = registry.parse_index("r/api:1", {"digest": AMD, "mediaType": "manifest"})
    assert index.platforms == ()


def test_inspect_reads_the_index(fake_docker: Callable[..., FakeDocker]) -> None:
    fake = fake_docker(([*INSPECT, "r/api:1"], 0, json.dumps(INDEX), ""))
    index = registry.inspect("r/api:1")
    assert index is not None and index.digest == INDEX["digest"]
    assert fake.argv() == [[*INSPECT, "r/api:1"]]


def test_inspect_of_a_missing_tag_is_none(fake_docker: Callable[..., FakeDocker]) -> None:
    fake_docker((INSPECT, 1, "", "ERROR: r/api:nope: not found\n"))
    assert registry.inspect("r/api:nope") is None


def test_inspect_that_cannot_reach_the_registry_raises(
    fake_docker: Callable[..., FakeDocker],
) -> None:
    fake_docker((INSPECT, 1, "", "ERROR: dial tcp 127.0.0.1:5000: connection refused\n"))
    with pytest.raises(BuildFailed, match="connection refused"):
        registry.inspect("r/api:1")


def test_point_creates_the_tag_from_the_pinned_digest(
    fake_docker: Callable[..., FakeDocker],
) -> None:
    fake = fake_docker()
    registry.point("r/api:latest", "r/api:1.0-rc.x", AMD)
    assert fake.argv() == [
        ["buildx", "imagetools", "create", "--tag", "r/api:latest", f"r/api@{AMD}"]
    ]
