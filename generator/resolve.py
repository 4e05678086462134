"""Semantic checks the schema cannot express, and each edition's full set of images."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from generator.errors import Problem, SpecError
from generator.model import Edition, Project, Service
from generator.stacks import base_templates, load_stacks

# Group names the bake file itself uses.
RESERVED_NAMES = frozenset({"default", "bases"})
# Build args and env end up in image metadata for anyone who can pull the image.
SECRET_NAME = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|_KEY$|^KEY$|CREDENTIAL", re.IGNORECASE)
# Volumes over these would hide or hand the non-root user what the OS needs.
SYSTEM_DIRS = frozenset(
    {"bin", "boot", "dev", "etc", "lib", "lib64", "proc", "root", "run", "sbin", "sys", "usr"}
)
NOT_NFC = (
    "text not in Unicode NFC form: bake stores labels and build args NFC-normalized, so the "
    "image would not get this exact text; save it composed (NFC), e.g. 'é' as one character, "
    "not 'e' plus a combining accent"
)


@dataclass(frozen=True)
class ResolvedEdition:
    """An edition with `extends` applied: every service image and the bases they need."""

    name: str
    description: str
    services: tuple[str, ...]
    bases: tuple[str, ...]


@dataclass(frozen=True)
class Resolved:
    """The checked project and its editions, ready to plan."""

    project: Project
    editions: Mapping[str, ResolvedEdition]


def _chain(project: Project, edition: Edition) -> list[Edition]:
    """The edition, then what it extends, and so on; stops at a cycle or unknown name."""
    chain = [edition]
    while (name := chain[-1].extends) is not None and name in project.editions:
        if project.editions[name] in chain:
            break
        chain.append(project.editions[name])
    return chain


def _edition_problems(project: Project, edition: Edition) -> Iterator[Problem]:
    spec = project.sources[edition.file]
    if edition.name in RESERVED_NAMES or not re.fullmatch(r"[a-z][a-z0-9-]*", edition.name):
        yield spec.problem(
            (), f"edition name {edition.name!r} (from the file name) is reserved or invalid"
        )
    if edition.extends is not None:
        chain = _chain(project, edition)
        if edition.extends not in project.editions:
            yield spec.problem(("extends",), f"unknown edition {edition.extends!r}")
        elif chain[-1].extends == edition.name:
            names = " -> ".join(e.name for e in chain) + f" -> {edition.name}"
            yield spec.problem(("extends",), f"extends cycle: {names}")
    inherited = {s: e.name for e in _chain(project, edition)[1:] for s in e.services}
    for i, name in enumerate(edition.services):
        if name not in project.services:
            yield spec.problem(("services", i), f"unknown service {name!r}")
        elif name in inherited:
            msg = f"service {name!r} is already in edition {inherited[name]!r} (via extends)"
            yield spec.problem(("services", i), msg)


def _reference_problems(project: Project) -> Iterator[Problem]:
    spec = project.project_file
    if project.settings.default_edition not in project.editions:
        name = project.settings.default_edition
        yield spec.problem(("project", "default_edition"), f"unknown edition {name!r}")
    for stack in project.stacks.values():
        if stack.name not in load_stacks():
            known = ", ".join(load_stacks())
            msg = f"no folder templates/stacks/{stack.name}/ with a stack.yaml (found: {known})"
            yield spec.problem(("stacks", stack.name), msg)
        for role in ("builder", "runtime"):
            if getattr(stack, role) not in project.bases:
                msg = f"unknown base {getattr(stack, role)!r}"
                yield spec.problem(("stacks", stack.name, role), msg)
    for service in project.services.values():
        if service.stack not in project.stacks:
            msg = f"stack {service.stack!r} is not defined under stacks"
            yield spec.problem(("services", service.name, "stack"), msg)
        elif service.base is not None:
            yield from _custom_base_problems(project, service, service.base)


def _custom_base_problems(project: Project, service: Service, base: str) -> Iterator[Problem]:
    """A service's own `base` must exist and be built on its stack's runtime base, which
    holds what the stack's service template relies on (the probe, the user, the runtime)."""
    path, runtime = ("services", service.name, "base"), project.stacks[service.stack].runtime
    if base not in project.bases:
        yield project.project_file.problem(path, f"unknown base {base!r}")
    elif runtime not in base_closure(project, (base,)):
        stack = service.stack
        msg = f"base {base!r} is not built on {runtime!r}, the runtime base of stack {stack!r}"
        yield project.project_file.problem(path, msg)


