"""The glossary defines each term once, and pages use its wording."""

from __future__ import annotations

from collections import Counter

import pytest
import yaml

from tests.helpers import DOCS, chinese_pages, english_pages, lines_outside_fences, load_hook, page_text

TERMS = yaml.safe_load((DOCS / "glossary.yml").read_text(encoding="utf-8"))["terms"]


def test_entries_are_complete() -> None:
    for term in TERMS:
        for field in ("en", "zh", "en_def", "zh_def"):
            assert str(term.get(field, "")).strip(), f"glossary entry {term.get('en')!r} lacks {field}"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_no_term_is_defined_twice(language: str) -> None:
    counts = Counter(term[language].lower() for term in TERMS)
    twice = sorted(word for word, count in counts.items() if count > 1)
    assert not twice, f"defined more than once in docs/glossary.yml: {twice}"


def test_avoided_wordings_are_not_glossary_terms() -> None:
    terms = {term["zh"] for term in TERMS} | {term["en"] for term in TERMS}
    for term in TERMS:
        clash = set(term.get("avoid", [])) & terms
        assert not clash, f"{term['en']}: avoid list names glossary terms {clash}"


@pytest.mark.parametrize("page", english_pages() + chinese_pages(), ids=str)
def test_pages_use_the_glossary_wording(page) -> None:
    prose = "\n".join(lines_outside_fences(page_text(page)))
    problems = [
        f"{avoided!r} (use {term['zh'] if '.zh.' in page.name else term['en']!r})"
        for term in TERMS
        for avoided in term.get("avoid", [])
        if avoided in prose
    ]
    assert not problems, f"docs/{page} uses wordings the glossary avoids: {', '.join(problems)}"


def test_tooltips_skip_code_and_notebook_maths() -> None:
    hook = load_hook("glossary")
    html = "<p>$\\text{gradient}_k$ and <code>gradient</code> then gradient</p>"
    out = hook.add_tooltips(html, "en")
    assert out.count("<abbr") == 1
    assert "$\\text{gradient}_k$ and <code>gradient</code> then <abbr" in out
