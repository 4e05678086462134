"""release.py: naming, annotations, the staging bake, the failure table, and promotion's
all-or-nothing checks against a fake docker (the real registry: tests/engine/test_release.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from generator import commands, release
from generator import verify as verify_step
from generator.bake import bake_command
from generator.errors import UsageError
from generator.plan import plan
from generator.release import Failure, ReleaseOptions
from tests.conftest import FakeDocker, invoke, make_minimal_project
from tests.test_verify import engine_rules

SHA = "0123456789abcdef0123456789abcdef01234567"
INSPECT = ["buildx", "imagetools", "inspect", "--format", "{{json .Manifest}}"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_minimal_project(tmp_path / "proj")


@pytest.fixture(autouse=True)
def no_rc_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RC_TAG", raising=False)


def test_staging_tag_is_version_rc_short_sha(root: Path) -> None:
    project = commands.load(root).project
    where = release.release_target(project, ReleaseOptions(), SHA)
    assert where.staging == f"{project.settings.version}-rc.{SHA[:7]}"
    assert where.tags == (project.settings.version,)
    assert where.registry == project.settings.registry
    assert where.ref("api", "x") == f"{project.settings.registry}/api:x"


def test_flags_override_the_spec_and_latest_adds_a_tag(root: Path) -> None:
    project = commands.load(root).project
    options = ReleaseOptions(registry="localhost:5000/acme/", version="2.0.0", latest=True)
    where = release.release_target(project, options, SHA)
    assert (where.registry, where.staging) == ("localhost:5000/acme", f"2.0.0-rc.{SHA[:7]}")
    assert where.tags == ("2.0.0", "latest")


def test_rc_tag_from_flag_or_environment(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = commands.load(root).project
    monkeypatch.setenv("RC_TAG", "from-env")
    assert release.release_target(project, ReleaseOptions(), SHA).staging == "from-env"
    flag = ReleaseOptions(rc_tag="from-flag")
    assert release.release_target(project, flag, SHA).staging == "from-flag"


@pytest.mark.parametrize("version", ["1.0/1", "-1", "a" * 129, "1 0"])
def test_a_version_that_cannot_be_a_tag_is_a_usage_error(root: Path, version: str) -> None:
    project = commands.load(root).project
    with pytest.raises(UsageError, match="not a valid image tag"):
        release.release_target(project, ReleaseOptions(version=version), SHA)


def test_without_git_the_staging_tag_must_be_given(root: Path) -> None:
    with pytest.raises(UsageError, match="--rc-tag"):
        release.release_target(commands.load(root).project, ReleaseOptions(), "")


def test_index_annotations_are_the_labels_of_the_target(root: Path) -> None:
    resolved = commands.load(root)
    bake_plan = plan(resolved).bake
    env = {"REVISION": SHA, "SOURCE_DATE_EPOCH": "1767323045"}
    notes = release.index_annotations(bake_plan, "api", env, "9.9.9")
    target = next(t for t in bake_plan.targets if t.name == "api")
    expected = {
        **dict(bake_plan.common_labels),
        **dict(target.labels),
        "org.opencontainers.image.version": "9.9.9",
        "org.opencontainers.image.revision": SHA,
        "org.opencontainers.image.created": "2026-01-02T03:04:05Z",
    }
    assert notes == [f"index:{k}={v}" for k, v in sorted(expected.items())]


def test_created_is_the_explicit_value_or_the_epoch() -> None:
    assert release.created({"CREATED": "2030-01-01T00:00:00Z"}) == "2030-01-01T00:00:00Z"
    assert release.created({"SOURCE_DATE_EPOCH": "86400"}) == "1970-01-02T00:00:00Z"
    assert release.created({}) == "1970-01-01T00:00:00Z"


def test_stage_pushes_every_platform_to_the_staging_tag_with_provenance(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CA_BUNDLE", raising=False)
    resolved = commands.load(root)
    where = release.release_target(resolved.project, ReleaseOptions(version="3.0.0"), SHA)
    services = resolved.editions["simple"].services
    stage = release.stage_options(
        root, plan(resolved).bake, services, where, ReleaseOptions(extra=("--no-cache",))
    )
    assert stage.push and stage.all_platforms
    assert dict(stage.variables) == {"REGISTRY": where.registry, "VERSION": "3.0.0"}
    tags = [s for s in stage.sets if ".tags=" in s]
    assert tags == [f"{s}.tags={where.ref(s, where.staging)}" for s in services]
    assert all(any(s.startswith(f"{x}.annotations=index:") for s in stage.sets) for x in services)
    assert stage.extra == ("--provenance", "mode=max", "--no-cache")
    assert "--sbom" not in bake_command("simple", stage)


def test_sbom_reaches_the_bake_command_line(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CA_BUNDLE", raising=False)
    resolved = commands.load(root)
    where = release.release_target(resolved.project, ReleaseOptions(), SHA)
    stage = release.stage_options(
        root, plan(resolved).bake, ("api",), where, ReleaseOptions(sbom=True)
    )
    command = bake_command("simple", stage)
    at = command.index("--sbom")
    assert command[at + 1] == "true"


def test_failure_table_lines_up_image_platform_why() -> None:
    table = release.failure_table(
        [Failure("api", "linux/arm64", "health: unhealthy"), Failure("store", "*", "x")]
    )
    assert table.splitlines() == [
        "IMAGE  PLATFORM     WHY",
        "api    linux/arm64  health: unhealthy",
        "store  *            x",
    ]


def _index(digest: str, *platforms: str) -> str:
    keys = ("os", "architecture")
    manifests = [
        {"digest": f"sha256:{i}", "platform": dict(zip(keys, p.split("/"), strict=True))}
        for i, p in enumerate(platforms)
    ]
    return json.dumps({"digest": digest, "manifests": manifests})


def test_inspect_staged_names_missing_tags_and_platforms(
    root: Path, fake_docker: Callable[..., FakeDocker]
) -> None:
    where = release.Target("r", "1.0", "1.0-rc.x", ("1.0",))
    fake_docker(
        ([*INSPECT, "r/api:1.0-rc.x"], 0, _index("sha256:api", "linux/amd64"), ""),
        ([*INSPECT, "r/store:1.0-rc.x"], 1, "", "ERROR: r/store:1.0-rc.x: not found\n"),
    )
    indexes, failures = release.inspect_staged(
        ("api", "store"), where, ("linux/amd64", "linux/arm64")
    )
    assert set(indexes) == {"api"}
    assert failures == [
        Failure("api", "linux/arm64", "platform not in the pushed index"),
        Failure("store", "*", "1.0-rc.x: no such tag"),
    ]


def test_promote_checks_every_source_before_moving_any_tag(
    root: Path, fake_docker: Callable[..., FakeDocker]
) -> None:
    registry_ = "ghcr.io/sutra-ai"
    fake = fake_docker(
        ([*INSPECT, f"{registry_}/api:0.9"], 0, _index("sha256:api", "linux/amd64"), ""),
        ([*INSPECT, f"{registry_}/store:0.9"], 1, "", "ERROR: not found\n"),
    )
    result = invoke("promote", "simple", "-C", str(root), "--from", "0.9", "--to", "latest")
    assert result.exit_code == 2
    assert f"{registry_}/store:0.9: no such tag" in result.output
    assert f"{registry_}/api:0.9: no such tag" not in result.output
    assert not [a for a in fake.argv() if a[:3] == ["buildx", "imagetools", "create"]]


# --- `sutrabuild release --staged`, against a fake docker ------------------------------------

REG = "ghcr.io/sutra-ai"
STAGED = "0.1.0-rc.test"


@pytest.fixture
def verify_rules(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], int, str, str]]:
    """A fake engine where every container turns healthy and passes the policy."""
    monkeypatch.setattr(verify_step, "POLL_SECONDS", 0)
    verify_step._setuid_files.cache_clear()
    return engine_rules()


def _staged(root: Path, *flags: str) -> object:
    return invoke("release", "simple", "-C", str(root), "--staged", "--rc-tag", STAGED, *flags)


def test_a_failure_of_one_image_promotes_no_image(
    root: Path, fake_docker: Callable[..., FakeDocker], verify_rules: list
) -> None:
    fake = fake_docker(
        ([*INSPECT, f"{REG}/api:{STAGED}"], 0, _index("sha256:api", "linux/amd64"), ""),
        ([*INSPECT, f"{REG}/store:{STAGED}"], 1, "", "ERROR: not found\n"),
        *verify_rules,
    )
    result = _staged(root, "--latest")
    assert result.exit_code == 1, result.output
    assert f"store  *         {STAGED}: no such tag" in result.output
    assert "nothing promoted" in result.output
    assert not [a for a in fake.argv() if a[:3] == ["buildx", "imagetools", "create"]]
    # The image that was found still ran: the table covers every image, not the first failure.
    assert any(a[:2] == ["run", "--detach"] and f"{REG}/api@sha256:0" in a for a in fake.argv())


def test_a_passing_release_points_version_and_latest_at_the_staged_digests(
    root: Path, fake_docker: Callable[..., FakeDocker], verify_rules: list
) -> None:
    fake = fake_docker(
        *[
            ([*INSPECT, f"{REG}/{s}:{tag}"], 0, _index(f"sha256:{s}", "linux/amd64"), "")
            for s in ("api", "store")
            # The staged index, and the read-back of each promoted tag: the same digest.
            for tag in (STAGED, "0.1.0", "latest")
        ],
        *verify_rules,
    )
    result = _staged(root, "--latest")
    assert result.exit_code == 0, result.output
    created = [a[3:] for a in fake.argv() if a[:3] == ["buildx", "imagetools", "create"]]
    assert created == [
        ["--tag", f"{REG}/{s}:{tag}", f"{REG}/{s}@sha256:{s}"]
        for s in ("api", "store")
        for tag in ("0.1.0", "latest")
    ]
    assert not [a for a in fake.argv() if a[:2] == ["buildx", "bake"]]
