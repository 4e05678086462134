"""progress.py: following buildx's rawjson stream."""

from __future__ import annotations

import base64
import io
import json

from generator import progress


def _event(**vertex: object) -> str:
    return json.dumps({"vertexes": [vertex]}) + "\n"


STARTED = "2026-11-28T21:47:48.342913734Z"
DONE = "2026-11-28T21:47:50.842913734Z"


def test_each_finished_step_is_shown_once() -> None:
    lines = [
        _event(digest="a", name="[api 2/3] RUN make", started=STARTED),
        _event(digest="a", name="[api 2/3] RUN make", started=STARTED, completed=DONE),
        _event(digest="a", name="[api 2/3] RUN make", started=STARTED, completed=DONE),
        _event(digest="b", name="[api 3/3] COPY . .", cached=True, started=DONE, completed=DONE),
        _event(digest="c", name="[api internal] load build context", completed=DONE, started=DONE),
    ]
    out = io.StringIO()
    followed = progress.follow(lines, out)
    assert out.getvalue() == "[api 2/3] RUN make 2.5s\n[api 3/3] COPY . . CACHED\n"
    assert len(followed.events) == len(lines)


def test_raw_mode_echoes_the_stream_and_still_keeps_it() -> None:
    lines = [_event(digest="a", name="[api 1/1] RUN x", started=STARTED, completed=DONE)]
    out = io.StringIO()
    followed = progress.follow(lines, out, raw=True)
    assert out.getvalue() == lines[0]
    assert followed.events == [json.loads(lines[0])]


def test_buildx_messages_pass_through_and_name_the_failed_targets() -> None:
    log = base64.b64encode(b"compiling\nerror: boom\n").decode()
    lines = [
        json.dumps({"logs": [{"vertex": "a", "stream": 2, "data": log}]}) + "\n",
        _event(
            digest="a",
            name="[api 2/2] RUN make",
            started=STARTED,
            completed=DONE,
            error="exit code: 1",
        ),
        "ERROR: target api: failed to solve: process did not complete\n",
    ]
    out = io.StringIO()
    followed = progress.follow(lines, out)
    assert followed.failed == ["api"]
    assert out.getvalue() == (
        "[api 2/2] RUN make ERROR: exit code: 1\n"
        "  | compiling\n"
        "  | error: boom\n"
        "ERROR: target api: failed to solve: process did not complete\n"
    )


def test_timestamps_keep_their_nanosecond_fractions() -> None:
    assert progress.seconds_between(STARTED, DONE) == 2.5
    assert progress.timestamp("1970-01-01T00:00:01Z") == 1.0
