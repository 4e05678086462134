"""engine.py: the docker calls verify makes, against a fake docker (real ones: tests/engine)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator import engine
from generator.bake import ENGINE_HINT
from generator.errors import BuildFailed, ToolMissing
from tests.conftest import FakeDocker

FakeFactory = Callable[..., FakeDocker]


# --- docker() ---------------------------------------------------------------------------------


def test_docker_returns_the_completed_process(fake_docker: FakeFactory) -> None:
    fake = fake_docker((["version"], 0, "27.3.1\n", ""))
    proc = engine.docker("version", "--format", "{{.Server.Version}}")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "27.3.1\n", "")
    assert fake.argv() == [["version", "--format", "{{.Server.Version}}"]]


def test_a_failing_call_raises_with_dockers_last_line(fake_docker: FakeFactory) -> None:
    err = "Unable to find image 'nope:latest' locally\ndocker: Error response: pull access denied\n"
    fake_docker((["run"], 125, "", err))
    with pytest.raises(BuildFailed) as info:
        engine.docker("run", "nope")
    assert str(info.value) == "docker run failed: docker: Error response: pull access denied"
    assert info.value.exit_code == 1


def test_a_silent_failure_says_so(fake_docker: FakeFactory) -> None:
    fake_docker((["rm"], 1, "", ""))
    with pytest.raises(BuildFailed) as info:
        engine.docker("rm", "x")
    assert str(info.value) == "docker rm failed: (no output)"


def test_check_false_returns_the_failure(fake_docker: FakeFactory) -> None:
    fake_docker((["rm"], 1, "", "Error: No such container: x\n"))
    proc = engine.docker("rm", "x", check=False)
    assert (proc.returncode, proc.stderr) == (1, "Error: No such container: x\n")


def test_no_docker_is_tool_missing(no_docker_path: Path) -> None:
    with pytest.raises(ToolMissing) as info:
        engine.docker("ps")
    assert str(info.value) == f"docker not found on PATH: {ENGINE_HINT}"
    assert info.value.exit_code == 3


def test_a_hung_docker_is_reported_with_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    def hung(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(cmd, kwargs["timeout"])

    monkeypatch.setattr(engine.subprocess, "run", hung)
    with pytest.raises(BuildFailed) as info:
        engine.docker("inspect", "x", timeout=7.4)
    assert str(info.value) == "docker inspect did not answer within 7s"


# --- the calls built on it --------------------------------------------------------------------


def test_bake_print_reads_the_generated_file_and_parses_json(
    fake_docker: FakeFactory, tmp_path: Path
) -> None:
    printed = {"group": {"simple": {"targets": ["api"]}}, "target": {"api": {"tags": ["a:1"]}}}
    fake = fake_docker((["buildx", "bake"], 0, json.dumps(printed), ""))
    assert engine.bake_print(tmp_path, "simple") == printed
    assert fake.argv() == [
        ["buildx", "version"],
        ["buildx", "bake", "--file", str(tmp_path / "docker-bake.hcl"), "--print", "simple"],
    ]


def test_inspect_image_is_the_first_object_or_none(fake_docker: FakeFactory) -> None:
    fake_docker(
        (["image", "inspect", "missing:1"], 1, "[]\n", "Error: No such image: missing:1\n"),
        (["image", "inspect"], 0, json.dumps([{"Id": "sha256:abc", "Size": 5}]), ""),
    )
    assert engine.inspect_image("present:1") == {"Id": "sha256:abc", "Size": 5}
    assert engine.inspect_image("missing:1") is None


def test_run_as_root_is_a_throwaway_offline_root_shell(fake_docker: FakeFactory) -> None:
    fake = fake_docker((["run"], 0, "tool gcc\n", ""))
    assert engine.run_as_root("img:1", "command -v gcc") == "tool gcc\n"
    assert fake.argv() == [
        [
            "run",
            "--rm",
            "--user",
            "0",
            "--network",
            "none",
            "--entrypoint",
            "sh",
            "img:1",
            "-c",
            "command -v gcc",
        ]
    ]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"Running": True, "Health": {"Status": "healthy"}}, "healthy"),
        ({"Running": True, "Health": {"Status": "starting"}}, "starting"),
        ({"Running": True, "Health": {"Status": "unhealthy"}}, "unhealthy"),
        ({"Running": True}, "no-healthcheck"),
        ({"Running": False, "ExitCode": 137}, "exited(137)"),
    ],
    ids=["healthy", "starting", "unhealthy", "no-healthcheck", "exited"],
)
def test_health(fake_docker: FakeFactory, state: dict[str, Any], expected: str) -> None:
    fake = fake_docker((["inspect"], 0, json.dumps(state) + "\n", ""))
    assert engine.health("c1") == expected
    assert fake.argv() == [["inspect", "--format", "{{json .State}}", "c1"]]


def test_health_of_a_removed_container_is_gone(fake_docker: FakeFactory) -> None:
    fake_docker((["inspect"], 1, "", "Error: No such object: c1\n"))
    assert engine.health("c1") == "gone"
