"""Typed, frozen data built from schema-valid specs; every later step reads only these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from generator.specs import PROJECT_FILE, SPEC_DIR, SpecFile

Pairs = tuple[tuple[str, str], ...]
T = TypeVar("T")


@dataclass(frozen=True)
class HealthCheck:
    """HEALTHCHECK options and the HTTP path the probe asks for."""

    path: str = "/health"
    interval: str = "30s"
    timeout: str = "3s"
    start_period: str = "10s"
    # Probe this often during start_period, so a healthy container reports healthy in seconds.
    start_interval: str = "2s"
    retries: int = 3


@dataclass(frozen=True)
class User:
    """The non-root account every runtime image runs as."""

    name: str = "sutra"
    uid: int = 1000
    gid: int = 1000


@dataclass(frozen=True)
class Settings:
    """Project-wide settings from the `project` section."""

    name: str
    registry: str
    version: str
    source: str
    default_edition: str
    platforms: tuple[str, ...]
    vendor: str = ""
    # Registry/namespace holding the upstream bases (generator/mirror.py); empty: none.
    base_mirror: str = ""
    user: User = User()
    healthcheck: HealthCheck = HealthCheck()
    cache: str = "registry"


@dataclass(frozen=True)
class Stack:
    """The builder and runtime bases a language's services are built on."""

    name: str
    builder: str
    runtime: str


@dataclass(frozen=True)
class Base:
    """A shared base image (one bake target, one generated Dockerfile)."""

    name: str
    template: str
    description: str = ""
    from_image: str | None = None
    bases: tuple[str, ...] = ()
    context: str | None = None
    packages: tuple[str, ...] = ()
    cache: str | None = None


@dataclass(frozen=True)
class Service:
    """A service image, defined once and shipped by one or more editions."""

    name: str
    stack: str
    context: str
    port: int
    healthcheck: HealthCheck
    description: str = ""
    command: tuple[str, ...] = ()
    env: Pairs = ()
    args: Pairs = ()
    volumes: tuple[str, ...] = ()
    size_budget_mb: int | None = None
    cache: str | None = None
    packages: tuple[str, ...] = ()
    build_packages: tuple[str, ...] = ()
    # A custom runtime base instead of the stack's, e.g. python-ml built on python-base.
    base: str | None = None
    # Its own Dockerfile template (templates/custom/...) instead of its stack's.
    template: str | None = None


@dataclass(frozen=True)
class Edition:
    """An edition as written: its own services, and the edition it extends."""

    name: str
    file: str
    services: tuple[str, ...]
    description: str = ""
    extends: str | None = None


@dataclass(frozen=True)
class Project:
    """Everything the specs say, plus the files they came from (for error locations)."""

    settings: Settings
    stacks: Mapping[str, Stack]
    bases: Mapping[str, Base]
    services: Mapping[str, Service]
    editions: Mapping[str, Edition]
    sources: Mapping[str, SpecFile] = field(compare=False, repr=False)

    @property
    def project_file(self) -> SpecFile:
        """The spec file that defines settings, bases and services."""
        return self.sources[f"{SPEC_DIR}/{PROJECT_FILE}"]


def _text(value: Any) -> str:
    # YAML booleans and numbers in env/args become the strings the image will see.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pairs(mapping: Mapping[str, Any] | None) -> Pairs:
    return tuple(sorted((k, _text(v)) for k, v in (mapping or {}).items()))


def _healthcheck(default: HealthCheck, override: Mapping[str, Any] | None) -> HealthCheck:
    merged = {**default.__dict__, **(override or {})}
    return HealthCheck(**merged)


def _settings(raw: Mapping[str, Any]) -> Settings:
    return Settings(
        name=raw["name"],
        registry=raw["registry"],
        version=raw["version"],
        source=raw["source"],
        default_edition=raw["default_edition"],
        platforms=tuple(raw["platforms"]),
        vendor=raw.get("vendor", ""),
        base_mirror=raw.get("base_mirror", ""),
        user=User(**raw["user"]) if "user" in raw else User(),
        healthcheck=_healthcheck(HealthCheck(), raw.get("healthcheck")),
        cache=raw.get("cache", "registry"),
    )


def _base(name: str, raw: Mapping[str, Any]) -> Base:
    return Base(
        name=name,
        template=raw["template"],
        description=raw.get("description", ""),
        from_image=raw.get("from"),
        bases=tuple(raw.get("bases", ())),
        context=raw.get("context"),
        packages=tuple(sorted(raw.get("packages", ()))),
        cache=raw.get("cache"),
    )


def _service(name: str, raw: Mapping[str, Any], default_check: HealthCheck) -> Service:
    return Service(
        name=name,
        stack=raw["stack"],
        context=raw["context"],
        port=raw["port"],
        healthcheck=_healthcheck(default_check, raw.get("healthcheck")),
        description=raw.get("description", ""),
        command=tuple(raw.get("command", ())),
        env=_pairs(raw.get("env")),
        args=_pairs(raw.get("args")),
        volumes=tuple(raw.get("volumes", ())),
        size_budget_mb=raw.get("size_budget_mb"),
        cache=raw.get("cache"),
        packages=tuple(sorted(raw.get("packages", ()))),
        build_packages=tuple(sorted(raw.get("build_packages", ()))),
        base=raw.get("base"),
        template=raw.get("template"),
    )


def edition_name(spec: SpecFile) -> str:
    """An edition is named after its file: editions/enterprise.yaml is `enterprise`."""
    return spec.path.rsplit("/", 1)[-1].removesuffix(".yaml")


def _edition(spec: SpecFile) -> Edition:
    raw = spec.data
    return Edition(
        name=edition_name(spec),
        file=spec.path,
        services=tuple(raw["services"]),
        description=raw.get("description", ""),
        extends=raw.get("extends"),
    )


def _frozen(items: dict[str, T]) -> Mapping[str, T]:
    return MappingProxyType(dict(sorted(items.items())))


def build_project(specs: list[SpecFile]) -> Project:
    """Turn schema-valid specs (project.yaml first) into the typed model."""
    project_spec, *edition_specs = specs
    raw = project_spec.data
    settings = _settings(raw["project"])
    stacks = {k: Stack(k, v["builder"], v["runtime"]) for k, v in raw["stacks"].items()}
    bases = {k: _base(k, v) for k, v in raw["bases"].items()}
    services = {k: _service(k, v, settings.healthcheck) for k, v in raw["services"].items()}
    editions = {e.name: e for e in map(_edition, edition_specs)}
    sources = {s.path: s for s in specs}
    return Project(
        settings, _frozen(stacks), _frozen(bases), _frozen(services), _frozen(editions), sources
    )
