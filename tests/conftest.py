"""Shared fixtures: minimal projects built inline, copies of the real specs, CLI helpers,
and a fake `docker` executable for unit tests of the command lines we build."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import traceback
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import strategies as st

from generator import stacks
from generator.cli import main

REPO_ROOT = Path(__file__).resolve().parent.parent

# The smallest project that exercises both stacks and all four base templates. Tests derive
# broken variants with `replace_once`, so the line numbers below are part of many assertions:
# keep this text stable (line 1 is `project:`, line 28 `api:`, line 32 `store:`).
MINIMAL_PROJECT = """\
project:
  name: sutra
  registry: ghcr.io/sutra-ai
  version: 0.1.0
  source: https://github.com/sutra-ai/sutra
  default_edition: simple
  platforms: [linux/amd64]
stacks:
  python: {builder: python-builder, runtime: python-base}
  rust: {builder: rust-builder, runtime: rust-runtime}
bases:
  python-base:
    template: python-base
    from: python:3.11-slim
    context: packages/python-base
  python-builder:
    template: python-builder
    bases: [python-base]
  rust-builder:
    template: rust-builder
    from: rust:1.82-slim
  rust-runtime:
    template: rust-runtime
    from: debian:bookworm-slim
    bases: [rust-builder]
    context: packages/healthcheck
services:
  api:
    stack: python
    context: packages/api
    port: 8000
  store:
    stack: rust
    context: packages/store
    port: 9000
"""
MINIMAL_EDITION = "services: [api, store]\n"

# Everything the minimal project's contexts need (python: requirements.txt + app/;
# rust: Cargo.toml, Cargo.lock, src/; the bases' contexts exist).
MINIMAL_PACKAGES: dict[str, str] = {
    "packages/python-base/requirements.txt": "fastapi==0.110.0\n",
    "packages/python-base/sutra-healthcheck": "#!/usr/bin/env python3\n",
    "packages/healthcheck/Cargo.toml": '[package]\nname = "sutra-healthcheck"\n',
    "packages/healthcheck/Cargo.lock": "version = 3\n",
    "packages/healthcheck/src/main.rs": "fn main() {}\n",
    "packages/api/requirements.txt": "msgpack==1.0.8\n",
    "packages/api/app/__init__.py": "",
    "packages/store/Cargo.toml": '[package]\nname = "store"\n',
    "packages/store/Cargo.lock": "version = 3\n",
    "packages/store/src/main.rs": "fn main() {}\n",
}

# Any printable text (no Unicode C* category) that bake can carry exactly: it stores strings
# in NFC, and validation refuses other text where that matters. The characters escaping is
# about are drawn often, not once in a million.
PRINTABLE = st.text(
    st.characters(exclude_categories=("C",)) | st.sampled_from("\"'\\`$%{}# \u2028"),
    min_size=1,
    max_size=60,
).map(lambda text: unicodedata.normalize("NFC", text))

FileContent = str | bytes | None
TreeState = dict[str, tuple[str, bytes, int]]


def replace_once(text: str, old: str, new: str) -> str:
    """`text` with the single occurrence of `old` replaced (fails loudly if not exactly one)."""
    count = text.count(old)
    assert count == 1, f"{old!r} occurs {count} times"
    return text.replace(old, new)


def yaml_quoted(text: str) -> str:
    """A YAML double-quoted scalar of any printable text (raw line separators would fold)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\u2028", "\\L").replace("\u2029", "\\P") + '"'


def project_with(old: str, new: str) -> str:
    """The minimal project.yaml with one edit."""
    return replace_once(MINIMAL_PROJECT, old, new)


def write_files(root: Path, files: Mapping[str, FileContent]) -> None:
    """Write (str or bytes) or delete (None) files under root, creating parent dirs."""
    for rel, content in files.items():
        path = root / rel
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def make_minimal_project(root: Path, files: Mapping[str, FileContent] | None = None) -> Path:
    """Create the minimal valid project at root, then apply per-test overrides."""
    write_files(
        root,
        {
            "editions/project.yaml": MINIMAL_PROJECT,
            "editions/simple.yaml": MINIMAL_EDITION,
            **MINIMAL_PACKAGES,
        },
    )
    write_files(root, files or {})
    return root


