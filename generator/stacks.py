"""Language stacks as data: every folder templates/stacks/<name>/ with a stack.yaml is a stack.

The generator knows no stack by name. A manifest says which files a service context holds,
the default command, and the base templates the folder ships; the service template is the
folder's service.Dockerfile.j2. Adding a stack is adding a folder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from generator import memo
from generator.errors import Problem, SpecError
from generator.specs import SpecFile, parse_yaml

STACKS_DIR = "stacks"
MANIFEST = "stack.yaml"
SERVICE_TEMPLATE = "service.Dockerfile.j2"
TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class TemplateNeeds:
    """What a base template reads from its spec, and the files its build context must hold."""

    uses: frozenset[str]
    requires: frozenset[str]
    context_files: tuple[str, ...] = ()
    # The template file, relative to templates/, and the stack whose folder ships it.
    path: str = ""
    stack: str = ""


@dataclass(frozen=True)
class BuildSecret:
    """A secret a stack's fetch steps read from an environment variable of bake's (an optional
    BuildKit secret, `env=`); its steps require it once it is set."""

    id: str
    env: str
    description: str
    # Where its manifest declares it: errors about it point there.
    file: str = ""
    line: int = 0
    path: str = ""


@dataclass(frozen=True)
class StackManifest:
    """One stack folder: its service template, context files and default command."""

    name: str
    service_template: str
    context_files: tuple[str, ...]
    command: tuple[str, ...]
    base_templates: Mapping[str, TemplateNeeds]
    forbidden_tools: tuple[str, ...] = ()
    build_caches: tuple[str, ...] = ()
    build_secrets: tuple[BuildSecret, ...] = ()

    def default_command(self, service: str) -> tuple[str, ...]:
        """The CMD of a service that sets none; `{name}` stands for the service."""
        return tuple(part.replace("{name}", service) for part in self.command)


def _schema_problems(spec: SpecFile) -> list[Problem]:
    """The manifest's schema problems. A manifest found valid before is remembered (like the
    specs, see schema.check_all), so a run need not import jsonschema for it."""
    text = resources.files("generator").joinpath("schemas/stack.schema.json").read_text()
    data = json.dumps(spec.data, sort_keys=True, default=repr)
    key = hashlib.sha256(f"{text}\0{spec.path}\0{data}".encode()).hexdigest()
    stamp = memo.stamp("valid-stack", key)
    if stamp is not None and stamp.exists():
        return []
    from jsonschema import Draft202012Validator

    errors = Draft202012Validator(json.loads(text)).iter_errors(spec.data)
    problems = [spec.problem(tuple(e.absolute_path), e.message) for e in errors]
    if not problems and stamp is not None:
        memo.touch(stamp)
    return problems


def _needs(stack: str, name: str, raw: Mapping[str, list[str]]) -> TemplateNeeds:
    return TemplateNeeds(
        frozenset(raw["uses"]),
        frozenset(raw["requires"]),
        tuple(raw.get("context_files", ())),
        f"{STACKS_DIR}/{stack}/{name}.Dockerfile.j2",
        stack,
    )


def _secrets(spec: SpecFile) -> tuple[BuildSecret, ...]:
    found = []
    for i, raw in enumerate(spec.data.get("build_secrets") or ()):
        where = spec.problem(("build_secrets", i), "")
        found.append(
            BuildSecret(
                raw["id"], raw["env"], raw["description"], where.file, where.line, where.path
            )
        )
    return tuple(found)


def _manifest(root: Path, name: str) -> tuple[StackManifest | None, list[Problem]]:
    folder = f"{STACKS_DIR}/{name}"
    rel = f"templates/{folder}/{MANIFEST}"
    try:
        spec = parse_yaml((root / folder / MANIFEST).read_text(encoding="utf-8"), rel)
    except SpecError as exc:
        return None, list(exc.problems)
    problems = _schema_problems(spec)
    for file in (
        SERVICE_TEMPLATE,
        *(f"{b}.Dockerfile.j2" for b in spec.data.get("base_templates") or {}),
    ):
        if not (root / folder / file).is_file():
            problems.append(spec.problem((), f"{folder}/{file} is missing"))
    if problems:
        return None, problems
    raw = spec.data
    bases = {k: _needs(name, k, v) for k, v in sorted((raw.get("base_templates") or {}).items())}
    return (
        StackManifest(
            name,
            f"{folder}/{SERVICE_TEMPLATE}",
            tuple(raw["context_files"]),
            tuple(raw["command"]),
            MappingProxyType(bases),
            tuple(raw.get("forbidden_tools", ())),
            tuple(raw.get("build_caches", ())),
            _secrets(spec),
        ),
        [],
    )


# The project being processed may ship its own templates/ (stack folders beside its specs);
# they come first, then sutrabuild's own. Set by use_project() when the specs are loaded.
_project_templates: list[Path] = []


def use_project(root: Path) -> None:
    """Look for stacks and templates in root/templates/ too (before sutrabuild's own)."""
    own = (root / "templates").resolve()
    _project_templates[:] = [own] if own.is_dir() and own != TEMPLATE_DIR else []


def template_dirs() -> tuple[Path, ...]:
    """Where templates are looked up, first match wins."""
    return (*_project_templates, TEMPLATE_DIR)


@cache
def _load(dirs: tuple[Path, ...]) -> Mapping[str, StackManifest]:
    stacks: dict[str, StackManifest] = {}
    problems: list[Problem] = []
    for root in reversed(dirs):
        for path in sorted((root / STACKS_DIR).glob(f"*/{MANIFEST}")):
            manifest, found = _manifest(root, path.parent.name)
            problems += found
            if manifest is not None:
                stacks[manifest.name] = manifest
    if problems:
        raise SpecError(problems)
    return MappingProxyType(dict(sorted(stacks.items())))


def load_stacks() -> Mapping[str, StackManifest]:
    """Every stack folder (templates/stacks/<name>/ with a stack.yaml), by name; a project's
    own folder of the same name replaces sutrabuild's. Raise SpecError for a bad manifest."""
    return _load(template_dirs())


def base_templates() -> Mapping[str, TemplateNeeds]:
    """Every base template any stack ships, by name."""
    found: dict[str, TemplateNeeds] = {}
    for stack in load_stacks().values():
        found.update(stack.base_templates)
    return MappingProxyType(dict(sorted(found.items())))


def forbidden_tools() -> tuple[str, ...]:
    """Every stack's build tools that must not reach a runtime image, in stack order."""
    return tuple(dict.fromkeys(t for s in load_stacks().values() for t in s.forbidden_tools))


def build_caches() -> tuple[str, ...]:
    """Every stack's package-manager caches that must not reach a runtime image."""
    return tuple(dict.fromkeys(c for s in load_stacks().values() for c in s.build_caches))


def build_secrets() -> tuple[BuildSecret, ...]:
    """Every stack's build secrets, in stack order (one per id and variable)."""
    found: dict[tuple[str, str], BuildSecret] = {}
    for stack in load_stacks().values():
        for secret in stack.build_secrets:
            found.setdefault((secret.id, secret.env), secret)
    return tuple(found.values())
