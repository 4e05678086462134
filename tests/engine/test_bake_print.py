"""The committed bake file, as real `docker buildx bake --print` resolves it."""

from __future__ import annotations

import json

import pytest

from generator.paths import base_image
from generator.resolve import Resolved, service_bases
from tests.engine.helpers import run

pytestmark = pytest.mark.usefixtures("buildx")

EDITIONS = ("simple", "community", "enterprise")


def printed(edition: str, env: dict[str, str] | None = None) -> dict:
    """`docker buildx bake --print EDITION` on the committed docker-bake.hcl."""
    return json.loads(run("docker", "buildx", "bake", "--print", edition, env=env).stdout)


@pytest.mark.parametrize("edition", EDITIONS)
def test_edition_group_lists_its_services(resolved: Resolved, edition: str) -> None:
    """The group holds exactly the services the specs give the edition (extends applied)."""
    out = printed(edition)
    assert out["group"][edition]["targets"] == list(resolved.editions[edition].services)


@pytest.mark.parametrize("edition", EDITIONS)
def test_services_reach_their_bases_through_target_contexts(
    resolved: Resolved, edition: str
) -> None:
    """Each service names its builder and runtime base as `target:` contexts, and bake
    resolves those base targets too."""
    out = printed(edition)
    project = resolved.project
    for service in resolved.editions[edition].services:
        expected = {base_image(project, b): f"target:{b}" for b in service_bases(project, service)}
        assert out["target"][service]["contexts"] == expected
    assert set(resolved.editions[edition].bases) <= set(out["target"])


def test_enterprise_resolves_its_services_and_their_bases(resolved: Resolved) -> None:
    """Every service of the edition is a target of its group, plus every base they need."""
    out = printed("enterprise")
    services = out["group"]["enterprise"]["targets"]
    edition = resolved.editions["enterprise"]
    assert sorted(services) == sorted(edition.services)
    assert set(out["target"]) == set(services) | set(edition.bases)


def test_tags_follow_registry_and_version_variables(resolved: Resolved) -> None:
    """REGISTRY and VERSION from the environment override the spec defaults, as bake allows."""
    settings = resolved.project.settings
    default = printed("simple")["target"]["sutra-api"]["tags"]
    assert default == [f"{settings.registry}/sutra-api:{settings.version}"]
    env = {"REGISTRY": "localhost:5000/acme", "VERSION": "9.9.9"}
    assert printed("simple", env)["target"]["sutra-api"]["tags"] == [
        "localhost:5000/acme/sutra-api:9.9.9"
    ]


def test_default_group_is_the_default_edition(resolved: Resolved) -> None:
    """A plain `docker buildx bake` builds the spec's default edition."""
    out = printed("default")
    assert out["group"]["default"]["targets"] == [resolved.project.settings.default_edition]


def test_labels_platforms_and_secrets(resolved: Resolved) -> None:
    """OCI labels and platforms come from the spec; secrets only when asked for."""
    target = printed("simple", {"CA_BUNDLE": "", "PIP_INDEX_URL": ""})["target"]["sutra-storage"]
    labels = target["labels"]
    assert labels["org.opencontainers.image.title"] == "sutra-storage"
    assert labels["org.opencontainers.image.source"] == resolved.project.settings.source
    assert labels["org.opencontainers.image.created"]
    assert "platforms" not in target, "an empty PLATFORMS builds for the builder's own platform"
    assert "secret" not in target
    env = {"CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt", "PIP_INDEX_URL": "https://u:p@x/"}
    secured = printed("simple", env)["target"]["sutra-storage"]
    assert secured["secret"] == [
        {"id": "ca_bundle", "src": "/etc/ssl/certs/ca-certificates.crt"},
        {"id": "pip_index_url", "env": "PIP_INDEX_URL"},
    ]
    assert "u:p" not in json.dumps(secured)


def test_platforms_variable_sets_every_target(resolved: Resolved) -> None:
    """PLATFORMS=a,b (what --all-platforms passes) reaches every target, bases included."""
    release = ",".join(resolved.project.settings.platforms)
    out = printed("enterprise", {"PLATFORMS": release})
    assert {tuple(t["platforms"]) for t in out["target"].values()} == {
        resolved.project.settings.platforms
    }
