"""The runtime image policy, written once and applied to every service image."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

BUILD_TOOLS = ("gcc", "cc", "g++", "make", "cargo", "rustc")
BUILD_CACHES = ("/root/.cache", "/root/.cargo/registry", "/usr/local/cargo/registry")
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

# One shell script gathers every filesystem fact, as root, so nothing is hidden by permissions.
FACTS_SCRIPT = (
    "for t in "
    + " ".join(BUILD_TOOLS)
    + '; do command -v "$t" >/dev/null && echo "tool $t"; done; '
    "for d in " + " ".join(BUILD_CACHES) + '; do [ -e "$d" ] && echo "cache $d"; done; '
    "find / -xdev -type f -perm /6000 2>/dev/null | sed 's/^/setuid /'; true"
)


@dataclass(frozen=True)
class ImageFacts:
    """What the policy looks at for one image."""

    image: str
    config: Mapping[str, Any]
    size_bytes: int
    tools: frozenset[str]
    caches: frozenset[str]
    setuid: frozenset[str]
    base_setuid: frozenset[str]
    running_uid: int | None
    size_budget_mb: int | None


def parse_facts(output: str) -> dict[str, frozenset[str]]:
    """Split FACTS_SCRIPT output into tools, caches and setuid files."""
    found: dict[str, set[str]] = {"tool": set(), "cache": set(), "setuid": set()}
    for line in output.splitlines():
        kind, _, value = line.partition(" ")
        if kind in found and value:
            found[kind].add(value)
    return {kind: frozenset(values) for kind, values in found.items()}


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
    extra = sorted(facts.setuid - facts.base_setuid)
    found += [f"setuid/setgid file {path} not in the base image" for path in extra]
    return found


def _size_violations(facts: ImageFacts) -> list[str]:
    budget = facts.size_budget_mb
    if budget is not None and facts.size_bytes > budget * MIB:
        # Rounded up, so one byte over a 250 MiB budget reads 250.1, never "250 exceeds 250".
        shown = math.ceil(facts.size_bytes * 10 / MIB) / 10
        return [f"size {shown:.1f} MiB exceeds the budget of {budget} MiB"]
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
