"""report.py: the build report from a recorded rawjson stream and metadata file of a real
bake (tests/fixtures/rawjson: sutra-grid-master with its own steps uncached)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator import report
from generator.progress import Event

FIXTURES = Path(__file__).parent / "fixtures" / "rawjson"


@pytest.fixture(scope="module")
def events() -> list[Event]:
    lines = (FIXTURES / "grid-master.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def metadata() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(
        (FIXTURES / "grid-master.metadata.json").read_text()
    )
    return data


def _steps_by_name(events: list[Event]) -> dict[str, bool]:
    """Step name -> cached, read straight off the stream (names are unique per target)."""
    cached: dict[str, bool] = {}
    for event in events:
        for vertex in event.get("vertexes") or ():
            name = vertex["name"]
            if report.STEP.match(name):
                cached[name] = cached.get(name, False) or bool(vertex.get("cached"))
    return cached


def test_every_target_of_the_metadata_file_is_reported(events, metadata) -> None:
    built = report.from_progress(events, metadata)
    assert [t.target for t in built.targets] == sorted(metadata)


def test_the_counts_are_the_steps_and_cached_steps_of_the_stream(events, metadata) -> None:
    built = report.from_progress(events, metadata)
    steps = _steps_by_name(events)
    assert built.steps == len(steps)
    assert built.cached == sum(steps.values())
    assert 0 < built.cached < built.steps, "the recorded bake mixes cached and run steps"
    for row in built.targets:
        own = {n: c for n, c in steps.items() if n.startswith(f"[{row.target} ")}
        assert (row.steps, row.cached) == (len(own), sum(own.values())), row.target


def test_wall_time_spans_the_first_start_to_the_last_completion(events, metadata) -> None:
    built = {t.target: t for t in report.from_progress(events, metadata).targets}
    assert all(t.seconds >= 0 for t in built.values())
    assert built["sutra-grid-master"].seconds > 0


def test_a_vertex_belongs_to_the_target_its_prefix_names() -> None:
    targets = ("api", "python-base")
    assert report.target_of("[api deps 2/4] RUN pip install", targets) == "api"
    assert report.target_of("[python-base] exporting to image", targets) == "python-base"
    assert report.target_of("[internal] load local bake definitions", targets) is None
    assert report.target_of("[deps 2/4] RUN pip install", ("api",)) == "api"


def test_sizes_come_from_the_image_each_target_exported(events, metadata) -> None:
    asked: list[str] = []

    def sizes(ref: str) -> tuple[int | None, int | None]:
        asked.append(ref)
        return 3 * report.MIB, 7 * report.MIB

    built = report.with_sizes(report.from_progress(events, metadata), metadata, sizes)
    assert asked == [metadata["sutra-grid-master"]["image.name"]]
    row = {t.target: t for t in built.targets}["sutra-grid-master"]
    assert (row.compressed_bytes, row.unpacked_bytes) == (3 * report.MIB, 7 * report.MIB)
    assert "| 3.0 | 7.0 |" in report.markdown(built)


def test_markdown_has_a_row_per_target_and_a_total(events, metadata) -> None:
    built = report.from_progress(events, metadata)
    lines = report.markdown(built).splitlines()
    assert lines[0].startswith("| target | wall s | steps | run | cached | cache hit %")
    assert [line.split(" | ")[0][2:] for line in lines[2:-1]] == sorted(metadata)
    assert lines[-1].startswith(f"| **all** | | {built.steps} | {built.steps - built.cached} |")


def test_the_report_file_is_json_or_markdown_by_its_name(events, metadata, tmp_path: Path) -> None:
    built = report.from_progress(events, metadata)
    report.write(built, tmp_path / "r.json")
    rows = json.loads((tmp_path / "r.json").read_text())["targets"]
    assert [r["target"] for r in rows] == sorted(metadata)
    assert sum(r["cached"] for r in rows) == built.cached
    report.write(built, tmp_path / "r.md")
    assert (tmp_path / "r.md").read_text() == report.markdown(built)


def test_the_job_summary_is_appended_to(events, metadata, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    built = report.from_progress(events, metadata)
    report.append_summary(built, summary, "sutrabuild bake enterprise")
    text = summary.read_text()
    assert text.startswith("earlier step\n### sutrabuild bake enterprise\n")
    assert report.markdown(built) in text
