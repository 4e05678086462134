"""Where sutrabuild's generated files live and what the images they build are called: the
names the bake plan and the Dockerfile plans both use."""

from __future__ import annotations

from generator import GENERATED_MARKER
from generator.model import Project

BAKE_FILE = "docker-bake.hcl"
DOCKERFILE_DIR = "dockerfiles"


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
