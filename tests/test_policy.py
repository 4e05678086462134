"""policy.py: every rule of the runtime image policy, on synthetic image facts."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

from generator.policy import (
    APT_CACHES,
    APT_LISTS,
    MIB,
    REQUIRED_LABELS,
    ImageFacts,
    build_caches,
    build_tools,
    facts_script,
    parse_facts,
    unpacked_bytes,
    violations,
)
from generator.stacks import load_stacks

TITLE, VERSION, REVISION, SOURCE, CREATED = REQUIRED_LABELS
LABELS = {
    TITLE: "sutra-api",
    VERSION: "0.1.0",
    REVISION: "0123456789abcdef0123456789abcdef01234567",
    SOURCE: "https://github.com/sutra-ai/sutra",
    CREATED: "2024-05-01T12:34:56+00:00",
}
COMPLIANT = ImageFacts(
    image="ghcr.io/sutra-ai/sutra-api:0.1.0",
    config={
        "User": "1000:1000",
        "Healthcheck": {"Test": ["CMD", "sutra-healthcheck", "http://localhost:8000/health"]},
        "Labels": LABELS,
    },
    compressed_bytes=80 * MIB,
    unpacked_bytes=200 * MIB,
    tools=frozenset(),
    caches=frozenset(),
    apt_caches=frozenset(),
    setuid=frozenset({"/usr/bin/passwd", "/bin/su"}),
    base_setuid=frozenset({"/usr/bin/passwd", "/bin/su"}),
    running_uid=1000,
    size_budget_mb=250,
)
NOT_NUMERIC = "is not a numeric uid[:gid] (Kubernetes runAsNonRoot needs one)"


def facts(config: Mapping[str, Any] | None = None, **changes: Any) -> ImageFacts:
    """COMPLIANT with some config keys and fields changed (a config value None drops the key)."""
    merged = {**COMPLIANT.config, **(config or {})}
    merged = {k: v for k, v in merged.items() if v is not None}
    return dataclasses.replace(COMPLIANT, config=merged, **changes)


def test_a_compliant_image_has_no_violations() -> None:
    assert violations(COMPLIANT) == []


# --- USER -------------------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["1000", "1000:1000", "65532:65532", "1:0"])
def test_numeric_non_root_users_pass(user: str) -> None:
    assert violations(facts({"User": user})) == []


@pytest.mark.parametrize("user", ["0", "0:0", "0:1000", "00"])
def test_uid_0_is_root(user: str) -> None:
    assert violations(facts({"User": user})) == ["USER is root (uid 0)"]


@pytest.mark.parametrize(
    "user", ["sutra", "sutra:sutra", "1000:sutra", "root", "", " 1000", "1000:", "-1"]
)
def test_a_user_that_is_not_a_numeric_uid_is_a_violation(user: str) -> None:
    assert violations(facts({"User": user})) == [f"USER {user!r} {NOT_NUMERIC}"]


def test_no_user_at_all_is_a_violation() -> None:
    assert violations(facts({"User": None})) == [f"USER '' {NOT_NUMERIC}"]


def test_a_container_that_runs_as_uid_0_is_a_violation() -> None:
    assert violations(facts(running_uid=0)) == ["the running container has uid 0"]


def test_an_unknown_running_uid_is_not_a_violation() -> None:
    assert violations(facts(running_uid=None)) == []


def test_root_user_is_reported_once_even_when_running_as_root() -> None:
    assert violations(facts({"User": "0"}, running_uid=0)) == ["USER is root (uid 0)"]


# --- HEALTHCHECK ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "healthcheck",
    [None, {}, {"Test": None}, {"Test": []}, {"Test": ["NONE"]}],
    ids=["absent", "empty", "test-null", "test-empty", "disabled"],
)
def test_no_healthcheck_is_a_violation(healthcheck: Mapping[str, Any] | None) -> None:
    assert violations(facts({"Healthcheck": healthcheck})) == ["no HEALTHCHECK"]


def test_a_shell_form_healthcheck_is_a_violation() -> None:
    config = {"Healthcheck": {"Test": ["CMD-SHELL", "curl -f http://localhost:8000/health"]}}
    assert violations(facts(config)) == ["HEALTHCHECK is CMD-SHELL, not exec form (CMD [...])"]


# --- labels -----------------------------------------------------------------------------------


@pytest.mark.parametrize("label", REQUIRED_LABELS)
def test_each_missing_label_is_a_violation(label: str) -> None:
    labels = {k: v for k, v in LABELS.items() if k != label}
    assert violations(facts({"Labels": labels})) == [f"label {label} missing"]


def test_the_revision_label_may_be_empty() -> None:
    """No VCS revision outside a git checkout: present but empty is fine."""
    assert violations(facts({"Labels": {**LABELS, REVISION: ""}})) == []


@pytest.mark.parametrize("label", [TITLE, VERSION, SOURCE, CREATED])
def test_every_other_label_may_not_be_empty(label: str) -> None:
    assert violations(facts({"Labels": {**LABELS, label: ""}})) == [f"label {label} empty"]


def test_no_labels_at_all_lists_every_required_label_in_order() -> None:
    assert violations(facts({"Labels": None})) == [f"label {k} missing" for k in REQUIRED_LABELS]


def test_missing_labels_come_before_empty_ones() -> None:
    labels = {TITLE: "", VERSION: "1", REVISION: "", CREATED: ""}
    assert violations(facts({"Labels": labels})) == [
        f"label {SOURCE} missing",
        f"label {TITLE} empty",
        f"label {CREATED} empty",
    ]


def test_extra_labels_are_fine() -> None:
    labels = {**LABELS, "org.opencontainers.image.description": "", "com.example": "x"}
    assert violations(facts({"Labels": labels})) == []


# --- content ----------------------------------------------------------------------------------


def test_build_tools_are_violations_sorted() -> None:
    assert violations(facts(tools=frozenset({"make", "gcc", "cargo"}))) == [
        "build tool cargo present",
        "build tool gcc present",
        "build tool make present",
    ]


def test_build_caches_are_violations_sorted() -> None:
    caches = frozenset({"/usr/local/cargo/registry", "/root/.cache"})
    assert violations(facts(caches=caches)) == [
        "build cache /root/.cache present",
        "build cache /usr/local/cargo/registry present",
    ]


def test_setuid_files_the_base_image_has_are_fine() -> None:
    assert violations(facts(setuid=frozenset({"/bin/su"}))) == []


def test_setuid_files_not_in_the_base_image_are_violations() -> None:
    setuid = COMPLIANT.setuid | {"/usr/local/bin/zz", "/usr/local/bin/aa"}
    assert violations(facts(setuid=setuid)) == [
        "setuid/setgid file /usr/local/bin/aa not in the base image",
        "setuid/setgid file /usr/local/bin/zz not in the base image",
    ]


def test_every_setuid_file_is_a_violation_without_a_known_base() -> None:
    assert violations(facts(base_setuid=frozenset())) == [
        "setuid/setgid file /bin/su not in the base image",
        "setuid/setgid file /usr/bin/passwd not in the base image",
    ]


# --- size -------------------------------------------------------------------------------------


def test_size_exactly_at_the_budget_passes() -> None:
    assert violations(facts(unpacked_bytes=250 * MIB)) == []


def test_one_byte_over_the_budget_fails() -> None:
    # Rounded up to a tenth, so one byte over never reads "250.0 MiB exceeds ... 250 MiB".
    assert violations(facts(unpacked_bytes=250 * MIB + 1)) == [
        "unpacked size 250.1 MiB exceeds the budget of 250 MiB"
    ]


def test_size_over_the_budget_is_reported_in_mib() -> None:
    assert violations(facts(unpacked_bytes=300 * MIB + MIB // 2 + 1)) == [
        "unpacked size 300.6 MiB exceeds the budget of 250 MiB"
    ]


def test_the_budget_limits_the_unpacked_size_not_the_compressed_one() -> None:
    assert violations(facts(compressed_bytes=10_000 * MIB, unpacked_bytes=250 * MIB)) == []
    assert violations(facts(compressed_bytes=1, unpacked_bytes=251 * MIB)) == [
        "unpacked size 251.0 MiB exceeds the budget of 250 MiB"
    ]


def test_no_budget_means_no_size_limit() -> None:
    assert violations(facts(unpacked_bytes=10_000 * MIB, size_budget_mb=None)) == []


# --- apt caches -------------------------------------------------------------------------------


def test_apt_caches_are_violations() -> None:
    found = frozenset({"/var/lib/apt/lists/deb.debian.org_dists", "/var/cache/apt/pkgcache.bin"})
    assert violations(facts(apt_caches=found)) == [
        "apt cache /var/cache/apt/pkgcache.bin present (clean up in the same RUN)",
        "apt cache /var/lib/apt/lists/deb.debian.org_dists present (clean up in the same RUN)",
    ]


# --- all rules together -----------------------------------------------------------------------


def test_violations_are_listed_rule_by_rule() -> None:
    bad = facts(
        {
            "User": "sutra",
            "Healthcheck": {"Test": ["CMD-SHELL", "true"]},
            "Labels": {**LABELS, TITLE: ""},
        },
        tools=frozenset({"gcc"}),
        caches=frozenset({"/root/.cache"}),
        apt_caches=frozenset({"/var/cache/apt/srcpkgcache.bin"}),
        setuid=COMPLIANT.setuid | {"/opt/x"},
        unpacked_bytes=251 * MIB,
    )
    assert violations(bad) == [
        f"USER 'sutra' {NOT_NUMERIC}",
        "HEALTHCHECK is CMD-SHELL, not exec form (CMD [...])",
        f"label {TITLE} empty",
        "build tool gcc present",
        "build cache /root/.cache present",
        "apt cache /var/cache/apt/srcpkgcache.bin present (clean up in the same RUN)",
        "setuid/setgid file /opt/x not in the base image",
        "unpacked size 251.0 MiB exceeds the budget of 250 MiB",
    ]


# --- parse_facts ------------------------------------------------------------------------------


def test_parse_facts_splits_the_script_output() -> None:
    output = (
        "tool gcc\n"
        "tool make\n"
        "cache /root/.cache\n"
        "setuid /usr/bin/passwd\n"
        "setuid /opt/dir with space/tool\n"
        "tool gcc\n"
        "apt /var/lib/apt/lists/x_Packages.lz4\n"
        "unpacked 178257920\n"
    )
    found = parse_facts(output)
    assert found == {
        "tool": frozenset({"gcc", "make"}),
        "cache": frozenset({"/root/.cache"}),
        "apt": frozenset({"/var/lib/apt/lists/x_Packages.lz4"}),
        "setuid": frozenset({"/usr/bin/passwd", "/opt/dir with space/tool"}),
        "unpacked": frozenset({"178257920"}),
    }
    assert unpacked_bytes(found) == 178257920


def test_parse_facts_of_no_output_is_all_empty() -> None:
    found = parse_facts("")
    assert found == {kind: frozenset() for kind in ("tool", "cache", "apt", "setuid", "unpacked")}
    assert unpacked_bytes(found) == 0


def test_parse_facts_ignores_noise_and_empty_values() -> None:
    output = "find: '/proc/1': Permission denied\ntool\ntool \nsetuid\n\nTOOL gcc\ncache /x\n"
    assert parse_facts(output) == {
        "tool": frozenset(),
        "cache": frozenset({"/x"}),
        "apt": frozenset(),
        "setuid": frozenset(),
        "unpacked": frozenset(),
    }


def test_the_facts_script_asks_for_every_tool_and_cache() -> None:
    script = facts_script()
    for tool in build_tools():
        assert f" {tool} " in script or f" {tool};" in script, tool
    for cache in (*build_caches(), *APT_CACHES, APT_LISTS):
        assert cache in script, cache
    assert script.endswith("; true")


def test_every_stacks_build_tools_and_caches_are_checked() -> None:
    for stack in load_stacks().values():
        assert set(stack.forbidden_tools) <= set(build_tools()), stack.name
        assert set(stack.build_caches) <= set(build_caches()), stack.name


def test_an_unknown_unpacked_size_fails_a_budget() -> None:
    assert violations(facts(unpacked_bytes=0)) == [
        "unpacked size unknown (du inside the image reported nothing)"
    ]
    assert violations(facts(unpacked_bytes=0, size_budget_mb=None)) == []
