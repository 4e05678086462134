"""Validate parsed spec files against the JSON Schemas shipped in generator/schemas/."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator import memo
from generator.errors import Problem, SpecError
from generator.specs import PROJECT_FILE, SpecFile

# jsonschema is imported only when a spec has to be validated: it is the largest import of
# a `check` or `render` whose specs were already found valid (see check_all).
if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

KINDS = ("project", "edition")

_MAX_SHOWN = 60


def _schema_text(kind: str) -> str:
    return resources.files("generator").joinpath(f"schemas/{kind}.schema.json").read_text()


@cache
def validator(kind: str) -> Validator:
    """The validator for 'project' or 'edition' specs."""
    from jsonschema import Draft202012Validator, validators

    text = _schema_text(kind)
    # JSON Schema calls 8000.0 an integer; a port or uid rendered as "8000.0" is not one.
    strict = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)
    )
    # types-jsonschema leaves `extend` unannotated; the annotation on `cls` is what it returns.
    cls: type[Validator] = validators.extend(  # type: ignore[no-untyped-call]
        Draft202012Validator, type_checker=strict
    )
    return cls(json.loads(text))


def schema_kind(spec: SpecFile) -> str:
    """Which schema a spec file is validated against."""
    return "project" if spec.path.endswith("/" + PROJECT_FILE) else "edition"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _problems_for(spec: SpecFile, error: ValidationError) -> list[Problem]:
    from jsonschema.exceptions import best_match

    path = tuple(error.absolute_path)
    if error.validator == "anyOf" and error.context:
        # A string that fails its pattern says more than "is not an integer or boolean".
        error = best_match([e for e in error.context if e.validator != "type"] or error.context)
    # A subschema may be a bare true/false; every branch below reads keywords of a mapping.
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    if "propertyNames" in error.relative_schema_path and isinstance(error.instance, str):
        note = schema.get("errorMessage", error.message)
        return [spec.problem((*path, error.instance), f"key {_shown(error.instance)} {note}")]
    if error.validator == "maxLength":
        limit = error.validator_value
        return [spec.problem(path, f"{_shown(error.instance)} is longer than {limit} characters")]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = schema.get("properties", {})
        extra = sorted(k for k in error.instance if k not in allowed)
        return [spec.problem((*path, key), f"unknown key {key!r}") for key in extra]
    custom = schema.get("errorMessage")
    if custom and error.validator == "pattern":
        return [spec.problem(path, f"{_shown(error.instance)} {custom}")]
    message = error.message if len(error.message) < 200 else f"{_shown(error.instance)} is invalid"
    return [spec.problem(path, message)]


def check_schema(spec: SpecFile) -> list[Problem]:
    """Every schema violation of one spec file, located by line and JSON path."""
    errors = validator(schema_kind(spec)).iter_errors(spec.data)
    return [p for error in errors for p in _problems_for(spec, error)]


def validation_key(specs: Sequence[SpecFile]) -> str:
    """What validity depends on: the schemas, this module's rules, and each file's data."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for kind in KINDS:
        digest.update(_schema_text(kind).encode())
    for spec in sorted(specs, key=lambda s: s.path):
        # default=repr keeps YAML's dates apart from strings, as the validator does.
        data = json.dumps(spec.data, sort_keys=True, default=repr)
        digest.update(f"\0{spec.path}\0{data}".encode())
    return digest.hexdigest()


def check_all(specs: Sequence[SpecFile]) -> list[Problem]:
    """Every schema problem of every file. A set of files found valid before is remembered
    by its validation_key and not validated again."""
    stamp = memo.stamp("valid-specs", validation_key(specs))
    if stamp is not None and stamp.exists():
        return []
    problems = [p for spec in specs for p in check_schema(spec)]
    if not problems and stamp is not None:
        memo.touch(stamp)
    return problems


def validate_all(specs: list[SpecFile]) -> None:
    """Raise SpecError listing every schema problem in every file."""
    problems = check_all(specs)
    if problems:
        raise SpecError(problems)
