"""hadolint on every generated Dockerfile, with the project's .hadolint.yaml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator import commands

REPO = Path(__file__).resolve().parents[1]
HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
    "hadolint"
)


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    """Run hadolint with the project config; no colour, one finding per line."""
    assert HADOLINT, "hadolint is a test dependency (pip install -e '.[test]')"
    args = [HADOLINT, "--config", str(REPO / ".hadolint.yaml"), "--no-color", str(path)]
    return subprocess.run(args, capture_output=True, text=True, check=False)


def _dockerfiles() -> dict[str, str]:
    rendered = commands.rendered(REPO)
    return {p: text for p, text in rendered.items() if p.endswith(".Dockerfile")}


@pytest.mark.parametrize("path", sorted(_dockerfiles()))
def test_generated_dockerfile_passes_hadolint(path: str, tmp_path: Path) -> None:
    """Every Dockerfile every edition needs is clean at the warning threshold."""
    target = tmp_path / Path(path).name
    target.write_text(_dockerfiles()[path])
    proc = hadolint(target)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _mutated(tmp_path: Path, change) -> Path:
    target = tmp_path / "sutra-api.Dockerfile"
    target.write_text(change(_dockerfiles()["dockerfiles/sutra-api.Dockerfile"]))
    return target


def test_dropped_healthcheck_is_an_error(tmp_path: Path) -> None:
    """A template change that loses the HEALTHCHECK fails lint (DL3057 is an error here)."""
    lines = _dockerfiles()["dockerfiles/sutra-api.Dockerfile"].splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("HEALTHCHECK --"))
    target = _mutated(tmp_path, lambda _: "".join(lines[:start] + lines[start + 2 :]))
    proc = hadolint(target)
    assert proc.returncode == 1
    assert "DL3057 error: `HEALTHCHECK` instruction missing." in proc.stdout


def test_root_user_is_an_error(tmp_path: Path) -> None:
    """A Dockerfile whose last USER is root fails lint."""
    target = _mutated(tmp_path, lambda text: text + "USER root\n")
    proc = hadolint(target)
    assert proc.returncode == 1
    assert "DL3002 error: Last USER should not be root" in proc.stdout
