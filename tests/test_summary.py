"""Claims of docs/summary.md: it links every page, and the plan covers every page once."""

from __future__ import annotations

import posixpath
import re

import pytest

from snippets.summary import study_plan
from tools import derived, manifest
from tests.helpers import DOCS, english_pages

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize(("name", "language"), [("summary.md", "en"), ("summary.zh.md", "zh")])
def test_summary_links_every_page(name: str, language: str) -> None:
    """The build adds each stage's page links at its marker (tools.derived), so a new page is linked
    without editing the summary; every stage's section must have its marker."""
    source = (DOCS / name).read_text(encoding="utf-8")
    for stage in manifest.stages():
        assert f"<!-- stage-pages: {stage['id']} -->" in source, f"docs/{name}: no marker for {stage['id']}"
    text = derived.fill_markers(source, "summary.md", language)
    linked = {posixpath.normpath(target) for target in LINK.findall(text)}
    missing = [str(page) for page in english_pages() if str(page) not in linked and page.name != "summary.md"]
    assert not missing, f"docs/{name} does not link: {missing}"


def test_stage_page_links_follow_the_manifest() -> None:
    core = [page for page in manifest.pages() if page.stage == "core" and page.exists]
    line = derived.stage_pages_line("core", "en", "summary.md")
    assert line.startswith("Pages of this stage: ") and line.endswith(".")
    assert [posixpath.normpath(target) for target in LINK.findall(line)] == [page.source for page in core]
    nested = derived.stage_pages_line("core", "zh", "roadmap/stages.md")
    assert f"]({posixpath.relpath(core[0].source, 'roadmap')})" in nested and nested.endswith("。")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_plan_covers_every_page_once_in_stage_order(language: str) -> None:
    data = manifest.data()
    plan = study_plan(language, data)
    assert [title for title, _, _ in plan] == [stage["title"][language] for stage in data["stages"]]
    planned = [page for _, pages, _ in plan for page in pages]
    every = [page["title"][language] for section in data["sections"] for page in section["pages"]]
    assert sorted(planned) == sorted(every) and len(set(planned)) == len(planned)
    assert all(hours > 0 for _, _, hours in plan)


def test_plan_hours_add_each_pages_reading_minutes_and_running_seconds() -> None:
    data = manifest.data()
    expected = {stage["id"]: 0.0 for stage in data["stages"]}
    for section in data["sections"]:
        for page in section["pages"]:
            expected[section["stage"]] += page["read"] / 60 + page["run"] / 3600
    plan = study_plan("en", data)
    assert [hours for _, _, hours in plan] == pytest.approx([expected[s["id"]] for s in data["stages"]])


def test_plan_reads_the_committed_roadmap_in_english_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DOCS.parent)  # ROADMAP is relative to the repository root
    assert study_plan() == study_plan("en", manifest.data())
