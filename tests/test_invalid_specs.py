"""Malformed specs: exit 2, each problem as FILE:LINE: PATH: message, nothing on disk touched."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from generator import commands
from generator.stacks import base_templates, load_stacks
from tests.conftest import (
    MINIMAL_PROJECT,
    FileContent,
    invoke,
    make_minimal_project,
    project_with,
    tree_state,
)

UNPRINTABLE = (
    "contains a control or other non-printable character (a newline, tab or NUL, or an invisible "
    'format or private-use character); quotes, backslashes, backticks, "${" and "%{" are fine'
)
NOT_NFC = (
    "text not in Unicode NFC form: bake stores labels and build args NFC-normalized, so the "
    "image would not get this exact text; save it composed (NFC), e.g. 'é' as one character, "
    "not 'e' plus a combining accent"
)
SECRET = (
    "looks like a secret: {kind} values are stored in the image; "
    "pass secrets as BuildKit secret mounts (see README, 'Secrets')"
)
NAME = (
    "is not a valid name: use lowercase letters, digits and single dashes, starting with a letter"
)
TAG = (
    "is not a valid image tag: letters, digits, '_', '.', '-', at most 128, "
    "not starting with '.' or '-'"
)
PROBLEM_LINE = re.compile(r"^editions/[^:/]+\.ya?ml:\d+: \$\S*: .+$")
# A hostile document (deep nesting, alias bombs, huge files) must end in exit 2, not hang:
# a generous hang guard, never a speed assertion (speed is `make bench`'s job).
HANG_GUARD_SECONDS = 60


def after_api_port(lines: str) -> str:
    """project.yaml with `lines` inserted into service `api` right after `port:` (as line 32)."""
    return project_with("    port: 8000\n", "    port: 8000\n" + lines)


def billion_laughs() -> str:
    """Nine levels of ten aliases each: 10**9 values once expanded."""
    rows = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        rows.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(rows) + "\nservices: [api]\n"


def symlink_outside(root: Path) -> None:
    """packages/link -> a directory next to (outside) the project root."""
    outside = root.parent / "outside"
    outside.mkdir(exist_ok=True)
    (root / "packages/link").symlink_to(outside, target_is_directory=True)


def dir_outside(root: Path) -> None:
    """A real directory at ../outside, so only the escape itself is wrong."""
    (root.parent / "outside").mkdir(exist_ok=True)


@dataclass(frozen=True)
class Case:
    """One broken input and the exact problems it must produce."""

    id: str
    files: Mapping[str, FileContent]
    expected: tuple[str, ...]
    setup: Callable[[Path], None] | None = field(default=None)


def case(
    id: str,
    files: Mapping[str, FileContent],
    *expected: str,
    setup: Callable[[Path], None] | None = None,
) -> pytest.ParameterSet:
    """A parametrize entry with a readable id."""
    return pytest.param(Case(id, files, expected, setup), id=id)


P = "editions/project.yaml"
S = "editions/simple.yaml"

CASES = [
    # --- YAML itself -------------------------------------------------------------------------
    case(
        "yaml-syntax-mapping-in-value",
        {P: project_with("  name: sutra\n", "  name: sutra: x\n")},
        f"{P}:2: $: invalid YAML: mapping values are not allowed here",
    ),
    case(
        "yaml-syntax-bad-indentation",
        {P: project_with("    context: packages/store\n", "      context: packages/store\n")},
        f"{P}:34: $: invalid YAML: mapping values are not allowed here",
    ),
    case(
        "yaml-syntax-stray-bracket",
        {S: "services: [api, store]]\n"},
        f"{S}:1: $: invalid YAML: expected <block end>, but found ']'",
    ),
    case(
        "yaml-tab-indentation",
        {P: project_with("    port: 8000\n", "\tport: 8000\n")},
        f"{P}:31: $: invalid YAML: found character '\\t' that cannot start any token",
    ),
    case(
        "yaml-duplicate-key-nested",
        {P: project_with("    port: 9000\n", "    port: 9000\n    port: 9001\n")},
        f"{P}:36: $.services.store.port: duplicate key 'port'",
    ),
    case(
        "yaml-duplicate-key-top-level",
        {S: "services: [api]\nservices: [store]\n"},
        f"{S}:2: $.services: duplicate key 'services'",
    ),
    case(
        "yaml-multiple-documents",
        {S: "services: [api, store]\n---\nservices: [store]\n"},
        f"{S}:2: $: invalid YAML: expected a single document, but found another document",
    ),
    case(
        "yaml-empty-file",
        {S: ""},
        f"{S}:1: $: None is not of type 'object'",
    ),
    case(
        "yaml-top-level-list",
        {S: "- api\n- store\n"},
        f"{S}:1: $: ['api', 'store'] is not of type 'object'",
    ),
    case(
        "yaml-non-string-key",
        {S: "services: [api, store]\ntrue: 1\n"},
        f"{S}:2: $: keys must be strings",
    ),
    # --- types and ranges ----------------------------------------------------------------------
    case(
        "port-as-string",
        {P: project_with("port: 8000", "port: '8000'")},
        f"{P}:31: $.services.api.port: '8000' is not of type 'integer'",
    ),
    case(
        "port-as-float",
        {P: project_with("port: 8000", "port: 8000.0")},
        f"{P}:31: $.services.api.port: 8000.0 is not of type 'integer'",
    ),
    case(
        "port-out-of-range",
        {P: project_with("port: 8000", "port: 70000")},
        f"{P}:31: $.services.api.port: 70000 is greater than the maximum of 65535",
    ),
    case(
        "port-zero",
        {P: project_with("port: 9000", "port: 0")},
        f"{P}:35: $.services.store.port: 0 is less than the minimum of 1",
    ),
    case(
        "retries-zero",
        {P: after_api_port("    healthcheck: {retries: 0}\n")},
        f"{P}:32: $.services.api.healthcheck.retries: 0 is less than the minimum of 1",
    ),
    case(
        "platforms-not-a-list",
        {P: project_with("platforms: [linux/amd64]", "platforms: linux/amd64")},
        f"{P}:7: $.project.platforms: 'linux/amd64' is not of type 'array'",
    ),
    case(
        "platform-unsupported",
        {P: project_with("platforms: [linux/amd64]", "platforms: [linux/amd64, windows/amd64]")},
        f"{P}:7: $.project.platforms[1]: 'windows/amd64' is not a supported platform "
        "(e.g. linux/amd64, linux/arm64)",
    ),
    case(
        "stack-unknown",
        {P: project_with("    stack: python\n", "    stack: go\n")},
        f"{P}:29: $.services.api.stack: stack 'go' is not defined under stacks",
    ),
    # --- unknown and missing keys --------------------------------------------------------------
    case(
        "unknown-key-in-service",
        {P: after_api_port("    comand: [python, -m, app]\n")},
        f"{P}:32: $.services.api.comand: unknown key 'comand'",
    ),
    case(
        "unknown-key-in-base",
        {
            P: project_with(
                "    from: rust:1.82-slim\n", "    from: rust:1.82-slim\n    packges: [git]\n"
            )
        },
        f"{P}:22: $.bases.rust-builder.packges: unknown key 'packges'",
    ),
    case(
        "unknown-key-in-project",
        {P: project_with("  version: 0.1.0\n", "  verison: 0.1.0\n")},
        f"{P}:1: $.project: 'version' is a required property",
        f"{P}:4: $.project.verison: unknown key 'verison'",
    ),
    case(
        "unknown-key-in-edition",
        {S: "services: [api, store]\nextend: simple\n"},
        f"{S}:2: $.extend: unknown key 'extend'",
    ),
    case(
        "missing-required-port",
        {P: project_with("    port: 9000\n", "")},
        f"{P}:32: $.services.store: 'port' is a required property",
    ),
    case(
        "missing-required-services",
        {S: "description: nothing to ship\n"},
        f"{S}:1: $: 'services' is a required property",
    ),
    # --- editions ------------------------------------------------------------------------------
    case(
        "unknown-service-in-edition",
        {S: "services:\n  - api\n  - store\n  - search\n"},
        f"{S}:4: $.services[2]: unknown service 'search'",
    ),
    case(
        "unknown-extends",
        {S: "extends: basic\nservices: [api, store]\n"},
        f"{S}:1: $.extends: unknown edition 'basic'",
    ),
    case(
        "extends-cycle",
        {
            "editions/alpha.yaml": "extends: beta\nservices: [api]\n",
            "editions/beta.yaml": "description: loops\nextends: alpha\nservices: [store]\n",
        },
        "editions/alpha.yaml:1: $.extends: extends cycle: alpha -> beta -> alpha",
        "editions/beta.yaml:2: $.extends: extends cycle: beta -> alpha -> beta",
    ),
    case(
        "service-twice-through-extends",
        {"editions/pro.yaml": "extends: simple\nservices:\n  - store\n"},
        "editions/pro.yaml:3: $.services[0]: service 'store' is already in edition 'simple' "
        "(via extends)",
    ),
    case(
        "service-twice-in-one-list",
        {S: "services: [api, store, api]\n"},
        f"{S}:1: $.services: ['api', 'store', 'api'] has non-unique elements",
    ),
    case(
        "unknown-default-edition",
        {P: project_with("default_edition: simple", "default_edition: basic")},
        f"{P}:6: $.project.default_edition: unknown edition 'basic'",
    ),
    case(
        "reserved-edition-file-default",
        {"editions/default.yaml": "services: [api]\n"},
        "editions/default.yaml:1: $: edition name 'default' (from the file name) is reserved "
        "or invalid",
    ),
    case(
        "reserved-edition-file-bases",
        {"editions/bases.yaml": "services: [api]\n"},
        "editions/bases.yaml:1: $: edition name 'bases' (from the file name) is reserved "
        "or invalid",
    ),
    # --- bases and stacks ----------------------------------------------------------------------
    case(
        "service-package-invalid",
        {
            P: project_with(
                "    port: 8000\n", "    port: 8000\n    packages: [libgomp1, 'x; rm']\n"
            )
        },
        f"{P}:32: $.services.api.packages[1]: 'x; rm' is not a Debian package name",
    ),
    case(
        "service-build-package-not-a-list",
        {P: project_with("    port: 8000\n", "    port: 8000\n    build_packages: gcc\n")},
        f"{P}:32: $.services.api.build_packages: 'gcc' is not of type 'array'",
    ),
    case(
        "service-base-unknown",
        {P: after_api_port("    base: python-ml\n")},
        f"{P}:32: $.services.api.base: unknown base 'python-ml'",
    ),
    case(
        "service-base-not-on-its-stacks-runtime",
        {P: after_api_port("    base: rust-runtime\n")},
        f"{P}:32: $.services.api.base: base 'rust-runtime' is not built on 'python-base', "
        "the runtime base of stack 'python'",
    ),
    case(
        "service-base-not-a-name",
        {P: after_api_port("    base: Python_ML\n")},
        f"{P}:32: $.services.api.base: 'Python_ML' {NAME}",
    ),
    case(
        "stack-without-folder",
        {P: project_with("  rust: {builder", "  go: {builder")},
        f"{P}:10: $.stacks.go: no folder templates/stacks/go/ with a stack.yaml "
        f"(found: {', '.join(load_stacks())})",
        f"{P}:33: $.services.store.stack: stack 'rust' is not defined under stacks",
    ),
    case(
        "unknown-base-template",
        {P: project_with("    template: rust-builder\n", "    template: rust-bilder\n")},
        f"{P}:20: $.bases.rust-builder.template: unknown template 'rust-bilder' "
        f"({', '.join(base_templates())})",
    ),
    case(
        "unknown-base-in-stack",
        {P: project_with("runtime: python-base}", "runtime: python-bsae}")},
        f"{P}:9: $.stacks.python.runtime: unknown base 'python-bsae'",
    ),
    case(
        "unknown-stack",
        {P: project_with("  rust: {builder: rust-builder, runtime: rust-runtime}\n", "")},
        f"{P}:32: $.services.store.stack: stack 'rust' is not defined under stacks",
    ),
    case(
        "unknown-base-in-bases",
        {P: project_with("    bases: [rust-builder]\n", "    bases: [rust-bilder]\n")},
        f"{P}:25: $.bases.rust-runtime.bases[0]: unknown base 'rust-bilder'",
    ),
    case(
        "base-template-needs-from",
        {P: project_with("    from: rust:1.82-slim\n", "")},
        f"{P}:19: $.bases.rust-builder: template 'rust-builder' needs 'from'",
    ),
    case(
        "base-template-given-a-key-it-ignores",
        {
            P: project_with(
                "    bases: [python-base]\n",
                "    bases: [python-base]\n    from: python:3.11-slim\n",
            )
        },
        f"{P}:19: $.bases.python-builder.from: template 'python-builder' does not use 'from'; "
        "remove it",
    ),
    case(
        "base-context-lacks-the-probe",
        {"packages/python-base/sutra-healthcheck": None},
        f"{P}:15: $.bases.python-base.context: 'packages/python-base' lacks sutra-healthcheck",
    ),
    case(
        "service-named-like-a-base-image",
        {P: project_with("  store:\n", "  sutra-python-base:\n"), S: "services: [api]\n"},
        f"{P}:32: $.services.sutra-python-base: service name 'sutra-python-base' clashes "
        "with a base",
    ),
    case(
        "service-name-not-a-name",
        {P: project_with("  store:\n", "  Store:\n"), S: "services: [api]\n"},
        f"{P}:32: $.services.Store: key 'Store' {NAME}",
    ),
    # --- contexts ------------------------------------------------------------------------------
    case(
        "context-does-not-exist",
        {P: project_with("context: packages/api", "context: packages/ap")},
        f"{P}:30: $.services.api.context: 'packages/ap' is not a directory under the project root",
    ),
    case(
        "context-escapes-root",
        {P: project_with("context: packages/api", "context: ../outside")},
        f"{P}:30: $.services.api.context: '../outside' escapes the project root",
        setup=dir_outside,
    ),
    case(
        "context-symlink-outside",
        {P: project_with("context: packages/api", "context: packages/link")},
        f"{P}:30: $.services.api.context: 'packages/link' escapes the project root",
        setup=symlink_outside,
    ),
    case(
        "context-absolute",
        {P: project_with("context: packages/api", "context: /etc")},
        f"{P}:30: $.services.api.context: '/etc' is not a relative path of letters, digits, "
        "'.', '_', '-' and '/'",
    ),
    case(
        "python-context-lacks-requirements",
        {"packages/api/requirements.txt": None},
        f"{P}:30: $.services.api.context: 'packages/api' lacks requirements.txt",
    ),
    case(
        "rust-context-lacks-lockfile",
        {"packages/store/Cargo.lock": None},
        f"{P}:34: $.services.store.context: 'packages/store' lacks Cargo.lock",
    ),
    case(
        "base-context-does-not-exist",
        {P: project_with("context: packages/healthcheck", "context: packages/probe")},
        f"{P}:26: $.bases.rust-runtime.context: 'packages/probe' is not a directory under "
        "the project root",
    ),
    # --- references and tags -------------------------------------------------------------------
    case(
        "invalid-image-reference",
        {P: project_with("from: python:3.11-slim", "from: Python:3.11 slim")},
        f"{P}:14: $.bases.python-base.from: 'Python:3.11 slim' is not a valid image reference "
        "(e.g. python:3.11-slim or debian:bookworm-slim@sha256:...)",
    ),
    case(
        "invalid-registry",
        {P: project_with("registry: ghcr.io/sutra-ai", "registry: https://ghcr.io/sutra-ai")},
        f"{P}:3: $.project.registry: 'https://ghcr.io/sutra-ai' is not a valid registry/namespace "
        "(e.g. ghcr.io/sutra-ai or localhost:5000/sutra)",
    ),
    case(
        "invalid-version-with-space",
        {P: project_with("version: 0.1.0", "version: 1.0 beta")},
        f"{P}:4: $.project.version: '1.0 beta' {TAG}",
    ),
    case(
        "invalid-version-leading-dash",
        {P: project_with("version: 0.1.0", "version: -x")},
        f"{P}:4: $.project.version: '-x' {TAG}",
    ),
    # --- text the generated files cannot carry (quotes, `${` and the like are escaped) --------
    case(
        "description-with-newline",
        {P: after_api_port('    description: "two\\nlines"\n')},
        f"{P}:32: $.services.api.description: 'two\\nlines' {UNPRINTABLE}",
    ),
    case(
        # `$` would match before the final newline a block scalar ends with; it must not pass.
        "description-block-scalar-with-trailing-newline",
        {P: after_api_port("    description: |\n      one line\n")},
        f"{P}:32: $.services.api.description: 'one line\\n' {UNPRINTABLE}",
    ),
    case(
        "edition-description-with-nul",
        {S: 'description: "a\\0b"\nservices: [api, store]\n'},
        f"{S}:1: $.description: 'a\\x00b' {UNPRINTABLE}",
    ),
    case(
        "vendor-with-bidi-override",
        {P: project_with("  name: sutra\n", '  name: sutra\n  vendor: "abc\\u202edef"\n')},
        f"{P}:3: $.project.vendor: 'abc\\u202edef' {UNPRINTABLE}",
    ),
    case(
        "description-with-zero-width-space",
        {P: after_api_port('    description: "zero\\u200bwidth"\n')},
        f"{P}:32: $.services.api.description: 'zero\\u200bwidth' {UNPRINTABLE}",
    ),
    case(
        "command-with-newline",
        {P: after_api_port('    command: ["python\\n-m"]\n')},
        f"{P}:32: $.services.api.command[0]: 'python\\n-m' {UNPRINTABLE}",
    ),
    case(
        "env-value-with-newline",
        {P: after_api_port('    env: {MOTD: "a\\nb"}\n')},
        f"{P}:32: $.services.api.env.MOTD: 'a\\nb' {UNPRINTABLE}",
    ),
    case(
        "env-value-with-tab",
        {P: after_api_port('    env: {INDENT: "a\\tb"}\n')},
        f"{P}:32: $.services.api.env.INDENT: 'a\\tb' {UNPRINTABLE}",
    ),
    case(
        "env-value-with-lone-surrogate",
        {P: after_api_port('    env: {HALF: "\\ud800"}\n')},
        f"{P}:32: $.services.api.env.HALF: '\\ud800' {UNPRINTABLE}",
    ),
    case(
        "arg-value-with-escape-character",
        {P: after_api_port('    args: {MODE: "\\e[1m"}\n')},
        f"{P}:32: $.services.api.args.MODE: '\\x1b[1m' {UNPRINTABLE}",
    ),
    case(
        "arg-value-not-nfc",
        {P: after_api_port('    args: {NAME: "Rene\\u0301"}\n')},
        f"{P}:32: $.services.api.args.NAME: {NOT_NFC}",
    ),
    case(
        "description-not-nfc",
        {P: after_api_port('    description: "cafe\\u0301"\n')},
        f"{P}:32: $.services.api.description: {NOT_NFC}",
    ),
    case(
        "env-name-not-a-variable",
        {P: after_api_port("    env:\n      9LIVES: x\n")},
        f"{P}:33: $.services.api.env.9LIVES: key '9LIVES' is not a valid variable name "
        "(letters, digits, '_', not starting with a digit)",
    ),
    # --- secrets -------------------------------------------------------------------------------
    case(
        "env-named-like-secrets",
        {P: after_api_port("    env:\n      API_TOKEN: x\n      DB_PASSWORD: y\n")},
        f"{P}:33: $.services.api.env.API_TOKEN: 'API_TOKEN' " + SECRET.format(kind="env"),
        f"{P}:34: $.services.api.env.DB_PASSWORD: 'DB_PASSWORD' " + SECRET.format(kind="env"),
    ),
    case(
        "args-named-like-secrets",
        {P: after_api_port("    args:\n      AWS_SECRET_ACCESS_KEY: x\n      SIGNING_KEY: y\n")},
        f"{P}:33: $.services.api.args.AWS_SECRET_ACCESS_KEY: 'AWS_SECRET_ACCESS_KEY' "
        + SECRET.format(kind="args"),
        f"{P}:34: $.services.api.args.SIGNING_KEY: 'SIGNING_KEY' " + SECRET.format(kind="args"),
    ),
    case(
        "env-sets-port-that-port-owns",
        {P: after_api_port("    env:\n      PORT: 9999\n")},
        f"{P}:33: $.services.api.env.PORT: PORT is set from the service's `port`; "
        "remove it from env",
    ),
    case(
        "volume-is-the-root-directory",
        {P: after_api_port("    volumes: [/]\n")},
        f"{P}:32: $.services.api.volumes[0]: '/' is not an absolute path of names "
        "(letters, digits, '.', '_', '-'; none starting with '.')",
    ),
    case(
        "volume-climbs-out-with-dot-dot",
        {P: after_api_port("    volumes: [/data/..]\n")},
        f"{P}:32: $.services.api.volumes[0]: '/data/..' is not an absolute path of names "
        "(letters, digits, '.', '_', '-'; none starting with '.')",
    ),
    case(
        "volume-over-a-system-directory",
        {P: after_api_port("    volumes: [/etc/app]\n")},
        f"{P}:32: $.services.api.volumes[0]: '/etc/app' is a system directory; "
        "mount data somewhere like /data",
    ),
    # --- hostile documents ---------------------------------------------------------------------
    case(
        "spec-with-yml-extension",
        {"editions/extra.yml": "services: [api]\n"},
        "editions/extra.yml:1: $: spec files end in .yaml; rename it to be read",
    ),
    case(
        "yaml-alias-bomb",
        {S: billion_laughs()},
        f"{S}:1: $: document too large: more than 100000 values (after expanding aliases)",
    ),
    case(
        "yaml-deep-nesting",
        {S: "services: " + "[" * 5000 + "]" * 5000 + "\n"},
        f"{S}:1: $: document too large: nested deeper than 32 levels",
    ),
    case(
        "yaml-deep-block-nesting",
        {S: "services: [api]\nx:\n" + "".join("  " * i + "k:\n" for i in range(1, 60))},
        f"{S}:1: $: document too large: nested deeper than 32 levels",
    ),
    case(
        "file-larger-than-1mib",
        {S: "services: [api, store]\n" + "#" * (1024 * 1024) + "\n"},
        f"{S}:1: $: file is larger than 1048576 bytes",
    ),
    case(
        "non-utf8-bytes",
        {S: b"description: caf\xe9\nservices: [api, store]\n"},
        f"{S}:1: $: not UTF-8 text: invalid continuation byte",
    ),
    case(
        "python-object-tag-on-scalar",
        {S: "services: [api, store]\ndescription: !!python/name:os.system ''\n"},
        f"{S}:2: $: invalid YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/name:os.system'",
    ),
    case(
        "python-object-tag-on-mapping",
        {S: "!!python/object:argparse.Namespace\nservices: [api, store]\n"},
        f"{S}:1: $: invalid YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object:argparse.Namespace'",
    ),
    case(
        "python-object-tag-on-sequence",
        {S: "services: !!python/object/new:list [api, store]\n"},
        f"{S}:1: $: invalid YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/new:list'",
    ),
]


def _broken_tree(tmp_path: Path, item: Case) -> Path:
    """A rendered valid project, then broken the way `item` says."""
    root = make_minimal_project(tmp_path / "proj")
    commands.render(root)
    make_minimal_project(root, item.files)
    if item.setup is not None:
        item.setup(root)
    return root


def test_enough_cases() -> None:
    """The issue asks for at least 25 malformed inputs."""
    assert len(CASES) >= 25


@pytest.mark.timeout(HANG_GUARD_SECONDS)
@pytest.mark.parametrize("item", CASES)
@pytest.mark.parametrize("command", ["validate", "render"])
def test_invalid_spec_is_reported_and_nothing_changes(
    tmp_path: Path, item: Case, command: str
) -> None:
    root = _broken_tree(tmp_path, item)
    before = tree_state(tmp_path)

    result = invoke(command, "-C", str(root))

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "".join(line + "\n" for line in item.expected)
    assert "Traceback" not in result.stderr
    for line in result.stderr.splitlines():
        assert PROBLEM_LINE.match(line), line
    assert tree_state(tmp_path) == before


def test_minimal_project_itself_is_valid(minimal_project: Path) -> None:
    """The base every case breaks is valid, so each case's problems are its own."""
    result = invoke("validate", "-C", str(minimal_project))
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "ok: 2 spec files, 1 edition, 2 services, 4 bases\n",
        "",
    )
    assert MINIMAL_PROJECT.splitlines()[27:35] == [
        "  api:",
        "    stack: python",
        "    context: packages/api",
        "    port: 8000",
        "  store:",
        "    stack: rust",
        "    context: packages/store",
        "    port: 9000",
    ]


