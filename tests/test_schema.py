"""schema.py: both JSON Schemas, and the shape of every kind of message they produce."""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from generator.errors import SpecError
from generator.schema import check_all, check_schema, schema_kind, validate_all, validation_key
from generator.specs import load_specs, parse_yaml
from tests.conftest import MINIMAL_PROJECT, REPO_ROOT, replace_once

UNPRINTABLE = (
    "contains a control or other non-printable character (a newline, tab or NUL, or an invisible "
    'format or private-use character); quotes, backslashes, backticks, "${" and "%{" are fine'
)
NAME = (
    "is not a valid name: use lowercase letters, digits and single dashes, starting with a letter"
)


def edition_messages(text: str) -> list[str]:
    """Schema problems of an edition file with this text."""
    return [str(p) for p in check_schema(parse_yaml(text, "editions/simple.yaml"))]


def project_messages(old: str, new: str) -> list[str]:
    """Schema problems of the minimal project.yaml with one edit."""
    text = replace_once(MINIMAL_PROJECT, old, new)
    return [str(p) for p in check_schema(parse_yaml(text, "editions/project.yaml"))]


@pytest.mark.parametrize("kind", ["project", "edition"])
def test_schemas_are_valid_draft_2020_12(kind: str) -> None:
    text = resources.files("generator").joinpath(f"schemas/{kind}.schema.json").read_text()
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False


def test_schema_kind_follows_the_file_name() -> None:
    assert schema_kind(parse_yaml("{}", "editions/project.yaml")) == "project"
    assert schema_kind(parse_yaml("{}", "editions/simple.yaml")) == "edition"
    assert schema_kind(parse_yaml("{}", "editions/my-project.yaml")) == "edition"


def test_real_specs_are_schema_valid() -> None:
    validate_all(load_specs(REPO_ROOT))


def test_minimal_project_is_schema_valid() -> None:
    assert check_schema(parse_yaml(MINIMAL_PROJECT, "editions/project.yaml")) == []


def test_unknown_keys_are_one_problem_each_at_their_own_line() -> None:
    assert edition_messages("services: [api]\nzeta: 1\nalpha: 2\n") == [
        "editions/simple.yaml:3: $.alpha: unknown key 'alpha'",
        "editions/simple.yaml:2: $.zeta: unknown key 'zeta'",
    ]


def test_required_property() -> None:
    assert edition_messages("description: x\n") == [
        "editions/simple.yaml:1: $: 'services' is a required property"
    ]


def test_pattern_message_shows_the_value_then_the_schema_message() -> None:
    assert edition_messages("extends: Simple\nservices: [api]\n") == [
        f"editions/simple.yaml:1: $.extends: 'Simple' {NAME}"
    ]


def test_long_values_are_shortened_to_sixty_characters() -> None:
    [message] = project_messages("version: 0.1.0", "version: -" + "a" * 70)
    shown = "'-" + "a" * 55 + "..."
    assert message == (
        f"editions/project.yaml:4: $.project.version: {shown} is not a valid image tag: letters, "
        "digits, '_', '.', '-', at most 128, not starting with '.' or '-'"
    )
    assert len(shown) == 60


def test_huge_values_never_make_huge_messages() -> None:
    [message] = edition_messages("services: " + "x" * 5000 + "\n")
    assert message.startswith("editions/simple.yaml:1: $.services: 'xxxx")
    assert len(message) < 300


def test_type_messages_come_from_jsonschema() -> None:
    assert edition_messages("services: [api, 1]\n") == [
        "editions/simple.yaml:1: $.services[1]: 1 is not of type 'string'"
    ]


def test_several_problems_in_one_file_are_all_found() -> None:
    text = replace_once(MINIMAL_PROJECT, "port: 8000", "port: 0").replace(
        "version: 0.1.0", "version: '.1'"
    )
    messages = [str(p) for p in check_schema(parse_yaml(text, "editions/project.yaml"))]
    assert sorted(messages) == [
        "editions/project.yaml:31: $.services.api.port: 0 is less than the minimum of 1",
        "editions/project.yaml:4: $.project.version: '.1' is not a valid image tag: letters, "
        "digits, '_', '.', '-', at most 128, not starting with '.' or '-'",
    ]


def test_validate_all_raises_every_problem_sorted() -> None:
    specs = [
        parse_yaml(replace_once(MINIMAL_PROJECT, "port: 9000", "port: x"), "editions/project.yaml"),
        parse_yaml("services: []\nextra: 1\n", "editions/community.yaml"),
    ]
    with pytest.raises(SpecError) as info:
        validate_all(specs)
    assert str(info.value) == (
        "editions/community.yaml:2: $.extra: unknown key 'extra'\n"
        "editions/project.yaml:35: $.services.store.port: 'x' is not of type 'integer'"
    )
    assert info.value.exit_code == 2


HOSTILE_YAML = [
    "'say \"hi\"'",
    "'${HOME}'",
    "'%{ if x }'",
    "'C:\\temp\\x'",
    "'run `id`'",
    '\'{"a": "b\\\\n"}\'',
    '"caf\\u00e9 \\u2014 \\u6f22\\u5b57 \\u2028 \\u00a0"',
    "'$$${x} %%{y} \\${z}'",
]


