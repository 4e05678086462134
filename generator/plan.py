"""Turn the resolved model into the bake file's plan, in bake's own vocabulary (variable,
group, target, contexts, cache-from), and gather it with the Dockerfiles' plans."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from generator import cache, mirror, stacks
from generator.dockerfile_plan import DockerfilePlan, dockerfile_plans
from generator.errors import Problem, SpecError
from generator.model import Base, Pairs, Project, Service
from generator.paths import BAKE_FILE, DOCKERFILE_DIR, base_image, dockerfile_path, header
from generator.resolve import Resolved, base_closure, service_bases
from generator.specs import SPEC_DIR

BASES_GROUP = "bases"
# The one build secret of every project: the CA bundle (CA_BUNDLE), whatever the stacks.
CA_BUNDLE_ID = "ca_bundle"


@dataclass(frozen=True)
class Variable:
    """A bake `variable` block: overridable from the environment of `docker buildx bake`."""

    name: str
    default: str
    comment: str


@dataclass(frozen=True)
class Group:
    """A bake `group`: one per edition, plus `default`."""

    name: str
    targets: tuple[str, ...]
    comment: str = ""


@dataclass(frozen=True)
class Target:
    """A bake `target`: one per image; shared attributes come from `_common`."""

    name: str
    image: str
    context: str
    dockerfile: str
    contexts: Pairs
    labels: Pairs
    args: Pairs = ()
    # Upstream images its Dockerfile starts FROM: named contexts when BASE_MIRROR is set.
    mirrored: tuple[str, ...] = ()
    cache: str = cache.REGISTRY
    # (image, backend) of every cache it imports: its own, then each base's below it.
    cache_from: Pairs = ()


@dataclass(frozen=True)
class BakePlan:
    """Everything docker-bake.hcl says."""

    path: str
    header: str
    variables: tuple[Variable, ...]
    groups: tuple[Group, ...]
    common_labels: Pairs
    targets: tuple[Target, ...]
    # The stacks' build secrets: each an optional secret of every target, required once set.
    secrets: tuple[stacks.BuildSecret, ...] = ()

    @property
    def required_args(self) -> Pairs:
        """(ARG, variable) for every build secret: true once the variable is set."""
        ids = ((CA_BUNDLE_ID, "CA_BUNDLE"), *((s.id, s.env) for s in self.secrets))
        return tuple((f"{i.upper()}_REQUIRED", env) for i, env in ids)


@dataclass(frozen=True)
class Plan:
    """The bake file and every Dockerfile to render."""

    bake: BakePlan
    dockerfiles: tuple[DockerfilePlan, ...]


def _context_dir(context: str | None) -> str:
    # Bases that copy nothing still need a context: the tiny dockerfiles/ dir, all of it ignored.
    return context or DOCKERFILE_DIR


def _target(
    project: Project,
    name: str,
    image: str,
    context: str | None,
    deps: tuple[str, ...],
    description: str,
    args: Pairs = (),
    mirrored: tuple[str, ...] = (),
    backend: str | None = None,
) -> Target:
    ctx = _context_dir(context)
    own = cache.target_backend(project.settings.cache, backend)
    return Target(
        name=name,
        image=image,
        context=ctx,
        dockerfile=posixpath.relpath(dockerfile_path(image), ctx),
        contexts=tuple(sorted((base_image(project, d), f"target:{d}") for d in deps)),
        labels=_labels(image, description),
        args=args,
        mirrored=mirrored,
        cache=own,
        cache_from=((image, own), *_base_caches(project, deps)),
    )


def _base_caches(project: Project, deps: tuple[str, ...]) -> Pairs:
    """The caches of every base a target is built on. bake shares a base's steps between
    the targets that use it, and BuildKit looks a shared step up only in the imports of the
    target that reached it first: measured after `buildx prune -af`, a service importing just
    its own cache reran its base's apt step and every step after it."""
    return tuple(
        (
            base_image(project, name),
            cache.target_backend(project.settings.cache, project.bases[name].cache),
        )
        for name in sorted(base_closure(project, deps))
    )


def _labels(image: str, description: str) -> Pairs:
    labels = [("org.opencontainers.image.title", image)]
    if description:
        labels.append(("org.opencontainers.image.description", description))
    return tuple(labels)


def _base_target(project: Project, base: Base) -> Target:
    image = base_image(project, base.name)
    return _target(
        project,
        base.name,
        image,
        base.context,
        base.bases,
        base.description,
        backend=base.cache,
        mirrored=mirror.upstream_images(base),
    )


def _service_target(project: Project, service: Service) -> Target:
    deps = service_bases(project, service.name)
    return _target(
        project,
        service.name,
        service.name,
        service.context,
        deps,
        service.description,
        service.args,
        backend=service.cache,
    )


def _variables(project: Project, secrets: tuple[stacks.BuildSecret, ...]) -> tuple[Variable, ...]:
    """The project's variables, then each stack's build secrets after CA_BUNDLE (the secrets
    every build may need), then the cache's and the mirror's."""
    own = _image_variables(project)
    later = _cache_variables(project)
    return (*own, *_secret_variables(secrets, {v.name for v in (*own, *later)}), *later)


