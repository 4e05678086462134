"""verify.py: durations, deadlines, the images of an edition, the summary, and a faked run."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from generator import commands
from generator import verify as verify_step
from generator.errors import BuildFailed, CheckFailed, UsageError
from generator.model import HealthCheck
from generator.policy import MIB, REQUIRED_LABELS
from generator.verify import (
    ImageResult,
    edition_images,
    health_deadline,
    seconds,
    summary,
    verify,
)
from tests.conftest import FakeDocker, make_minimal_project

EDITIONS = {
    "editions/simple.yaml": "services: [api]\n",
    "editions/full.yaml": "extends: simple\nservices: [store]\n",
}
PRINTED = {
    "group": {"full": {"targets": ["api", "store"]}, "simple": {"targets": ["api"]}},
    "target": {
        "api": {"tags": ["registry.test/sutra/api:1.2.3", "registry.test/sutra/api:latest"]},
        "store": {"tags": ["registry.test/sutra/store:1.2.3"]},
        "python-base": {"tags": ["registry.test/sutra/sutra-python-base:1.2.3"]},
    },
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_minimal_project(tmp_path / "proj", EDITIONS)


# --- durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "expected"),
    [("30s", 30), ("0s", 0), ("500ms", 0.5), ("2m", 120), ("1h", 3600), ("90s", 90)],
)
def test_seconds(duration: str, expected: float) -> None:
    assert seconds(duration) == expected


@pytest.mark.parametrize("duration", ["30", "1.5s", "s", "30 s", "-1s", "1d", "", "1m30s", "5S"])
def test_seconds_rejects_what_it_cannot_read(duration: str) -> None:
    with pytest.raises(ValueError, match="^" + duration + "$"):
        seconds(duration)


def test_health_deadline_of_the_defaults() -> None:
    """start period + retries x interval + 5 s of slack: 10 + 3 x 30 + 5."""
    assert health_deadline(HealthCheck()) == 105


def test_health_deadline_follows_every_field_it_uses() -> None:
    check = HealthCheck(interval="1m", timeout="9s", start_period="20s", retries=2)
    assert health_deadline(check) == 20 + 2 * 60 + 5


# --- edition_images ---------------------------------------------------------------------------


def test_edition_images_take_the_first_tag_bake_resolved(root: Path) -> None:
    resolved = commands.load(root)
    assert edition_images(resolved, PRINTED, "full") == {
        "api": "registry.test/sutra/api:1.2.3",
        "store": "registry.test/sutra/store:1.2.3",
    }
    assert edition_images(resolved, PRINTED, "simple") == {"api": "registry.test/sutra/api:1.2.3"}


# --- summary ----------------------------------------------------------------------------------


def test_summary_prints_the_table_then_every_problem() -> None:
    results = [
        ImageResult(
            "sutra-api", "r/sutra-api:1", 67 * MIB, 187 * MIB + 300 * 1024, "healthy", 2.46, ()
        ),
        ImageResult(
            "sutra-storage",
            "r/sutra-storage:1",
            30 * MIB,
            90 * MIB,
            "unhealthy",
            None,
            ("health: unhealthy", "no HEALTHCHECK"),
        ),
        ImageResult("sutra-hybrid", "r/sutra-hybrid:1", 2 * MIB, 5 * MIB, "timeout", None, ("x",)),
    ]
    lines: list[str] = []
    summary(results, lines.append)
    assert lines == [
        "IMAGE                        COMPRESSED   UNPACKED HEALTH     TO HEALTHY  RESULT",
        "sutra-api                       67.0MiB   187.3MiB healthy          2.5s  ok",
        "sutra-storage                   30.0MiB    90.0MiB unhealthy           -  FAIL (2)",
        "sutra-hybrid                     2.0MiB     5.0MiB timeout             -  FAIL (1)",
        "sutra-storage: health: unhealthy",
        "sutra-storage: no HEALTHCHECK",
        "sutra-hybrid: x",
    ]


def test_summary_of_a_release_names_each_platform_and_widens_to_fit() -> None:
    long = "sutra-embedding-service"
    results = [
        ImageResult(long, "r@sha256:a", MIB, MIB, "healthy", 1.0, (), "linux/amd64"),
        ImageResult(long, "r@sha256:b", MIB, MIB, "unhealthy", None, ("bad",), "linux/arm64"),
    ]
    lines: list[str] = []
    summary(results, lines.append)
    width = len(f"{long} linux/amd64")
    assert lines[0].startswith("IMAGE".ljust(width) + " COMPRESSED")
    assert lines[1].startswith(f"{long} linux/amd64 ")
    assert lines[2].startswith(f"{long} linux/arm64 ")
    # The size column ends under COMPRESSED's last letter on every row.
    end = lines[0].index("COMPRESSED") + len("COMPRESSED")
    assert {line.index("1.0MiB") + len("1.0MiB") for line in lines[1:3]} == {end}
    assert lines[3:] == [f"{long} linux/arm64: bad"]


def test_summary_of_nothing_is_the_header() -> None:
    lines: list[str] = []
    summary([], lines.append)
    assert lines == [
        "IMAGE                        COMPRESSED   UNPACKED HEALTH     TO HEALTHY  RESULT"
    ]


# --- verify, against a fake docker ------------------------------------------------------------

GOOD_IMAGE = {
    "Config": {
        "User": "1000:1000",
        "Healthcheck": {"Test": ["CMD", "sutra-healthcheck", "http://localhost:8000/health"]},
        "Labels": {label: "x" for label in REQUIRED_LABELS},
    },
    "Size": 40 * MIB,
}
HEALTHY = {"Running": True, "Health": {"Status": "healthy"}}
# What `du` reports inside the fake image: unpacked bigger than compressed, as in life.
UNPACKED = 100 * MIB


def engine_rules(
    image: object = GOOD_IMAGE,
    state: object = HEALTHY,
    uid: str = "1000\n",
    facts: str = f"unpacked {UNPACKED}\n",
) -> list[tuple[list[str], int, str, str]]:
    """What the fake docker answers to each call verify makes."""
    return [
        (["buildx", "version"], 0, "", ""),
        (["buildx", "bake"], 0, json.dumps(PRINTED), ""),
        (["image", "inspect"], 0, json.dumps([image]), ""),
        (["run", "--detach"], 0, "container-id\n", ""),
        (["run", "--rm"], 0, facts, ""),
        (["inspect", "--format"], 0, json.dumps(state), ""),
        (["exec"], 0, uid, ""),
        (["rm"], 0, "", ""),
    ]


@pytest.fixture
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No sleeping between health polls, and no setuid facts cached from another test."""
    monkeypatch.setattr(verify_step, "POLL_SECONDS", 0)
    verify_step._setuid_files.cache_clear()
    yield
    verify_step._setuid_files.cache_clear()


