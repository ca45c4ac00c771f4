"""Claims of docs/summary.md: it links every page, and the plan covers every page once."""

from __future__ import annotations

import posixpath
import re

import pytest

from snippets.summary import study_plan
from tools import manifest
from tests.helpers import DOCS, english_pages

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("name", ["summary.md", "summary.zh.md"])
def test_summary_links_every_page(name: str) -> None:
    linked = {
        posixpath.normpath(target) for target in LINK.findall((DOCS / name).read_text(encoding="utf-8"))
    }
    missing = [str(page) for page in english_pages() if str(page) not in linked and page.name != "summary.md"]
    assert not missing, f"docs/{name} does not link: {missing}"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_plan_covers_every_page_once_in_stage_order(language: str) -> None:
    data = manifest.data()
    plan = study_plan(language, data)
    assert [title for title, _, _ in plan] == [stage["title"][language] for stage in data["stages"]]
    planned = [page for _, pages, _ in plan for page in pages]
    every = [page["title"][language] for section in data["sections"] for page in section["pages"]]
    assert sorted(planned) == sorted(every) and len(set(planned)) == len(planned)
    assert all(hours > 0 for _, _, hours in plan)