@pytest.mark.parametrize("value", HOSTILE_YAML)
def test_quotes_backslashes_and_templates_are_valid_text(value: str) -> None:
    """The generator escapes these; refusing them would only get in the user's way."""
    edit = (
        f"    port: 8000\n    description: {value}\n    env: {{V: {value}}}\n"
        f"    args: {{V: {value}}}\n    command: [{value}]\n"
    )
    assert project_messages("    port: 8000\n", edit) == []
    assert edition_messages(f"description: {value}\nservices: [api]\n") == []


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('"a\\nb"', "'a\\nb'"),
        ("|\n        ends with a newline", "'ends with a newline\\n'"),
        ('"tab\\there"', "'tab\\there'"),
        ('"nul\\0"', "'nul\\x00'"),
        ('"del\\x7f"', "'del\\x7f'"),
        ('"next\\x85line"', "'next\\x85line'"),
        ('"zero\\u200bwidth"', "'zero\\u200bwidth'"),
        ('"\\u202eevil"', "'\\u202eevil'"),
        ('"\\ufeffbom"', "'\\ufeffbom'"),
        ('"\\ud800"', "'\\ud800'"),
        ('"private\\ue000"', "'private\\ue000'"),
    ],
)
@pytest.mark.parametrize("field", ["env", "args"])
def test_unprintable_variable_values_get_the_unprintable_message(
    field: str, value: str, shown: str
) -> None:
    """env/args values may be text or numbers; bad text must say why, not `not of type`."""
    messages = project_messages(
        "    port: 8000\n", f"    port: 8000\n    {field}:\n      V: {value}\n"
    )
    assert messages == [
        f"editions/project.yaml:33: $.services.api.{field}.V: {shown} {UNPRINTABLE}"
    ]


def text_pattern(kind: str) -> re.Pattern[str]:
    text = resources.files("generator").joinpath(f"schemas/{kind}.schema.json").read_text()
    return re.compile(json.loads(text)["$defs"]["text"]["pattern"])


@pytest.mark.parametrize("kind", ["project", "edition"])
def test_text_pattern_refuses_exactly_the_unprintable_categories(kind: str) -> None:
    """Every control, format, surrogate and private-use character is refused, every letter,
    mark, number, punctuation, symbol and separator accepted; unassigned code points may go
    either way (which ones are unassigned changes with each Unicode version)."""
    pattern = text_pattern(kind)
    wrong = []
    for code in range(sys.maxunicode + 1):
        char, category = chr(code), unicodedata.category(chr(code))
        accepted = pattern.search(f"a{char}b") is not None
        if category != "Cn" and accepted == category.startswith("C"):
            wrong.append(f"U+{code:04X} ({category}) {'accepted' if accepted else 'refused'}")
    assert wrong == []


@given(st.text(st.characters(exclude_categories=("C",))))
def test_any_printable_text_is_valid(text: str) -> None:
    assert text_pattern("project").search(text)
    assert text_pattern("edition").search(text)


@pytest.mark.parametrize("value", ["1.5", "null", "[a]"])
def test_variable_values_of_the_wrong_type(value: str) -> None:
    [message] = project_messages("    port: 8000\n", f"    port: 8000\n    env: {{V: {value}}}\n")
    assert message.startswith("editions/project.yaml:32: $.services.api.env.V: ")
    assert message.endswith(" is not of type 'string'")


def test_variable_values_may_be_text_numbers_or_booleans() -> None:
    edit = "    port: 8000\n    env: {A: text, B: 3, C: true, D: 'cost $5 or 100%'}\n"
    assert project_messages("    port: 8000\n", edit) == []


def test_too_long_text_says_it_is_too_long() -> None:
    """A 501-character description has no forbidden character: the limit is the problem."""
    [message] = edition_messages("description: " + "x" * 501 + "\nservices: [api]\n")
    assert message.startswith("editions/simple.yaml:1: $.description: 'xxx")
    assert "500" in message
    assert "non-printable" not in message


def test_a_bad_key_is_located_at_the_key() -> None:
    """propertyNames problems point at the offending key's line and path, not its mapping."""
    messages = project_messages("  store:\n", "  Store:\n")
    assert messages == [f"editions/project.yaml:32: $.services.Store: key 'Store' {NAME}"]


# --- check_all: a spec set found valid is remembered ------------------------------------------


def _refuse_to_validate(spec: object) -> list[object]:
    raise AssertionError("validated again")


def test_a_valid_spec_set_is_validated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    specs = load_specs(REPO_ROOT)
    assert check_all(specs) == []
    monkeypatch.setattr("generator.schema.check_schema", _refuse_to_validate)
    assert check_all(specs) == []


def test_a_changed_spec_is_validated_again(monkeypatch: pytest.MonkeyPatch) -> None:
    valid = parse_yaml(MINIMAL_PROJECT, "editions/project.yaml")
    assert check_all([valid]) == []
    changed = parse_yaml(MINIMAL_PROJECT + "unknown_key: 1\n", "editions/project.yaml")
    assert check_all([changed]) != []
    assert validation_key([valid]) != validation_key([changed])


def test_an_invalid_spec_set_is_never_remembered() -> None:
    bad = parse_yaml(MINIMAL_PROJECT + "unknown_key: 1\n", "editions/project.yaml")
    first = check_all([bad])
    assert first and check_all([bad]) == first


def test_without_a_cache_every_call_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUTRABUILD_CACHE", "off")
    specs = load_specs(REPO_ROOT)
    assert check_all(specs) == []
    monkeypatch.setattr("generator.schema.check_schema", _refuse_to_validate)
    with pytest.raises(AssertionError, match="validated again"):
        check_all(specs)
