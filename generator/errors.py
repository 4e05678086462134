"""The one exception hierarchy of the library; only the CLI turns these into exit codes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One user-facing mistake, located in a spec file."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


class GeneratorError(Exception):
    """Base of every error the library raises on purpose."""

    exit_code = 1


class SpecError(GeneratorError):
    """The specs are invalid; carries every problem found, sorted by file, line and path."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems), key=lambda p: (p.file, p.line, p.path, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(GeneratorError):
    """The command was called with something that cannot work (unknown edition, bad flag)."""

    exit_code = 2


class OutputClashError(GeneratorError):
    """A file the generator would write or delete was not written by the generator."""

    exit_code = 2


class RenderError(GeneratorError):
    """A value cannot be written into a generated file; validation should have refused it."""

    exit_code = 2


class MarkerError(GeneratorError):
    """A generated region of a hand-written file (README.md's graph) has broken markers."""

    exit_code = 2


class CheckFailed(GeneratorError):
    """A check found differences or failures; the message is the report."""

    exit_code = 1


class BuildFailed(GeneratorError):
    """docker buildx (or a container run) failed."""

    exit_code = 1


class ToolMissing(GeneratorError):
    """A required external tool is absent; the message carries a one-line hint."""

    exit_code = 3
