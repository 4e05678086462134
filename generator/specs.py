"""Load the YAML spec files under editions/, keeping the line of every key for error messages."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator.errors import Problem, SpecError

SPEC_DIR = "editions"
PROJECT_FILE = "project.yaml"
# Hostile or broken input must fail fast with a message, never hang or blow the stack.
MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 100_000

JsonPath = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


@dataclass(frozen=True)
class SpecFile:
    """One parsed spec file: its data and the source line of every JSON path in it."""

    path: str
    data: Any
    lines: Mapping[JsonPath, int] = field(repr=False)

    def line_of(self, path: JsonPath) -> int:
        """The line of `path`, or of its nearest ancestor that has one."""
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)

    def problem(self, path: JsonPath, message: str) -> Problem:
        """A Problem located at `path` in this file."""
        return Problem(self.path, self.line_of(path), format_path(path), message)


def format_path(path: JsonPath) -> str:
    """Render a JSON path the way the messages show it: $.services.sutra-api.port."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}"
        else:
            # Whitespace is escaped so a message's path stays one token: FILE:LINE: PATH: msg.
            out += "[" + re.sub(r"\s", lambda m: f"\\x{ord(m.group()):02x}", repr(part)) + "]"
    return out


class _TooBig(Exception):
    """Raised inside the walk when a document exceeds the depth or node limits."""


class _Builder:
    """Turns a composed YAML node tree into plain data plus a path -> line map."""

    def __init__(self, rel: str) -> None:
        self.loader = yaml.SafeLoader("")
        self.rel = rel
        self.lines: dict[JsonPath, int] = {}
        self.problems: list[Problem] = []
        self.nodes = 0

    def parse(self, text: str) -> Any:
        """Compose the single document in `text` and build its data."""
        self.loader = yaml.SafeLoader(text)
        try:
            node = self.loader.get_single_node()
            return self.build(node, ()) if node is not None else None
        finally:
            self.loader.dispose()

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig(f"more than {MAX_NODES} values (after expanding aliases)")
        if len(path) > MAX_DEPTH:
            raise _TooBig(f"nested deeper than {MAX_DEPTH} levels")
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.CollectionNode) and node.tag not in _COLLECTION_TAGS:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"could not determine a constructor for the tag {node.tag!r}",
                node.start_mark,
            )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        self.loader.flatten_mapping(node)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                self.problems.append(
                    Problem(self.rel, line, format_path(path), "keys must be strings")
                )
                continue
            if key in out:
                msg = f"duplicate key {key!r}"
                self.problems.append(Problem(self.rel, line, format_path((*path, key)), msg))
                continue
            self.lines[(*path, key)] = line
            out[key] = self.build(value_node, (*path, key))
        return out

    def _scalar(self, node: yaml.Node) -> Any:
        # Dates stay strings: a version like 2024-01-01 is text to us, not a datetime.
        if node.tag in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"):
            return str(node.value)
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, KeyError, IndexError, TypeError):
            kind = node.tag.rsplit(":", 1)[-1]
            message = f"{node.value!r} is not a valid {kind}"
            raise yaml.constructor.ConstructorError(None, None, message, node.start_mark) from None


def _yaml_problem(exc: yaml.YAMLError, text: str, rel: str) -> Problem:
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return Problem(
            rel, line, "$", f"invalid YAML: unacceptable character #x{exc.character:04x}"
        )
    if isinstance(exc, yaml.MarkedYAMLError):
        mark, problem = exc.problem_mark or exc.context_mark, exc.problem or str(exc)
        # An unclosed quote or bracket is found at the end of the file; point where it opened.
        if exc.context_mark and "end of stream" in problem:
            mark, problem = exc.context_mark, f"{problem} ({exc.context})"
        elif exc.context and "expected a single document" in exc.context:
            problem = "expected a single document, but found another document"
        return Problem(rel, mark.line + 1 if mark else 1, "$", f"invalid YAML: {problem}")
    return Problem(rel, 1, "$", f"invalid YAML: {exc}")


def parse_yaml(text: str, rel: str) -> SpecFile:
    """Parse one YAML document; raise SpecError with located problems."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise SpecError([Problem(rel, 1, "$", f"file is larger than {MAX_BYTES} bytes")])
    builder = _Builder(rel)
    try:
        data = builder.parse(text)
    except yaml.YAMLError as exc:
        raise SpecError([_yaml_problem(exc, text, rel)]) from None
    except (_TooBig, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, _TooBig) else f"nested deeper than {MAX_DEPTH} levels"
        raise SpecError([Problem(rel, 1, "$", f"document too large: {reason}")]) from None
    if builder.problems:
        raise SpecError(builder.problems)
    return SpecFile(rel, data, builder.lines)


def spec_paths(root: Path) -> list[Path]:
    """Every spec file, in a stable order: project.yaml first, then editions by name."""
    spec_dir = root / SPEC_DIR
    files = sorted(p for p in spec_dir.glob("*.yaml") if p.name != PROJECT_FILE)
    return [spec_dir / PROJECT_FILE, *files]


def _read(path: Path, rel: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Problem(rel, 1, "$", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise SpecError([Problem(rel, 1, "$", f"not UTF-8 text: {exc.reason}")]) from None
    except OSError as exc:
        raise SpecError([Problem(rel, 1, "$", f"cannot read: {exc.strerror}")]) from None


def _each_loaded(root: Path) -> Iterator[SpecFile | SpecError]:
    for path in sorted((root / SPEC_DIR).glob("*.yml")):
        rel = path.relative_to(root).as_posix()
        yield SpecError([Problem(rel, 1, "$", "spec files end in .yaml; rename it to be read")])
    for path in spec_paths(root):
        rel = path.relative_to(root).as_posix()
        try:
            yield parse_yaml(_read(path, rel), rel)
        except SpecError as exc:
            yield exc


def parse_all(root: Path) -> tuple[list[SpecFile], list[Problem]]:
    """Every spec file that parses, and the problems of those that do not."""
    loaded = list(_each_loaded(root))
    problems = [p for item in loaded if isinstance(item, SpecError) for p in item.problems]
    return [item for item in loaded if isinstance(item, SpecFile)], problems


def load_specs(root: Path) -> list[SpecFile]:
    """Load project.yaml and every edition file; report the problems of all files at once."""
    specs, problems = parse_all(root)
    if problems:
        raise SpecError(problems)
    return specs
