"""docs/roadmap.yml is complete and consistent: it drives the navigation and page headers."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import DOCS, english_pages
from tools.manifest import data, validate

DATA = data()
PAGES = {page["path"]: page for section in DATA["sections"] for page in section["pages"]}


def test_every_page_is_in_the_roadmap() -> None:
    missing = [str(page) for page in english_pages() if str(page.with_suffix("")) not in PAGES]
    assert not missing, f"add these pages to docs/roadmap.yml: {missing}"


def test_entries_are_complete() -> None:
    stages = {stage["id"] for stage in DATA["stages"]}
    for section in DATA["sections"]:
        assert section["stage"] in stages, f"unknown stage {section['stage']!r}"
        for page in section["pages"]:
            assert set(page["title"]) == {"en", "zh"}, f"{page['path']}: titles need en and zh"
            assert isinstance(page["read"], int) and page["read"] > 0
            assert isinstance(page["run"], int) and page["run"] >= 0


def test_titles_are_unique_in_each_language() -> None:
    for language in ("en", "zh"):
        titles = [page["title"][language] for page in PAGES.values()]
        assert len(titles) == len(set(titles)), f"duplicate {language} titles"


def test_prerequisites_exist_and_have_no_cycles() -> None:
    for path, page in PAGES.items():
        for required in page["requires"]:
            assert required in PAGES, f"{path} requires unknown page {required}"
    validate(DATA)  # raises ManifestError on a prerequisite cycle (tests/test_manifest.py shows it can)


def test_pages_do_not_repeat_the_generated_header() -> None:
    """Times and prerequisites come from roadmap.yml; a page must not hard-code them."""
    for page in DOCS.rglob("*.md"):  # notebooks get no generated header
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"^\*\*(Prerequisites|Time|预备知识|所需时间)", text, re.MULTILINE), (
            f"docs/{Path(page).relative_to(DOCS)} writes its own prerequisites/time line"
        )
