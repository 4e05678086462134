"""Build secrets on a real engine: a configured secret reaches every fetch step or the build
stops naming it; without secrets, steps that need none still build."""

from __future__ import annotations

import subprocess

import pytest

from generator import commands
from tests.engine.helpers import NATIVE, REPO, run

pytestmark = pytest.mark.usefixtures("engine")

MISSING = "build secret '{}' is configured but did not reach this step"


def _fetching_base() -> str:
    """A base whose own Dockerfile fetches packages with the CA bundle (a pip install)."""
    project = commands.load(REPO).project
    for name in project.bases:
        if (
            "--mount=type=secret,id=ca_bundle"
            in (REPO / "dockerfiles" / f"{project.settings.name}-{name}.Dockerfile").read_text()
        ):
            return name
    pytest.fail("no base fetches with the CA bundle")


def _bake_without_secrets(target: str, *flags: str) -> subprocess.CompletedProcess[str]:
    """`docker buildx bake TARGET` for the native platform, cache only, with no secret given."""
    return run(
        "docker",
        "buildx",
        "bake",
        "--progress=plain",
        "--set",
        f"*.platform={NATIVE}",
        "--set",
        f"{target}.output=type=cacheonly",
        *flags,
        target,
        env={"CA_BUNDLE": "", "PIP_INDEX_URL": ""},
        check=False,
    )


@pytest.mark.parametrize("secret", ["ca_bundle", "pip_index_url"])
def test_a_configured_secret_that_does_not_arrive_stops_the_step_naming_it(secret: str) -> None:
    """What the buildx bug did silently (a secret mount that mounts nothing) fails loudly."""
    base = _fetching_base()
    # The bake file says the secret is configured, but no secret is given to buildx: exactly
    # what a step sees when buildx loses it on the way.
    required = f"{base}.args.{secret.upper()}_REQUIRED=true"
    proc = _bake_without_secrets(base, "--no-cache", "--set", required)
    assert proc.returncode != 0, proc.stderr[-2000:]
    assert MISSING.format(secret) in proc.stderr


def test_without_secrets_a_step_that_needs_none_still_builds() -> None:
    """CA_BUNDLE unset: the optional mounts stay optional (cargo fetch of a std-only crate)."""
    project = commands.load(REPO).project
    rust = next(
        name
        for name in project.services
        if "cargo fetch" in (REPO / "dockerfiles" / f"{name}.Dockerfile").read_text()
    )
    # no-cache for the service's own steps: a cached fetch step would prove nothing.
    proc = _bake_without_secrets(rust, "--set", f"{rust}.no-cache=true")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "cargo fetch --locked" in proc.stderr, "the fetch step was not part of the build"
