"""Issue-4 gates on a real engine: BuildKit build checks, no secret in any image, the policy."""

from __future__ import annotations

import gzip
import json
import secrets
import tarfile
from pathlib import Path

import pytest

from generator import commands, policy
from generator.paths import base_image
from generator.plan import plan
from generator.verify import image_facts
from tests.engine.helpers import NATIVE, REPO, bake, run

pytestmark = pytest.mark.usefixtures("engine")

NATIVE_FLAG = ("--platform", NATIVE)


@pytest.fixture(scope="module")
def base_tags() -> dict[str, str]:
    """Build and tag every base (`bake bases`); named context -> local image tag."""
    bake("bases", *NATIVE_FLAG)
    project = commands.load(REPO).project
    s = project.settings
    return {
        base_image(project, b): f"{s.registry}/{base_image(project, b)}:{s.version}"
        for b in project.bases
    }


def build_check(dockerfile: Path, context: Path, base_tags: dict[str, str]):
    """`docker buildx build --call=check`, each base context mapped to its local image."""
    args = ["docker", "buildx", "build", "--call=check", "--file", str(dockerfile)]
    for name, tag in sorted(base_tags.items()):
        args += ["--build-context", f"{name}=docker-image://{tag}"]
    return run(*args, str(context), check=False)


def _dockerfiles_with_contexts() -> list[tuple[str, Path, Path]]:
    """Every bake target's Dockerfile and context, from the plan (no docker at collection)."""
    targets = plan(commands.load(REPO)).bake.targets
    return [(t.name, REPO / t.context / t.dockerfile, REPO / t.context) for t in targets]


