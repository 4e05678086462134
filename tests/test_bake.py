"""bake.py: the buildx command line, its environment, and failure reports (a fake docker)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.bake import (
    ENGINE_HINT,
    BakeOptions,
    after_prebuild,
    bake_command,
    bake_environment,
    prebuild_options,
    require_buildx,
    run_bake,
)
from generator.errors import BuildFailed, ToolMissing, UsageError
from tests.conftest import FakeDocker, without_report_args

BAKE = ["docker", "buildx", "bake", "--file", "docker-bake.hcl"]
FAILED = "ERROR: target sutra-x: failed to solve: boom\n"
COMMIT_DATE = "2024-05-01T12:34:56+00:00"

pytestmark = pytest.mark.usefixtures("clean_bake_env")


def git_repo(root: Path) -> str:
    """A git repository at root with one commit at COMMIT_DATE; its commit id."""
    root.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_AUTHOR_DATE": COMMIT_DATE,
        "GIT_COMMITTER_DATE": COMMIT_DATE,
    }
    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "first"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    )
    return head.stdout.strip()


@pytest.fixture
def outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory git does not search upwards from (tmp dirs may live inside a checkout)."""
    root = tmp_path / "plain"
    root.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    return root


# --- bake_command -----------------------------------------------------------------------------


def test_command_without_options() -> None:
    assert bake_command("simple", BakeOptions()) == [*BAKE, "simple"]


@pytest.mark.parametrize(
    ("options", "flags"),
    [
        (BakeOptions(builder="ci"), ["--builder", "ci"]),
        (BakeOptions(platforms=("linux/amd64",)), ["--set", "*.platform=linux/amd64"]),
        (
            BakeOptions(platforms=("linux/amd64", "linux/arm64")),
            ["--set", "*.platform=linux/amd64,linux/arm64"],
        ),
        (
            BakeOptions(sets=("*.no-cache=true", "sutra-api.args.X=1")),
            ["--set", "*.no-cache=true", "--set", "sutra-api.args.X=1"],
        ),
        (BakeOptions(push=True), ["--push"]),
        (BakeOptions(load=True), ["--load"]),
        (BakeOptions(print_only=True), ["--print"]),
        (BakeOptions(extra=("--progress=plain", "--no-cache")), ["--progress=plain", "--no-cache"]),
        # all_platforms is resolved to `platforms` by commands.bake, not here.
        (BakeOptions(all_platforms=True), []),
        # The option only names the bundle; the grant follows the path bake_environment checked.
        (BakeOptions(ca_bundle="/etc/ssl/ca.pem"), []),
    ],
    ids=[
        "builder",
        "one-platform",
        "two-platforms",
        "sets",
        "push",
        "load",
        "print",
        "extra",
        "all-platforms",
        "ca-bundle-option",
    ],
)
def test_each_option_maps_to_its_flags(options: BakeOptions, flags: list[str]) -> None:
    assert bake_command("simple", options) == [*BAKE, *flags, "simple"]


def test_ca_bundle_grants_buildx_read_access() -> None:
    assert bake_command("simple", BakeOptions(), "/etc/ssl/ca.pem") == [
        *BAKE,
        "--allow=fs.read=/etc/ssl/ca.pem",
        "simple",
    ]


def test_every_option_in_order_with_extra_arguments_before_the_edition() -> None:
    options = BakeOptions(
        push=True,
        load=True,
        print_only=True,
        platforms=("linux/amd64", "linux/arm64"),
        sets=("*.no-cache=true",),
        builder="ci",
        extra=("--progress=plain",),
    )
    assert bake_command("enterprise", options, "/certs/ca.pem") == [
        *BAKE,
        "--allow=fs.read=/certs/ca.pem",
        "--builder",
        "ci",
        "--set",
        "*.platform=linux/amd64,linux/arm64",
        "--set",
        "*.no-cache=true",
        "--push",
        "--load",
        "--print",
        "--progress=plain",
        "enterprise",
    ]


