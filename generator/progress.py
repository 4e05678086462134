"""Follow buildx's `--progress=rawjson` stream: keep every event for the build report and
show the user one line per finished step (BuildKit's own events, never its human output).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

# buildx names the failing target in its final error: `ERROR: target sutra-api: failed to solve`.
FAILED_TARGET = re.compile(r"target ([A-Za-z0-9_.-]+): failed to solve")
# BuildKit's bookkeeping steps: loading definitions and contexts, provenance for metadata.
_QUIET = re.compile(r"\binternal\]|resolving provenance")
_LOG_LINES_ON_ERROR = 20
_WIDTH = 120

Event = dict[str, Any]


@dataclass
class Followed:
    """What one buildx run said: its events, and the targets it named as failed."""

    events: list[Event] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    shown: set[tuple[str, str]] = field(default_factory=set)
    logs: dict[str, list[str]] = field(default_factory=dict)


def _step_line(vertex: Event) -> str:
    name = " ".join(str(vertex.get("name", "")).split())
    name = name if len(name) <= _WIDTH else name[: _WIDTH - 3] + "..."
    if vertex.get("error"):
        return f"{name} ERROR: {vertex['error']}"
    if vertex.get("cached"):
        return f"{name} CACHED"
    return f"{name} {seconds_between(vertex['started'], vertex['completed']):.1f}s"


def seconds_between(start: str, end: str) -> float:
    """Seconds between two of BuildKit's RFC 3339 timestamps (nanosecond fractions)."""
    return timestamp(end) - timestamp(start)


def timestamp(value: str) -> float:
    """An RFC 3339 timestamp with up to nine fractional digits, as Unix seconds."""
    head, _, tail = value.rstrip("Z").partition(".")
    moment = datetime.fromisoformat(head + "+00:00").timestamp()
    return moment + (float("0." + tail) if tail else 0.0)


def _keep_logs(followed: Followed, event: Event) -> None:
    for entry in event.get("logs") or ():
        text = base64.b64decode(entry.get("data", "")).decode(errors="replace")
        kept = followed.logs.setdefault(entry.get("vertex", ""), [])
        kept.extend(text.splitlines())
        del kept[:-_LOG_LINES_ON_ERROR]


def _describe(followed: Followed, event: Event) -> list[str]:
    """The lines to show for an event: each step once, when it finishes."""
    lines = []
    for vertex in event.get("vertexes") or ():
        key = (str(vertex.get("digest")), str(vertex.get("name")))
        if not vertex.get("completed") or key in followed.shown:
            continue
        followed.shown.add(key)
        if _QUIET.search(key[1]) and not vertex.get("error"):
            continue
        lines.append(_step_line(vertex) + "\n")
        if vertex.get("error"):
            lines += [f"  | {text}\n" for text in followed.logs.get(key[0], [])]
    return lines


def follow(lines: Iterable[str], out: TextIO, raw: bool = False) -> Followed:
    """Read buildx's stderr: JSON events are kept (and echoed as they are when `raw`, else
    described a line per step); anything else (buildx's own messages) is passed through."""
    followed = Followed()
    for line in lines:
        event = _parse(line)
        if event is None:
            out.write(line)
            followed.failed += [t for t in FAILED_TARGET.findall(line) if t not in followed.failed]
            continue
        followed.events.append(event)
        _keep_logs(followed, event)
        out.writelines([line] if raw else _describe(followed, event))
        out.flush()
    return followed


def _parse(line: str) -> Event | None:
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        return None
    return event if isinstance(event, dict) else None
