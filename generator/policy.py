"""The runtime image policy, written once and applied to every service image."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from generator import stacks

# C toolchain and the common cache folder for every image; each stack's stack.yaml adds its
# own build tools and package-manager caches (read when checked, not at import: the project's
# own stack folders are known only once its specs are loaded).
COMMON_BUILD_TOOLS = ("gcc", "cc", "g++", "make")
COMMON_BUILD_CACHES = ("/root/.cache",)
# What `apt-get update`/`install` leave unless a step cleans up: package caches and lists.
APT_CACHES = ("/var/cache/apt/*.bin", "/var/cache/apt/archives/*.deb")
APT_LISTS = "/var/lib/apt/lists"
REQUIRED_LABELS = (
    "org.opencontainers.image.title",
    "org.opencontainers.image.version",
    "org.opencontainers.image.revision",
    "org.opencontainers.image.source",
    "org.opencontainers.image.created",
)
# Labels that may legitimately be empty: no VCS revision outside a git checkout.
MAY_BE_EMPTY = frozenset({"org.opencontainers.image.revision"})
NUMERIC_USER = re.compile(r"^(\d+)(?::(\d+))?$")
MIB = 1024 * 1024


def build_tools() -> tuple[str, ...]:
    """The commands no runtime image may have: the C toolchain and every stack's own."""
    return (*COMMON_BUILD_TOOLS, *stacks.forbidden_tools())


def build_caches() -> tuple[str, ...]:
    """The cache folders no runtime image may hold."""
    return (*COMMON_BUILD_CACHES, *stacks.build_caches())


def facts_script() -> str:
    """One shell script that gathers every filesystem fact, run as root so that nothing is
    hidden by permissions. The unpacked size is what `du` sees on the image's own filesystem
    (apparent bytes), the figure `docker images` showed before the containerd store and the
    seed's size table uses."""
    return (
        "for t in "
        + " ".join(build_tools())
        + '; do command -v "$t" >/dev/null && echo "tool $t"; done; '
        "for d in " + " ".join(build_caches()) + '; do [ -e "$d" ] && echo "cache $d"; done; '
        "for f in " + " ".join(APT_CACHES) + '; do [ -e "$f" ] && echo "apt $f"; done; '
        f"[ -d {APT_LISTS} ] && find {APT_LISTS} -mindepth 1 -maxdepth 1 ! -name lock "
        "! -name partial | sed 's/^/apt /'; "
        "find / -xdev -type f -perm /6000 2>/dev/null | sed 's/^/setuid /'; "
        'echo "unpacked $(du -sxb / 2>/dev/null | cut -f1)"; true'
    )


FACT_KINDS = ("tool", "cache", "apt", "setuid", "unpacked")


@dataclass(frozen=True)
class ImageFacts:
    """What the policy looks at for one image."""

    image: str
    config: Mapping[str, Any]
    compressed_bytes: int
    unpacked_bytes: int
    tools: frozenset[str]
    caches: frozenset[str]
    apt_caches: frozenset[str]
    setuid: frozenset[str]
    base_setuid: frozenset[str]
    running_uid: int | None
    size_budget_mb: int | None


def parse_facts(output: str) -> dict[str, frozenset[str]]:
    """Split facts_script() output by kind: tools, caches, apt caches, setuid files, size."""
    found: dict[str, set[str]] = {kind: set() for kind in FACT_KINDS}
    for line in output.splitlines():
        kind, _, value = line.partition(" ")
        if kind in found and value:
            found[kind].add(value)
    return {kind: frozenset(values) for kind, values in found.items()}


def unpacked_bytes(found: Mapping[str, frozenset[str]]) -> int:
    """The `unpacked` fact as a number (0 when du reported nothing usable)."""
    values = [int(v) for v in found.get("unpacked", ()) if v.isdigit()]
    return max(values, default=0)


def _user_violations(facts: ImageFacts) -> list[str]:
    user = facts.config.get("User") or ""
    match = NUMERIC_USER.match(user)
    if not match:
        return [f"USER {user!r} is not a numeric uid[:gid] (Kubernetes runAsNonRoot needs one)"]
    if int(match.group(1)) == 0:
        return ["USER is root (uid 0)"]
    if facts.running_uid == 0:
        return ["the running container has uid 0"]
    return []


def _healthcheck_violations(facts: ImageFacts) -> list[str]:
    test = (facts.config.get("Healthcheck") or {}).get("Test") or []
    if not test or test[0] == "NONE":
        return ["no HEALTHCHECK"]
    if test[0] != "CMD":
        return [f"HEALTHCHECK is {test[0]}, not exec form (CMD [...])"]
    return []


def _label_violations(facts: ImageFacts) -> list[str]:
    labels = facts.config.get("Labels") or {}
    missing = [k for k in REQUIRED_LABELS if k not in labels]
    empty = [k for k in REQUIRED_LABELS if k in labels and not labels[k] and k not in MAY_BE_EMPTY]
    return [f"label {k} missing" for k in missing] + [f"label {k} empty" for k in empty]


def _content_violations(facts: ImageFacts) -> list[str]:
    found = [f"build tool {t} present" for t in sorted(facts.tools)]
    found += [f"build cache {c} present" for c in sorted(facts.caches)]
    found += [f"apt cache {c} present (clean up in the same RUN)" for c in sorted(facts.apt_caches)]
    extra = sorted(facts.setuid - facts.base_setuid)
    found += [f"setuid/setgid file {path} not in the base image" for path in extra]
    return found


def _size_violations(facts: ImageFacts) -> list[str]:
    # The budget limits the unpacked size: what the image takes on disk once pulled, the
    # same for every registry and compression, and what the seed's size table shows.
    budget = facts.size_budget_mb
    if budget is not None and facts.unpacked_bytes <= 0:
        # du reported nothing usable: an unknown size must not pass a budget silently.
        return ["unpacked size unknown (du inside the image reported nothing)"]
    if budget is not None and facts.unpacked_bytes > budget * MIB:
        # Rounded up, so one byte over a 250 MiB budget reads 250.1, never "250 exceeds 250".
        shown = math.ceil(facts.unpacked_bytes * 10 / MIB) / 10
        return [f"unpacked size {shown:.1f} MiB exceeds the budget of {budget} MiB"]
    return []


def violations(facts: ImageFacts) -> list[str]:
    """Every policy violation of one image; empty means compliant."""
    rules = (
        _user_violations,
        _healthcheck_violations,
        _label_violations,
        _content_violations,
        _size_violations,
    )
    return [v for rule in rules for v in rule(facts)]