@pytest.mark.parametrize(
    ("name", "dockerfile", "context"),
    _dockerfiles_with_contexts(),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_buildkit_checks_report_nothing(
    name: str, dockerfile: Path, context: Path, base_tags: dict[str, str]
) -> None:
    """BuildKit's own rules (SecretsUsedInArgOrEnv, UndefinedVar, ...) find no warning."""
    proc = build_check(dockerfile, context, base_tags)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Check complete, no warnings found." in proc.stdout + proc.stderr


def test_buildkit_checks_catch_a_secret_in_an_arg(tmp_path: Path, base_tags) -> None:
    """The gate fails on a Dockerfile that passes a token as a build arg."""
    bad = tmp_path / "bad.Dockerfile"
    bad.write_text("FROM sutra-python-base\nARG API_TOKEN\nENV API_TOKEN=$API_TOKEN\n")
    proc = build_check(bad, tmp_path, base_tags)
    assert proc.returncode != 0
    assert "SecretsUsedInArgOrEnv" in proc.stdout + proc.stderr


def _blobs(archive: Path):
    """Every file of a `docker save` archive, gzip layers decompressed."""
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.isfile():
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                yield member.name, gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def leaks(image: str, marker: str, tmp_path: Path, extra: tuple[Path, ...] = ()) -> list[str]:
    """Where `marker` appears: config, history, any layer or blob (attestations too)."""
    found = []
    needle = marker.encode()
    if needle in run("docker", "image", "inspect", image).stdout.encode():
        found.append("image config")
    if needle in run("docker", "history", "--no-trunc", image).stdout.encode():
        found.append("history")
    archive = tmp_path / "image.tar"
    run("docker", "save", "--output", str(archive), image)
    found += [name for name, data in _blobs(archive) if needle in data]
    found += [str(path) for path in extra if needle in path.read_bytes()]
    return found


def _marked_bundle(tmp_path: Path, marker: str) -> Path:
    bundle = tmp_path / "ca-bundle.pem"
    system = Path("/etc/ssl/certs/ca-certificates.crt")
    bundle.write_text(system.read_text() + f"\n# {marker}\n")
    return bundle


def test_build_secret_never_lands_in_the_image(
    project_copy: Path, unique_version: str, tmp_path: Path
) -> None:
    """A CA bundle holding a random marker is used by pip in a fresh RUN, and found nowhere."""
    marker = f"sutra-secret-{secrets.token_hex(16)}"
    metadata = tmp_path / "metadata.json"
    env = {"VERSION": unique_version, "CA_BUNDLE": str(_marked_bundle(tmp_path, marker))}
    bake(
        "sutra-api",
        *NATIVE_FLAG,
        "--set",
        "sutra-api.no-cache-filter=deps",
        cwd=project_copy,
        env=env,
        extra=("--metadata-file", str(metadata)),
    )
    printed = json.loads(
        run("docker", "buildx", "bake", "--print", "sutra-api", cwd=project_copy, env=env).stdout
    )
    image = printed["target"]["sutra-api"]["tags"][0]
    assert leaks(image, marker, tmp_path, (metadata,)) == []


def test_leak_scanner_finds_a_secret_written_into_a_layer(tmp_path: Path, unique_version: str):
    """The scanner is not blind: a Dockerfile that copies the secret into a layer is caught."""
    marker = f"sutra-secret-{secrets.token_hex(16)}"
    (tmp_path / "secret.txt").write_text(marker)
    (tmp_path / "Dockerfile").write_text(
        "FROM debian:bookworm-slim\n"
        "RUN --mount=type=secret,id=token cp /run/secrets/token /leaked\n"
    )
    image = f"sutra-leak-probe:{unique_version}"
    # --no-cache: a secret's value is not part of the cache key, so a cached layer would hold
    # an earlier run's marker.
    run(
        "docker",
        "buildx",
        "build",
        "--no-cache",
        "--secret",
        f"id=token,src={tmp_path / 'secret.txt'}",
        "--tag",
        image,
        str(tmp_path),
    )
    try:
        assert leaks(image, marker, tmp_path) != []
    finally:
        run("docker", "image", "rm", "--force", image, check=False)


def test_policy_flags_a_root_image_with_shell_healthcheck_and_setuid(
    tmp_path: Path, unique_version: str
) -> None:
    """The runtime policy fails an image that breaks its rules, for each rule broken."""
    (tmp_path / "Dockerfile").write_text(
        "FROM debian:bookworm-slim\n"
        "RUN cp /bin/true /usr/local/bin/sneaky && chmod 4755 /usr/local/bin/sneaky "
        "&& mkdir -p /root/.cache/pip /var/lib/apt/lists "
        "&& touch /var/cache/apt/pkgcache.bin /var/lib/apt/lists/deb.debian.org_InRelease\n"
        "HEALTHCHECK CMD true\n"
        "USER root\n"
    )
    image = f"sutra-policy-probe:{unique_version}"
    run("docker", "buildx", "build", "--tag", image, str(tmp_path))
    try:
        facts = image_facts(image, "debian:bookworm-slim", 1, 0)
        found = policy.violations(facts)
    finally:
        run("docker", "image", "rm", "--force", image, check=False)
    assert "USER 'root' is not a numeric uid[:gid] (Kubernetes runAsNonRoot needs one)" in found
    assert "HEALTHCHECK is CMD-SHELL, not exec form (CMD [...])" in found
    assert "setuid/setgid file /usr/local/bin/sneaky not in the base image" in found
    assert "build cache /root/.cache present" in found
    assert "label org.opencontainers.image.source missing" in found
    assert "apt cache /var/cache/apt/pkgcache.bin present (clean up in the same RUN)" in found
    assert (
        "apt cache /var/lib/apt/lists/deb.debian.org_InRelease present (clean up in the same RUN)"
        in found
    )
    budget = [v for v in found if v.endswith("exceeds the budget of 1 MiB")]
    assert len(budget) == 1 and budget[0].startswith("unpacked size "), found
    # du inside the image sees the unpacked files; Docker's Size is the compressed content.
    assert facts.unpacked_bytes > facts.compressed_bytes > 0