# --- bake_environment -------------------------------------------------------------------------


def test_revision_and_created_come_from_the_last_commit(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    commit = git_repo(root)
    env = bake_environment(root, BakeOptions(), {"HOME": "/home/x"})
    assert env == {"HOME": "/home/x", "REVISION": commit, "CREATED": COMMIT_DATE}
    assert len(commit) == 40


def test_revision_and_created_already_set_are_kept(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    git_repo(root)
    base = {"REVISION": "v1.2.3", "CREATED": "2020-01-01T00:00:00Z"}
    assert bake_environment(root, BakeOptions(), base) == base


def test_empty_revision_and_created_are_filled_in(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    commit = git_repo(root)
    env = bake_environment(root, BakeOptions(), {"REVISION": "", "CREATED": ""})
    assert env == {"REVISION": commit, "CREATED": COMMIT_DATE}


def test_the_base_environment_is_not_modified(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    git_repo(root)
    base = {"PATH": os.environ["PATH"]}
    bake_environment(root, BakeOptions(), base)
    assert base == {"PATH": os.environ["PATH"]}


def test_outside_a_checkout_revision_and_created_are_empty(outside_git: Path) -> None:
    assert bake_environment(outside_git, BakeOptions(), {}) == {
        "REVISION": "",
        "CREATED": "",
    }


def test_without_git_revision_and_created_are_empty(tmp_path: Path, no_docker_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    assert bake_environment(root, BakeOptions(), {}) == {"REVISION": "", "CREATED": ""}


def test_ca_bundle_option_is_resolved_to_an_absolute_path(
    outside_git: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = outside_git / "certs/ca.pem"
    bundle.parent.mkdir()
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.chdir(outside_git)
    env = bake_environment(outside_git, BakeOptions(ca_bundle="certs/ca.pem"), {})
    assert env["CA_BUNDLE"] == str(bundle.resolve())


def test_ca_bundle_from_the_environment_is_resolved_too(
    outside_git: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (outside_git / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.chdir(outside_git)
    env = bake_environment(outside_git, BakeOptions(), {"CA_BUNDLE": "ca.pem"})
    assert env["CA_BUNDLE"] == str((outside_git / "ca.pem").resolve())


def test_ca_bundle_option_wins_over_the_environment(outside_git: Path) -> None:
    option = outside_git / "option.pem"
    option.write_text("x\n")
    env = bake_environment(
        outside_git, BakeOptions(ca_bundle=str(option)), {"CA_BUNDLE": "/nonexistent.pem"}
    )
    assert env["CA_BUNDLE"] == str(option.resolve())


def test_ca_bundle_through_a_symlink_is_resolved(outside_git: Path) -> None:
    target = outside_git / "real.pem"
    target.write_text("x\n")
    (outside_git / "link.pem").symlink_to(target)
    env = bake_environment(outside_git, BakeOptions(ca_bundle=str(outside_git / "link.pem")), {})
    assert env["CA_BUNDLE"] == str(target.resolve())


@pytest.mark.parametrize("where", ["option", "environment"])
def test_missing_ca_bundle_is_a_usage_error(outside_git: Path, where: str) -> None:
    missing = str(outside_git / "missing.pem")
    options = BakeOptions(ca_bundle=missing) if where == "option" else BakeOptions()
    base = {"CA_BUNDLE": missing} if where == "environment" else {}
    with pytest.raises(UsageError) as info:
        bake_environment(outside_git, options, base)
    assert str(info.value) == f"CA bundle {missing}: no such file"
    assert info.value.exit_code == 2


def test_a_directory_is_not_a_ca_bundle(outside_git: Path) -> None:
    with pytest.raises(UsageError, match=r"^CA bundle .*: no such file$"):
        bake_environment(outside_git, BakeOptions(ca_bundle=str(outside_git)), {})


def test_empty_ca_bundle_means_none(outside_git: Path) -> None:
    assert "CA_BUNDLE" not in bake_environment(outside_git, BakeOptions(ca_bundle=""), {})
    assert bake_environment(outside_git, BakeOptions(), {"CA_BUNDLE": ""})["CA_BUNDLE"] == ""


# --- require_buildx ---------------------------------------------------------------------------


def test_no_docker_on_path_is_tool_missing_with_the_hint(no_docker_path: Path) -> None:
    with pytest.raises(ToolMissing) as info:
        require_buildx()
    assert str(info.value) == f"docker not found on PATH: {ENGINE_HINT}"
    assert info.value.exit_code == 3


def test_docker_without_buildx_is_tool_missing(fake_docker: Callable[..., FakeDocker]) -> None:
    fake = fake_docker((["buildx"], 1, "", "docker: 'buildx' is not a docker command.\n"))
    with pytest.raises(ToolMissing) as info:
        require_buildx()
    assert str(info.value) == f"`docker buildx` is not available: {ENGINE_HINT}"
    assert fake.argv() == [["buildx", "version"]]


def test_docker_with_buildx_passes(fake_docker: Callable[..., FakeDocker]) -> None:
    fake = fake_docker((["buildx", "version"], 0, "github.com/docker/buildx v0.17.1\n", ""))
    require_buildx()
    assert fake.argv() == [["buildx", "version"]]


# --- run_bake ---------------------------------------------------------------------------------
# Piped stderr (not a terminal) is what makes run_bake read buildx's lines; the failure tests
# take `capsys` so stderr is a capture even under `pytest -s`.


def test_failed_bake_names_the_failing_target(
    fake_docker: Callable[..., FakeDocker],
    outside_git: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_docker((["buildx", "bake"], 1, "", "#1 building\n" + FAILED))
    with pytest.raises(BuildFailed) as info:
        run_bake(outside_git, "simple", BakeOptions())
    assert str(info.value) == (
        "docker buildx bake simple failed (exit 1); failed target(s): sutra-x"
    )
    assert info.value.exit_code == 1
    # buildx's own lines are passed through as they come.
    assert capsys.readouterr().err == "#1 building\n" + FAILED


def test_every_failing_target_is_named_once_in_order(
    fake_docker: Callable[..., FakeDocker], outside_git: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = (
        "ERROR: target sutra-b: failed to solve: one\n"
        "ERROR: target sutra-a.v2: failed to solve: two\n"
        "ERROR: target sutra-b: failed to solve: again\n"
    )
    fake_docker((["buildx", "bake"], 17, "", err))
    with pytest.raises(BuildFailed) as info:
        run_bake(outside_git, "enterprise", BakeOptions())
    assert str(info.value) == (
        "docker buildx bake enterprise failed (exit 17); failed target(s): sutra-b, sutra-a.v2"
    )


def test_failure_without_a_target_line_names_none(
    fake_docker: Callable[..., FakeDocker], outside_git: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_docker((["buildx", "bake"], 2, "", "ERROR: no such file docker-bake.hcl\n"))
    with pytest.raises(BuildFailed) as info:
        run_bake(outside_git, "simple", BakeOptions())
    assert str(info.value) == "docker buildx bake simple failed (exit 2)"


def test_successful_bake_runs_in_the_root_with_the_environment(
    fake_docker: Callable[..., FakeDocker], tmp_path: Path
) -> None:
    root = tmp_path / "repo"
    commit = git_repo(root)
    fake = fake_docker()
    run_bake(root, "simple", BakeOptions(platforms=("linux/arm64",), extra=("--progress=plain",)))
    calls = fake.calls()
    assert [c["args"] for c in calls] == [
        ["buildx", "version"],
        [*BAKE[1:], "--set", "*.platform=linux/arm64", "--progress=plain", "simple"],
    ]
    assert calls[1]["cwd"] == str(root)
    assert calls[1]["env"] == {
        "REVISION": commit,
        "CREATED": COMMIT_DATE,
        "CA_BUNDLE": None,
    }


def test_ca_bundle_reaches_buildx_as_env_and_grant(
    fake_docker: Callable[..., FakeDocker], outside_git: Path
) -> None:
    bundle = outside_git / "ca.pem"
    bundle.write_text("x\n")
    fake = fake_docker()
    run_bake(outside_git, "simple", BakeOptions(ca_bundle=str(bundle)))
    bake_call = fake.calls()[-1]
    assert without_report_args(bake_call["args"]) == [
        *BAKE[1:],
        f"--allow=fs.read={bundle.resolve()}",
        "simple",
    ]
    assert bake_call["env"] == {
        "REVISION": "",
        "CREATED": "",
        "CA_BUNDLE": str(bundle.resolve()),
    }


def test_missing_ca_bundle_stops_before_buildx_runs(
    fake_docker: Callable[..., FakeDocker], outside_git: Path
) -> None:
    fake = fake_docker()
    with pytest.raises(UsageError):
        run_bake(outside_git, "simple", BakeOptions(ca_bundle=str(outside_git / "nope.pem")))
    assert fake.argv() == [["buildx", "version"]]


def test_run_bake_without_docker_is_tool_missing(outside_git: Path, no_docker_path: Path) -> None:
    with pytest.raises(ToolMissing) as info:
        run_bake(outside_git, "simple", BakeOptions())
    assert str(info.value) == f"docker not found on PATH: {ENGINE_HINT}"


# --- prebuild of linked bases (multi-platform bakes) ------------------------------------------

BASES = ("python-base", "python-builder")
TWO = ("linux/amd64", "linux/arm64")


def test_one_cache_only_single_platform_prebuild_per_platform() -> None:
    options = BakeOptions(platforms=TWO, push=True, sets=("*.args.X=1",), extra=("--no-cache",))
    prebuilds = prebuild_options(options, BASES)
    assert [p.platforms for p in prebuilds] == [(p,) for p in TWO]
    for prebuild in prebuilds:
        assert not prebuild.push and not prebuild.load
        assert prebuild.sets == (
            "*.args.X=1",
            "python-base.output=type=cacheonly",
            "python-builder.output=type=cacheonly",
        )
        # --no-cache still means every step of the command runs: the bases run here.
        assert prebuild.extra == ("--no-cache",)


@pytest.mark.parametrize(
    ("options", "bases"),
    [
        (BakeOptions(), BASES),
        (BakeOptions(platforms=("linux/arm64",)), BASES),
        (BakeOptions(platforms=TWO, print_only=True), BASES),
        (BakeOptions(platforms=TWO), ()),
    ],
    ids=["native", "one-platform", "print", "no-linked-bases"],
)
def test_no_prebuild_where_no_base_is_linked_across_platforms(
    options: BakeOptions, bases: tuple[str, ...]
) -> None:
    assert prebuild_options(options, bases) == []
    assert after_prebuild(options, bases) == options


def test_after_the_prebuild_no_cache_spares_the_linked_bases() -> None:
    options = BakeOptions(platforms=TWO, extra=("--progress=plain", "--no-cache"))
    main = after_prebuild(options, BASES)
    assert main.extra == ("--progress=plain",)
    assert main.sets == (
        "*.no-cache=true",
        "python-base.no-cache=false",
        "python-builder.no-cache=false",
    )
    assert main.platforms == TWO


def test_after_the_prebuild_a_cached_bake_is_unchanged() -> None:
    options = BakeOptions(platforms=TWO, push=True)
    assert after_prebuild(options, BASES) == options


def test_bake_command_names_every_target() -> None:
    assert bake_command("python-base", BakeOptions(), None, "python-builder") == [
        *BAKE,
        "python-base",
        "python-builder",
    ]