def containers_started(fake: FakeDocker) -> list[str]:
    return [
        args[args.index("--name") + 1] for args in fake.argv() if args[:2] == ["run", "--detach"]
    ]


def containers_removed(fake: FakeDocker) -> list[str]:
    return [args[-1] for args in fake.argv() if args[0] == "rm"]


API = "registry.test/sutra/api:1.2.3"
STORE = "registry.test/sutra/store:1.2.3"


def test_verify_a_compliant_edition(
    root: Path, fake_docker: Callable[..., FakeDocker], fast_polls: None
) -> None:
    fake = fake_docker(*engine_rules())
    results = verify(commands.load(root), root, "full")
    assert results == [
        ImageResult("api", API, 40 * MIB, UNPACKED, "healthy", 0.0, ()),
        ImageResult("store", STORE, 40 * MIB, UNPACKED, "healthy", 0.0, ()),
    ]
    bake_print = [a for a in fake.argv() if a[:2] == ["buildx", "bake"]]
    assert bake_print == [
        ["buildx", "bake", "--file", str(root / "docker-bake.hcl"), "--print", "full"]
    ]
    started = containers_started(fake)
    assert [name.rsplit("-", 1)[0] for name in started] == [
        "sutra-verify-api",
        "sutra-verify-store",
    ]
    assert containers_removed(fake) == started


def test_verify_reports_health_and_policy_problems_and_still_cleans_up(
    root: Path, fake_docker: Callable[..., FakeDocker], fast_polls: None
) -> None:
    image = {**GOOD_IMAGE, "Config": {**GOOD_IMAGE["Config"], "User": "0"}}
    state = {"Running": False, "ExitCode": 3}
    facts = "tool gcc\napt /var/cache/apt/pkgcache.bin\nunpacked 5\n"
    fake = fake_docker(*engine_rules(image=image, state=state, uid="0\n", facts=facts))
    results = verify(commands.load(root), root, "simple")
    assert results == [
        ImageResult(
            "api",
            API,
            40 * MIB,
            5,
            "exited(3)",
            None,
            (
                "health: exited(3)",
                "USER is root (uid 0)",
                "build tool gcc present",
                "apt cache /var/cache/apt/pkgcache.bin present (clean up in the same RUN)",
            ),
        )
    ]
    assert containers_removed(fake) == containers_started(fake)


def test_a_container_that_fails_to_start_is_removed_with_the_others(
    root: Path, fake_docker: Callable[..., FakeDocker], fast_polls: None
) -> None:
    store = f"sutra-verify-store-{os.getpid()}"
    busy = "docker: Error response from daemon: port is already allocated.\n"
    fake = fake_docker((["run", "--detach", "--name", store], 125, "", busy), *engine_rules())
    with pytest.raises(BuildFailed) as info:
        verify(commands.load(root), root, "full")
    assert str(info.value) == (
        "docker run failed: docker: Error response from daemon: port is already allocated."
    )
    assert containers_started(fake) == [f"sutra-verify-api-{os.getpid()}", store]
    assert containers_removed(fake) == containers_started(fake)


def test_verify_of_images_not_built_starts_nothing(
    root: Path, fake_docker: Callable[..., FakeDocker], fast_polls: None
) -> None:
    rules = engine_rules()
    rules.insert(0, (["image", "inspect"], 1, "[]", "Error: No such image\n"))
    fake = fake_docker(*rules)
    with pytest.raises(CheckFailed) as info:
        verify(commands.load(root), root, "full")
    assert str(info.value) == (
        "not built: registry.test/sutra/api:1.2.3, registry.test/sutra/store:1.2.3; "
        "run `make bake EDITION=full`"
    )
    assert containers_started(fake) == []


def test_verify_of_an_unknown_edition_needs_no_docker(root: Path, no_docker_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        verify(commands.load(root), root, "platinum")
    assert str(info.value) == "unknown edition 'platinum'; known editions: full, simple"


def test_the_upstream_image_of_a_service_on_a_custom_base_is_its_parents() -> None:
    """setuid files are compared with the upstream image under the runtime base; a custom
    base (no `from` of its own) leads there through the base it is built on."""
    project = commands.load(Path(__file__).resolve().parents[1]).project
    on_custom = [s for s in project.services.values() if s.base]
    assert on_custom, "the real spec has services on a custom base"
    for service in on_custom:
        base = project.bases[service.base or ""]
        assert base.from_image is None
        parent = project.bases[base.bases[0]]
        assert verify_step._upstream_image(project, service) == parent.from_image
    for service in project.services.values():
        assert verify_step._upstream_image(project, service), service.name
