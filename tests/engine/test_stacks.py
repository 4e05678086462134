"""Open specs on the real engine: a custom base shared by the services built on it, and
per-service system packages present at run time without apt's caches."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from generator import commands, verify
from generator.paths import base_image
from generator.resolve import Resolved
from generator.stacks import load_stacks
from tests.engine.conftest import LOCAL_REGISTRY
from tests.engine.helpers import NATIVE, REPO, SUTRABUILD, bake, pushed_platforms, remove_local, run

pytestmark = pytest.mark.usefixtures("engine")

CUSTOM_BASE = "python-ml"


def _layers(ref: str) -> list[str]:
    out = run("docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}", ref).stdout
    layers: list[str] = json.loads(out)
    return layers


def _ref(resolved: Resolved, image: str, version: str) -> str:
    return f"{resolved.project.settings.registry}/{image}:{version}"


def test_services_on_a_custom_base_share_its_layers(
    resolved: Resolved, project_copy: Path, unique_version: str
) -> None:
    project = resolved.project
    users = sorted(s.name for s in project.services.values() if s.base == CUSTOM_BASE)
    assert len(users) >= 2, "the spec puts more than one service on the custom base"
    env = {"VERSION": unique_version}
    bake(CUSTOM_BASE, "-C", str(project_copy), env=env)  # tags the base itself
    for service in users:
        bake(service, "-C", str(project_copy), env=env)
    base_layers = _layers(_ref(resolved, base_image(project, CUSTOM_BASE), unique_version))
    for service in users:
        layers = _layers(_ref(resolved, service, unique_version))
        # The same layer digests, not copies: the base's layers start every service's image.
        assert layers[: len(base_layers)] == base_layers, service
        ref = _ref(resolved, service, unique_version)
        where = run(
            "docker",
            "run",
            "--rm",
            "--platform",
            NATIVE,
            "--entrypoint",
            "python",
            ref,
            "-c",
            "import numpy; print(numpy.__file__)",
        ).stdout.strip()
        assert where.startswith("/opt/venv/"), f"{service}: numpy from {where}, not the base"


def test_a_services_packages_are_there_at_run_time_without_apt_caches(
    resolved: Resolved, project_copy: Path, unique_version: str
) -> None:
    service = next(s.name for s in resolved.project.services.values() if s.stack == "python")
    spec = project_copy / "editions" / "project.yaml"
    text = spec.read_text()
    anchor = f"  {service}:\n"
    assert text.count(anchor) == 1
    spec.write_text(text.replace(anchor, anchor + "    packages: [libgomp1]\n"))
    run(*SUTRABUILD, "render", "-C", str(project_copy))
    bake(service, "-C", str(project_copy), env={"VERSION": unique_version})
    ref = _ref(resolved, service, unique_version)
    # verify's own checks (healthy, and the image policy, which fails apt lists and caches).
    (result,) = verify.verify_images(commands.load(project_copy).project, {service: ref}, NATIVE)
    assert not result.problems, result.problems
    status = run(
        "docker",
        "run",
        "--rm",
        "--entrypoint",
        "dpkg-query",
        ref,
        "-W",
        "-f=${Status}",
        "libgomp1",
    ).stdout
    assert status == "install ok installed"


def test_a_service_on_its_own_template_builds_and_verifies(
    resolved: Resolved, project_copy: Path, unique_version: str
) -> None:
    """The escape hatch keeps the guarantees: the stack's template plus a step of its own,
    built, healthy and within the image policy."""
    service = next(s.name for s in resolved.project.services.values() if s.stack == "python")
    stack_template = REPO / "templates" / load_stacks()["python"].service_template
    own = stack_template.read_text().replace(
        "COPY app ./app\n", "COPY app ./app\nRUN echo custom > /opt/sutra/custom-step\n"
    )
    assert own != stack_template.read_text()
    path = project_copy / "templates" / "custom" / f"{service}.Dockerfile.j2"
    path.parent.mkdir(parents=True)
    path.write_text(own)
    spec = project_copy / "editions" / "project.yaml"
    anchor = f"  {service}:\n"
    relative = path.relative_to(project_copy).as_posix()
    spec.write_text(spec.read_text().replace(anchor, f"{anchor}    template: {relative}\n"))
    bake(service, "-C", str(project_copy), env={"VERSION": unique_version})
    ref = _ref(resolved, service, unique_version)
    (result,) = verify.verify_images(commands.load(project_copy).project, {service: ref}, NATIVE)
    assert not result.problems, result.problems
    marker = ["docker", "run", "--rm", "--entrypoint", "cat", ref, "/opt/sutra/custom-step"]
    assert run(*marker).stdout == "custom\n"


def _node_service(resolved: Resolved) -> str:
    return next(s.name for s in resolved.project.services.values() if s.stack == "node")


def test_the_node_service_ships_production_dependencies_only(
    resolved: Resolved, project_copy: Path, unique_version: str
) -> None:
    service = _node_service(resolved)
    lock = json.loads(
        (
            project_copy / resolved.project.services[service].context / "package-lock.json"
        ).read_text()
    )
    packages = {k.removeprefix("node_modules/"): v for k, v in lock["packages"].items() if k}
    runtime = sorted(name for name, entry in packages.items() if not entry.get("dev"))
    assert runtime and len(runtime) < len(packages), "the lock has dev dependencies to drop"
    bake(service, "-C", str(project_copy), env={"VERSION": unique_version})
    ref = _ref(resolved, service, unique_version)
    listing = run("docker", "run", "--rm", "--entrypoint", "ls", ref, "node_modules").stdout
    assert sorted(n for n in listing.split() if not n.startswith(".")) == runtime
    (result,) = verify.verify_images(commands.load(project_copy).project, {service: ref}, NATIVE)
    assert not result.problems, result.problems


def test_the_node_service_reaches_the_registry_for_every_platform(
    resolved: Resolved, project_copy: Path
) -> None:
    service = _node_service(resolved)
    prefix = f"{LOCAL_REGISTRY}/sutra-node-{uuid.uuid4().hex[:8]}"
    platforms = resolved.project.settings.platforms
    flags = [arg for p in platforms for arg in ("--platform", p)]
    try:
        run(
            *SUTRABUILD,
            "bake",
            service,
            "-C",
            str(project_copy),
            *flags,
            "--push",
            env={"REGISTRY": prefix},
        )
        ref = f"{prefix}/{service}:{resolved.project.settings.version}"
        assert pushed_platforms(ref) == set(platforms)
    finally:
        remove_local(prefix)
