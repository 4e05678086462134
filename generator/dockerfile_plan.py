"""Plan each generated Dockerfile (and its .dockerignore): what its template needs of a base
or a service, decided here so the templates hold layout only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from generator import custom
from generator.model import Base, Pairs, Project, Service
from generator.paths import base_image, dockerfile_path, header
from generator.resolve import service_bases
from generator.specs import SPEC_DIR
from generator.stacks import BuildSecret, base_templates, load_stacks


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
    # Its stack's build secrets (the manifest's build_secrets): what its fetch steps mount.
    secrets: tuple[BuildSecret, ...] = ()

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
        secrets=load_stacks()[base_templates()[base.template].stack].build_secrets,
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
        secrets=load_stacks()[service.stack].build_secrets,
        **_user_fields(project),
    )


def dockerfile_plans(project: Project) -> tuple[DockerfilePlan, ...]:
    """One plan per base and per service, in path order."""
    plans: list[DockerfilePlan] = [_base_dockerfile(project, b) for b in project.bases.values()]
    plans += [_service_dockerfile(project, s) for s in project.services.values()]
    return tuple(sorted(plans, key=lambda p: p.path))
