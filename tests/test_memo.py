"""memo.py: sutrabuild's own cache folder and the compiled-template cache in it."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import pytest

from generator import memo


def test_the_cache_folder_follows_sutrabuild_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUTRABUILD_CACHE", str(tmp_path / "c"))
    assert memo.cache_dir() == tmp_path / "c"
    assert (tmp_path / "c").is_dir()


def test_then_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUTRABUILD_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert memo.cache_dir() == tmp_path / "sutrabuild"


def test_off_or_unwritable_means_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUTRABUILD_CACHE", "off")
    assert memo.cache_dir() is None
    assert memo.template_bytecode() is None
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SUTRABUILD_CACHE", str(blocker / "cache"))
    assert memo.cache_dir() is None


def _render(templates: Path) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)), bytecode_cache=memo.template_bytecode()
    )
    return env.get_template("t.j2").render(name="x")


def test_an_edited_template_is_never_served_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUTRABUILD_CACHE", str(tmp_path / "cache"))
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "t.j2").write_text("one {{ name }}\n")
    assert _render(templates) == "one x"
    assert any((tmp_path / "cache").rglob("*.cache")), "nothing was cached"
    (templates / "t.j2").write_text("two {{ name }}\n")
    os.utime(templates / "t.j2", (0, 0))  # even with an older modification time
    assert _render(templates) == "two x"