def test_schema_problems_in_several_files_are_reported_together(
    make_project: Callable[..., Path],
) -> None:
    """Every file's schema problems at once, sorted by file, then line."""
    root = make_project(
        {
            P: project_with("port: 8000", "port: '8000'").replace(
                "registry: ghcr.io/sutra-ai", "registry: GHCR.io"
            ),
            S: "services: [api, store]\nextend: none\n",
            "editions/community.yaml": "services: [API]\n",
            "editions/enterprise.yaml": 'description: "a\\tb"\nservices: []\n',
        }
    )
    result = invoke("validate", "-C", str(root))
    assert result.exit_code == 2
    assert result.stderr == (
        "editions/community.yaml:1: $.services[0]: 'API' " + NAME + "\n"
        "editions/enterprise.yaml:1: $.description: 'a\\tb' " + UNPRINTABLE + "\n"
        "editions/project.yaml:3: $.project.registry: 'GHCR.io' is not a valid registry/namespace "
        "(e.g. ghcr.io/sutra-ai or localhost:5000/sutra)\n"
        "editions/project.yaml:31: $.services.api.port: '8000' is not of type 'integer'\n"
        "editions/simple.yaml:2: $.extend: unknown key 'extend'\n"
    )


def test_semantic_problems_in_several_files_are_reported_together(
    make_project: Callable[..., Path],
) -> None:
    root = make_project(
        {
            P: after_api_port("    env: {SESSION_SECRET: x}\n").replace(
                "context: packages/store", "context: packages/stor"
            ),
            S: "services: [api, store, search]\n",
            "editions/alpha.yaml": "extends: omega\nservices: [api]\n",
        }
    )
    result = invoke("render", "-C", str(root))
    assert result.exit_code == 2
    assert result.stderr == (
        "editions/alpha.yaml:1: $.extends: unknown edition 'omega'\n"
        "editions/project.yaml:32: $.services.api.env.SESSION_SECRET: 'SESSION_SECRET' "
        + SECRET.format(kind="env")
        + "\n"
        "editions/project.yaml:35: $.services.store.context: 'packages/stor' is not a directory "
        "under the project root\n"
        "editions/simple.yaml:1: $.services[2]: unknown service 'search'\n"
    )
    assert not (root / "docker-bake.hcl").exists()
    assert not (root / "dockerfiles").exists()


def test_yaml_problems_in_several_files_are_reported_together(
    make_project: Callable[..., Path],
) -> None:
    root = make_project(
        {
            P: project_with("    port: 9000\n", "    port: 9000\n    port: 9001\n"),
            S: "services: [api, store]\n\tdescription: tab\n",
            "editions/community.yaml": b"services: [\xff]\n",
        }
    )
    result = invoke("validate", "-C", str(root))
    assert result.exit_code == 2
    assert result.stderr == (
        "editions/community.yaml:1: $: not UTF-8 text: invalid start byte\n"
        "editions/project.yaml:36: $.services.store.port: duplicate key 'port'\n"
        "editions/simple.yaml:2: $: invalid YAML: found character '\\t' that cannot start "
        "any token\n"
    )