def copy_real_project(root: Path) -> Path:
    """Copy the real repo's editions/ and packages/ (the inputs, not the outputs) to root."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("editions", "packages"):
        shutil.copytree(REPO_ROOT / name, root / name)
    return root


def tree_state(root: Path) -> TreeState:
    """Every entry under root: kind, bytes (or link target) and mtime, to prove nothing changed."""
    state: TreeState = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath, name)
            info = path.lstat()
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                state[rel] = ("link", os.readlink(path).encode(), info.st_mtime_ns)
            elif path.is_dir():
                state[rel] = ("dir", b"", info.st_mtime_ns)
            else:
                state[rel] = ("file", path.read_bytes(), info.st_mtime_ns)
    return state


def read_tree(
    root: Path, rel_dirs: tuple[str, ...] = ("dockerfiles", ".github/workflows")
) -> dict[str, bytes]:
    """The generated outputs on disk: docker-bake.hcl and every file under dockerfiles/ and
    .github/workflows/."""
    out = {}
    bake = root / "docker-bake.hcl"
    if bake.exists():
        out["docker-bake.hcl"] = bake.read_bytes()
    for rel_dir in rel_dirs:
        for path in sorted((root / rel_dir).rglob("*")):
            if path.is_file():
                out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def invoke(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """Run `sutrabuild ARGS` in-process; a crash (not a SystemExit) fails the test, with trace."""
    result = CliRunner().invoke(main, list(args), prog_name="sutrabuild", env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        trace = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"sutrabuild {' '.join(args)} crashed:\n{trace}")
    return result


# A unit test that asks the real buildx (`bake --print`, no engine) for its reading of a bake
# file; skipped only on a developer machine without docker, never in CI.
needs_buildx = pytest.mark.skipif(
    shutil.which("docker") is None and os.environ.get("CI") != "true",
    reason="docker buildx bake --print needs the docker CLI",
)


@pytest.fixture(autouse=True)
def _sutrabuilds_own_stacks() -> None:
    """Every test starts from sutrabuild's own stack folders: loading a project makes its
    templates/ the first place stacks are looked up, for the rest of the process."""
    stacks.use_project(REPO_ROOT)


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """Factory: make_project(files={...}, name="proj") -> root of a minimal valid project."""

    def factory(files: Mapping[str, FileContent] | None = None, name: str = "proj") -> Path:
        return make_minimal_project(tmp_path / name, files)

    return factory


@pytest.fixture
def minimal_project(make_project: Callable[..., Path]) -> Path:
    """A minimal valid project, not rendered yet."""
    return make_project()


@pytest.fixture
def real_project(tmp_path: Path) -> Path:
    """A copy of the real repo's editions/ + packages/, not rendered yet."""
    return copy_real_project(tmp_path / "repo")


# --- a fake docker ----------------------------------------------------------------------------

# Logs every call (argv, cwd, the variables bake passes on) as a JSON line, then answers with
# the first rule whose argument prefix matches: (prefix, exit code, stdout, stderr).
FAKE_DOCKER = """\
#!{python}
import json, os, sys
args = sys.argv[1:]
with open({log!r}, "a", encoding="utf-8") as log:
    env = {{k: os.environ.get(k) for k in ("REVISION", "CREATED", "CA_BUNDLE")}}
    log.write(json.dumps({{"args": args, "cwd": os.getcwd(), "env": env}}) + "\\n")
for prefix, code, out, err in {rules!r}:
    if args[: len(prefix)] == prefix:
        sys.stdout.write(out)
        sys.stderr.write(err)
        sys.exit(code)
"""
Rule = tuple[Sequence[str], int, str, str]