def _base_problems(project: Project) -> Iterator[Problem]:
    spec = project.project_file
    for base in project.bases.values():
        for i, dep in enumerate(base.bases):
            if dep not in project.bases:
                yield spec.problem(("bases", base.name, "bases", i), f"unknown base {dep!r}")
            elif base.name in base_closure(project, (dep,)):
                yield spec.problem(("bases", base.name, "bases", i), f"base cycle through {dep!r}")
        yield from _template_key_problems(project, base.name)


def _template_key_problems(project: Project, name: str) -> Iterator[Problem]:
    base, spec = project.bases[name], project.project_file
    needs = base_templates().get(base.template)
    if needs is None:
        known = ", ".join(base_templates())
        yield spec.problem(
            ("bases", name, "template"), f"unknown template {base.template!r} ({known})"
        )
        return
    given = {"from": base.from_image, "context": base.context, "bases": base.bases}
    given["packages"] = base.packages
    for key, value in sorted(given.items()):
        if value and key not in needs.uses:
            msg = f"template {base.template!r} does not use {key!r}; remove it"
            yield spec.problem(("bases", name, key), msg)
        elif not value and key in needs.requires:
            yield spec.problem(("bases", name), f"template {base.template!r} needs {key!r}")


def _name_problems(project: Project) -> Iterator[Problem]:
    spec = project.project_file
    base_images = {project.settings.name + "-" + b: b for b in project.bases}
    for name in project.services:
        if name in project.bases or name in base_images:
            yield spec.problem(("services", name), f"service name {name!r} clashes with a base")
        if name in project.editions or name in RESERVED_NAMES:
            msg = f"service name {name!r} clashes with an edition (bake group) name"
            yield spec.problem(("services", name), msg)
    for name in project.bases:
        if name in project.editions or name in RESERVED_NAMES:
            yield spec.problem(("bases", name), f"base name {name!r} clashes with an edition name")


def _env_problems(project: Project) -> Iterator[Problem]:
    spec = project.project_file
    for service in project.services.values():
        if "PORT" in dict(service.env):
            msg = "PORT is set from the service's `port`; remove it from env"
            yield spec.problem(("services", service.name, "env", "PORT"), msg)


def _secret_problems(project: Project) -> Iterator[Problem]:
    spec = project.project_file
    for service in project.services.values():
        for kind, pairs in (("env", service.env), ("args", service.args)):
            for key, _ in pairs:
                if SECRET_NAME.search(key):
                    msg = (
                        f"{key!r} looks like a secret: {kind} values are stored in the image; "
                        "pass secrets as BuildKit secret mounts (see README, 'Secrets')"
                    )
                    yield spec.problem(("services", service.name, kind, key), msg)


def _bake_texts(project: Project) -> Iterator[tuple[tuple[str, ...], str]]:
    """Free text that becomes a string in docker-bake.hcl (labels, build args), by spec path."""
    yield ("project", "vendor"), project.settings.vendor
    for base in project.bases.values():
        yield ("bases", base.name, "description"), base.description
    for service in project.services.values():
        yield ("services", service.name, "description"), service.description
        for key, value in service.args:
            yield ("services", service.name, "args", key), value


def _nfc_problems(project: Project) -> Iterator[Problem]:
    # HCL has no escape around the normalization, so 'e' + U+0301 would reach the image as 'é'.
    spec = project.project_file
    for path, text in _bake_texts(project):
        if not unicodedata.is_normalized("NFC", text):
            yield spec.problem(path, NOT_NFC)


