"""The build report on real bakes: its figures are the rawjson stream's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator import report
from generator.resolve import Resolved
from tests.engine.helpers import bake

pytestmark = pytest.mark.usefixtures("engine")


def _cached_by_name(events: list[dict]) -> dict[str, bool]:
    """Every build step the stream names, and whether BuildKit reported it CACHED."""
    cached: dict[str, bool] = {}
    for event in events:
        for vertex in event.get("vertexes") or ():
            if report.STEP.match(vertex["name"]):
                name = vertex["name"]
                cached[name] = cached.get(name, False) or bool(vertex.get("cached"))
    return cached


def _rust_service(resolved: Resolved) -> str:
    project = resolved.project
    return next(
        s for s in resolved.editions["enterprise"].services if project.services[s].stack == "rust"
    )


@pytest.mark.parametrize("cold", [True, False], ids=["service-uncached", "warm"])
def test_the_report_counts_what_the_stream_reports(
    resolved: Resolved, tmp_path: Path, cold: bool
) -> None:
    service = _rust_service(resolved)
    out = tmp_path / "report.json"
    summary = tmp_path / "summary.md"
    flags = ("--set", f"{service}.no-cache=true") if cold else ()
    proc, events = bake(
        service, "--report", str(out), env={"GITHUB_STEP_SUMMARY": str(summary)}, extra=flags
    )
    rows = {r["target"]: r for r in json.loads(out.read_text())["targets"]}
    stream = _cached_by_name(events)
    assert sum(r["steps"] for r in rows.values()) == len(stream)
    assert sum(r["cached"] for r in rows.values()) == sum(stream.values())
    own = rows[service]
    assert own["steps"] > 0
    if cold:
        assert own["run"] > 0, "no-cache steps ran"
    else:
        assert all(r["run"] == 0 for r in rows.values()), rows
    assert own["compressed_bytes"] and own["unpacked_bytes"], "the image's sizes"
    assert own["unpacked_bytes"] > own["compressed_bytes"]
    # The same table is shown after the bake and appended to the job summary.
    table = report.markdown(report.BuildReport(()))
    assert table.splitlines()[0] in proc.stdout
    assert f"### sutrabuild bake {service}" in summary.read_text()
    assert f"| {service} |" in summary.read_text()