def _secret_variables(
    secrets: tuple[stacks.BuildSecret, ...], taken: set[str]
) -> tuple[Variable, ...]:
    problems = _secret_clashes(secrets, taken)
    if problems:
        raise SpecError(problems)
    found = {s.env: Variable(s.env, "", f"{s.description} (a build secret).") for s in secrets}
    return tuple(found.values())


def _secret_clashes(secrets: tuple[stacks.BuildSecret, ...], taken: set[str]) -> list[Problem]:
    """A build secret may take no bake variable, nor the CA bundle's id, and one id is one
    variable: each id becomes an <ID>_REQUIRED arg of every target."""
    env_of: dict[str, str] = {}
    problems = []
    for s in secrets:
        message = _secret_clash(s, taken, env_of)
        if message:
            problems.append(Problem(s.file, s.line, s.path, message))
    return problems


def _secret_clash(s: stacks.BuildSecret, taken: set[str], env_of: dict[str, str]) -> str | None:
    if s.env in taken:
        return f"env {s.env} is already a variable of the bake file"
    if s.id == CA_BUNDLE_ID:
        return f"id {s.id} is the CA bundle's own"
    first = env_of.setdefault(s.id, s.env)
    return None if first == s.env else f"id {s.id} is already declared with env {first}"


def _image_variables(project: Project) -> tuple[Variable, ...]:
    s = project.settings
    return (
        Variable("REGISTRY", s.registry, "Registry and namespace every tag starts with."),
        Variable("VERSION", s.version, "Version of every image (its label), e.g. VERSION=1.2.3."),
        Variable("TAG", "", "Tag every image is pushed as; empty: VERSION (CI jobs stage here)."),
        Variable(
            "PLATFORMS",
            "",
            "Comma-separated platforms; empty builds for the builder's own. Releases build "
            f"{','.join(s.platforms)} (`sutrabuild bake --all-platforms`).",
        ),
        Variable("REVISION", "", "VCS revision label; `sutrabuild bake` sets it from git."),
        Variable(
            "SOURCE_DATE_EPOCH",
            "0",
            "Image time in Unix seconds (config, history, file times); a constant keeps caches.",
        ),
        Variable(
            "CREATED", "", "RFC 3339 created label (sutrabuild: the commit's); or the epoch's."
        ),
        Variable("CA_BUNDLE", "", "PEM bundle for TLS-intercepting proxies (a build secret)."),
    )


def _cache_variables(project: Project) -> tuple[Variable, ...]:
    s = project.settings
    return (
        Variable(
            cache.ENV_VAR,
            "",
            f"Build cache backend of every target ({'|'.join(cache.BACKENDS)}); "
            "empty: each target's from the spec.",
        ),
        Variable("CACHE_REGISTRY", "", "Registry prefix of the `registry` cache; empty: none."),
        Variable("CACHE_DIR", cache.LOCAL_DIR, "Directory of the `local` cache (in the project)."),
        Variable(
            "CACHE_SCOPE",
            "",
            "Suffix of every cache name, so jobs that build apart (one per platform) never "
            "overwrite each other's cache, e.g. linux-arm64.",
        ),
        Variable(
            mirror.VARIABLE,
            s.base_mirror,
            "Registry/namespace holding the upstream bases (MIRROR/python:3.11-slim); "
            "empty: pull them as the Dockerfiles name them.",
        ),
    )


def _groups(resolved: Resolved) -> tuple[Group, ...]:
    project = resolved.project
    default = Group("default", (project.settings.default_edition,), "Plain `docker buildx bake`.")
    bases = Group(
        BASES_GROUP, tuple(project.bases), "Every base, tagged (editions build them untagged)."
    )
    editions = [Group(e.name, e.services, e.description) for e in resolved.editions.values()]
    return (default, bases, *sorted(editions, key=lambda g: g.name))


def _common_labels(project: Project) -> Pairs:
    labels = [("org.opencontainers.image.source", project.settings.source)]
    if project.settings.vendor:
        labels.append(("org.opencontainers.image.vendor", project.settings.vendor))
    return tuple(labels)


def bake_plan(resolved: Resolved) -> BakePlan:
    """The docker-bake.hcl plan: variables, a group per edition, a target per image."""
    project = resolved.project
    secrets = stacks.build_secrets()
    bases = [_base_target(project, b) for b in project.bases.values()]
    services = [_service_target(project, s) for s in project.services.values()]
    return BakePlan(
        path=BAKE_FILE,
        header=header(f"{SPEC_DIR}/*.yaml", "bake file"),
        variables=_variables(project, secrets),
        groups=_groups(resolved),
        common_labels=_common_labels(project),
        targets=tuple(sorted(bases + services, key=lambda t: t.name)),
        secrets=secrets,
    )


def plan(resolved: Resolved) -> Plan:
    """Plan every generated file."""
    return Plan(bake_plan(resolved), dockerfile_plans(resolved.project))