def _volume_problems(project: Project) -> Iterator[Problem]:
    spec = project.project_file
    for service in project.services.values():
        for i, volume in enumerate(service.volumes):
            if volume.strip("/").split("/")[0] in SYSTEM_DIRS:
                msg = f"{volume!r} is a system directory; mount data somewhere like /data"
                yield spec.problem(("services", service.name, "volumes", i), msg)


def _path_problem(root: Path, rel: str, needs: tuple[str, ...]) -> str | None:
    real_root = root.resolve()
    path = (root / rel).resolve()
    if path != real_root and real_root not in path.parents:
        return f"{rel!r} escapes the project root"
    if not path.is_dir():
        return f"{rel!r} is not a directory under the project root"
    missing = [n.rstrip("/") for n in needs if not (path / n).exists()]
    return f"{rel!r} lacks {', '.join(missing)}" if missing else None


def _context_problems(project: Project, root: Path) -> Iterator[Problem]:
    spec = project.project_file
    for base in project.bases.values():
        needs = base_templates().get(base.template)
        files = needs.context_files if needs else ()
        if base.context and (msg := _path_problem(root, base.context, files)):
            yield spec.problem(("bases", base.name, "context"), msg)
    for service in project.services.values():
        stack = load_stacks().get(service.stack)
        files = stack.context_files if stack else ()
        if msg := _path_problem(root, service.context, files):
            yield spec.problem(("services", service.name, "context"), msg)
        if service.template and not (root / service.template).is_file():
            msg = f"{service.template!r} is not a file under the project root"
            yield spec.problem(("services", service.name, "template"), msg)


def base_closure(project: Project, names: tuple[str, ...]) -> set[str]:
    """NAMES's bases and the bases they are built on, to any depth."""
    seen: set[str] = set()
    todo = [n for n in names if n in project.bases]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(b for b in project.bases[name].bases if b in project.bases)
    return seen


def service_bases(project: Project, service: str) -> tuple[str, str]:
    """The (builder, runtime) bases a service is built from."""
    spec = project.services[service]
    stack = project.stacks[spec.stack]
    return stack.builder, spec.base or stack.runtime


def linked_bases(resolved: Resolved, target: str) -> tuple[str, ...]:
    """The bases that other targets of `bake TARGET` reach through `target:` contexts.

    TARGET is an edition, `default`, `bases`, a service or a base.
    """
    project = resolved.project
    if target == "default":
        target = project.settings.default_edition
    if target in resolved.editions:
        return resolved.editions[target].bases
    direct: tuple[str, ...]
    if target in project.services:
        direct = service_bases(project, target)
    elif target in project.bases:
        direct = project.bases[target].bases
    else:  # the `bases` group: every base that another base is built on
        direct = tuple(d for b in project.bases.values() for d in b.bases)
    return tuple(sorted(base_closure(project, direct)))


def _resolve_edition(project: Project, edition: Edition) -> ResolvedEdition:
    services = sorted({s for e in _chain(project, edition) for s in e.services})
    direct = tuple(b for s in services for b in service_bases(project, s))
    bases = sorted(base_closure(project, direct))
    return ResolvedEdition(edition.name, edition.description, tuple(services), tuple(bases))


def problems(project: Project, root: Path) -> list[Problem]:
    """Every semantic problem in the project."""
    found = [p for e in project.editions.values() for p in _edition_problems(project, e)]
    checks = (
        _reference_problems,
        _base_problems,
        _name_problems,
        _env_problems,
        _secret_problems,
        _nfc_problems,
        _volume_problems,
    )
    for check in checks:
        found.extend(check(project))
    found.extend(_context_problems(project, root))
    return found


def resolve(project: Project, root: Path) -> Resolved:
    """Check the project semantically and expand every edition; raise SpecError on problems."""
    found = problems(project, root)
    if found:
        raise SpecError(found)
    editions = {e.name: _resolve_edition(project, e) for e in project.editions.values()}
    return Resolved(project, MappingProxyType(editions))