@dataclass(frozen=True)
class FakeDocker:
    """A `docker` on PATH that records its calls; real docker is never reached."""

    bin_dir: Path
    log: Path

    def calls(self) -> list[dict[str, object]]:
        """Every call so far: {"args": [...], "cwd": "...", "env": {...}}."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def argv(self) -> list[list[str]]:
        """The arguments of every call so far."""
        return [call["args"] for call in self.calls()]  # type: ignore[misc]


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeDocker]:
    """Factory: fake_docker(rule, ...) puts a scripted `docker` first on PATH.

    Unmatched calls exit 0 with no output, so `docker buildx version` succeeds by default.
    """

    def install(*rules: Rule) -> FakeDocker:
        bin_dir = tmp_path / "fake-bin"
        bin_dir.mkdir(exist_ok=True)
        fake = FakeDocker(bin_dir, tmp_path / "docker-calls.jsonl")
        script = bin_dir / "docker"
        plain = [(list(prefix), code, out, err) for prefix, code, out, err in rules]
        script.write_text(FAKE_DOCKER.format(python=sys.executable, log=str(fake.log), rules=plain))
        script.chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
        return fake

    return install


@pytest.fixture
def no_docker_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH is one empty directory: no docker (and no git)."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return empty


# Variables a user's (or CI's) shell may export that change what bake runs with (and each
# stack's build secrets, such as PIP_INDEX_URL).
BAKE_ENVIRONMENT = ("CA_BUNDLE", "REVISION", "CREATED", "SOURCE_DATE_EPOCH", "PLATFORMS")


@pytest.fixture
def clean_bake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests of bake command lines must not see CI's CA_BUNDLE and friends."""
    for name in (*BAKE_ENVIRONMENT, *(s.env for s in stacks.build_secrets())):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True, scope="session")
def _own_sutrabuild_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite's template cache and validity stamps live apart from the user's."""
    previous = os.environ.get("SUTRABUILD_CACHE")
    os.environ["SUTRABUILD_CACHE"] = str(tmp_path_factory.mktemp("sutrabuild-cache"))
    yield
    if previous is None:
        del os.environ["SUTRABUILD_CACHE"]
    else:
        os.environ["SUTRABUILD_CACHE"] = previous


def without_report_args(argv: list[str]) -> list[str]:
    """A recorded buildx command line without what sutrabuild adds for its build report
    (`--progress=rawjson`, `--metadata-file PATH`)."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--metadata-file":
            skip = True
        elif arg != "--progress=rawjson":
            kept.append(arg)
    return kept


# A fixed identity: the machine running the tests may have no git user configured.
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(root: Path, *args: str) -> str:
    """Run git in root with the test identity; its stdout, stripped. Fails loudly."""
    proc = subprocess.run(
        ["git", *args],
        cwd=root,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def commit_all(root: Path, message: str) -> str:
    """Commit everything in root (an empty commit if nothing changed); the new HEAD."""
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")


def committed_project(root: Path) -> Path:
    """The project's specs, sources and generated files, committed in a repository of its
    own at root."""
    for name in ("editions", "packages", "dockerfiles"):
        shutil.copytree(REPO_ROOT / name, root / name)
    shutil.copy(REPO_ROOT / "docker-bake.hcl", root)
    git(root, "init", "-q")
    commit_all(root, "first")
    return root


# The minimal project with the optional keys the exact-value tests look at.
DETAILED_EDITS = (
    ("  version: 0.1.0\n", "  version: 0.1.0\n  vendor: Sutra AI\n"),
    (
        "    bases: [python-base]\n",
        "    description: Compilers for native extensions\n"
        "    bases: [python-base]\n"
        "    packages: [libc6-dev, gcc]\n",
    ),
    (
        "    port: 8000\n",
        "    description: Public REST API\n"
        "    port: 8000\n"
        '    env: {STORAGE_URL: "http://store:9000"}\n',
    ),
    ("    port: 9000\n", "    port: 9000\n    env: {DATA_DIR: /data}\n    volumes: [/data]\n"),
)
DETAILED_PROJECT = MINIMAL_PROJECT
for _old, _new in DETAILED_EDITS:
    DETAILED_PROJECT = replace_once(DETAILED_PROJECT, _old, _new)
DETAILED_EDITIONS = {
    "editions/project.yaml": DETAILED_PROJECT,
    "editions/simple.yaml": "description: Just the API\nservices: [api]\n",
    "editions/full.yaml": "extends: simple\nservices: [store]\n",
}
