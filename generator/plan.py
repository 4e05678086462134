"""Turn the resolved model into plans that mirror bake's vocabulary and each Dockerfile's needs."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import TypedDict

from generator import GENERATED_MARKER, cache, custom, mirror
from generator.model import Base, Pairs, Project, Service
from generator.resolve import Resolved, base_closure, service_bases
from generator.specs import SPEC_DIR
from generator.stacks import base_templates, load_stacks

BAKE_FILE = "docker-bake.hcl"
DOCKERFILE_DIR = "dockerfiles"
BASES_GROUP = "bases"


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


@dataclass(frozen=True)
class HealthcheckPlan:
    """The HEALTHCHECK line: its options and the exec-form probe command."""

    options: str
    command: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class DockerfilePlan:
    """What every generated Dockerfile (and its .dockerignore) needs."""

    path: str
    template: str
    header: str
    name: str
    user_name: str
    uid: int
    gid: int
    context_allow: tuple[str, ...]

    @property
    def dockerignore_lines(self) -> tuple[str, ...]:
        """Ignore everything, then allow what the Dockerfile copies (minus bytecode)."""
        if not self.context_allow:
            return ("*",)
        allowed = tuple(f"!{path}" for path in self.context_allow)
        return ("*", *allowed, "**/__pycache__", "**/*.pyc")

    @property
    def dockerignore_path(self) -> str:
        """BuildKit reads <Dockerfile>.dockerignore next to the Dockerfile before the context's."""
        return self.path + ".dockerignore"


@dataclass(frozen=True, kw_only=True)
class BaseDockerfile(DockerfilePlan):
    """A base image: FROM an upstream image or another base, maybe with a build stage."""

    from_image: str | None
    from_base: str | None
    build_stage_base: str | None
    packages: tuple[str, ...]

    @property
    def named_contexts(self) -> frozenset[str]:
        """The bases this Dockerfile starts a stage FROM."""
        return frozenset(b for b in (self.from_base, self.build_stage_base) if b)


@dataclass(frozen=True, kw_only=True)
class ServiceDockerfile(DockerfilePlan):
    """A service image: a build stage on its stack's builder, a runtime on its runtime base."""

    builder: str
    runtime: str
    port: int
    env: Pairs
    args: Pairs
    command: tuple[str, ...]
    volumes: tuple[str, ...]
    healthcheck: HealthcheckPlan
    # Debian packages for the runtime stage, and for the build stage only.
    packages: tuple[str, ...] = ()
    build_packages: tuple[str, ...] = ()

    @property
    def named_contexts(self) -> frozenset[str]:
        """The bases this Dockerfile starts a stage FROM."""
        return frozenset({self.builder, self.runtime})


@dataclass(frozen=True)
class Plan:
    """The bake file and every Dockerfile to render."""

    bake: BakePlan
    dockerfiles: tuple[DockerfilePlan, ...]


def header(source: str, what: str) -> str:
    """The one-line header that marks a file as generated (and lets render/check find it)."""
    return (
        f"{GENERATED_MARKER} from {source} ({what}). "
        "Do not edit: change the spec, then run `make render`."
    )


def base_image(project: Project, base: str) -> str:
    """The image (and named-context) name of a base: sutra-python-base."""
    return f"{project.settings.name}-{base}"


def dockerfile_path(image: str) -> str:
    """Where an image's generated Dockerfile lives."""
    return f"{DOCKERFILE_DIR}/{image}.Dockerfile"


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


def _variables(project: Project) -> tuple[Variable, ...]:
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
        Variable("PIP_INDEX_URL", "", "Package index URL, may hold credentials (a build secret)."),
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
    bases = [_base_target(project, b) for b in project.bases.values()]
    services = [_service_target(project, s) for s in project.services.values()]
    return BakePlan(
        path=BAKE_FILE,
        header=header(f"{SPEC_DIR}/*.yaml", "bake file"),
        variables=_variables(project),
        groups=_groups(resolved),
        common_labels=_common_labels(project),
        targets=tuple(sorted(bases + services, key=lambda t: t.name)),
    )


def _healthcheck(service: Service) -> HealthcheckPlan:
    check = service.healthcheck
    options = (
        f"--interval={check.interval} --timeout={check.timeout} "
        f"--start-period={check.start_period} --start-interval={check.start_interval} "
        f"--retries={check.retries}"
    )
    url = f"http://localhost:{service.port}{check.path}"
    return HealthcheckPlan(options, ("sutra-healthcheck", url))


def _default_command(service: Service) -> tuple[str, ...]:
    return load_stacks()[service.stack].default_command(service.name)


class _UserFields(TypedDict):
    user_name: str
    uid: int
    gid: int


def _user_fields(project: Project) -> _UserFields:
    user = project.settings.user
    return {"user_name": user.name, "uid": user.uid, "gid": user.gid}


def _base_dockerfile(project: Project, base: Base) -> BaseDockerfile:
    image = base_image(project, base.name)
    first = base_image(project, base.bases[0]) if base.bases else None
    # Validation allows `bases` with `from` only where a template has a build stage.
    return BaseDockerfile(
        path=dockerfile_path(image),
        template=base_templates()[base.template].path,
        header=header(f"{SPEC_DIR}/project.yaml", f"base {base.name}"),
        name=image,
        from_image=base.from_image,
        from_base=None if base.from_image else first,
        build_stage_base=first if base.from_image else None,
        packages=base.packages,
        context_allow=base_templates()[base.template].context_files,
        **_user_fields(project),
    )


def _service_dockerfile(project: Project, service: Service) -> ServiceDockerfile:
    builder, runtime = service_bases(project, service.name)
    return ServiceDockerfile(
        path=dockerfile_path(service.name),
        template=custom.template_name(service) or load_stacks()[service.stack].service_template,
        header=header(f"{SPEC_DIR}/project.yaml", f"service {service.name}"),
        name=service.name,
        builder=base_image(project, builder),
        runtime=base_image(project, runtime),
        port=service.port,
        env=tuple(sorted({**dict(service.env), "PORT": str(service.port)}.items())),
        args=service.args,
        command=service.command or _default_command(service),
        volumes=service.volumes,
        healthcheck=_healthcheck(service),
        packages=service.packages,
        build_packages=service.build_packages,
        context_allow=load_stacks()[service.stack].context_files,
        **_user_fields(project),
    )


def dockerfile_plans(project: Project) -> tuple[DockerfilePlan, ...]:
    """One plan per base and per service, in path order."""
    plans: list[DockerfilePlan] = [_base_dockerfile(project, b) for b in project.bases.values()]
    plans += [_service_dockerfile(project, s) for s in project.services.values()]
    return tuple(sorted(plans, key=lambda p: p.path))


def plan(resolved: Resolved) -> Plan:
    """Plan every generated file."""
    return Plan(bake_plan(resolved), dockerfile_plans(resolved.project))
