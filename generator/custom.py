"""Custom service templates (`template: templates/custom/<name>.Dockerfile.j2`): the escape
hatch for what no stack covers, held to the same guarantees as a stack's template.

The bake target (labels, secrets, contexts), the .dockerignore allowlist (from the service's
stack), `check` and `verify`'s image policy apply to it unchanged, because they never read
the template. What only the template decides is checked on its output: the final stage
must keep a HEALTHCHECK and run as a user other than root.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from generator.errors import Problem
from generator.model import Project, Service

# Where a service's own template lives, relative to the project root; Jinja2 names it
# relative to templates/.
PREFIX = "templates/"
_FROM = re.compile(r"^\s*FROM\s", re.IGNORECASE)
_HEALTHCHECK = re.compile(r"^\s*HEALTHCHECK\s+(\S+)", re.IGNORECASE)
_USER = re.compile(r"^\s*USER\s+(\S+)", re.IGNORECASE)
_ROOT = frozenset({"root", "0", "root:root", "0:0", "root:0", "0:root"})


def template_name(service: Service) -> str | None:
    """The Jinja2 name of a service's own template, or None when its stack's is used."""
    return service.template.removeprefix(PREFIX) if service.template else None


def final_stage(dockerfile: str) -> list[str]:
    """The instructions after the last FROM: what the shipped image is made of."""
    lines = dockerfile.splitlines()
    starts = [i for i, line in enumerate(lines) if _FROM.match(line)]
    return lines[starts[-1] :] if starts else []


def stage_problems(dockerfile: str) -> list[str]:
    """What a final stage lacks of the guarantees every service image gives."""
    stage = final_stage(dockerfile)
    checks = [m.group(1).upper() for line in stage if (m := _HEALTHCHECK.match(line))]
    users = [m.group(1) for line in stage if (m := _USER.match(line))]
    found = []
    if not checks or checks[-1] == "NONE":
        found.append("its final stage has no HEALTHCHECK (every service image declares one)")
    if not users or users[-1].lower() in _ROOT:
        found.append("its final stage does not switch to a non-root USER")
    return found


def problems(
    project: Project, rendered: Mapping[str, str], paths: Mapping[str, str]
) -> Iterator[Problem]:
    """A spec problem for each custom template whose output drops a guarantee. `paths` maps
    each service to its Dockerfile's path in `rendered`."""
    for service in project.services.values():
        if service.template is None:
            continue
        for message in stage_problems(rendered[paths[service.name]]):
            where = ("services", service.name, "template")
            yield project.project_file.problem(where, f"{service.template}: {message}")
