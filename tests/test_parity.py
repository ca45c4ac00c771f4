"""Every page exists in both languages with the same skeleton.

For each pair ``page.md`` / ``page.zh.md`` the heading levels, the ``--8<--`` includes,
the figures and the number of code fences must match, so a section, snippet or figure
added in one language cannot be missing from the other. A Chinese page may include the
Chinese variant ``<topic>.zh.out.txt`` of a recorded output where the English page includes
``<topic>.out.txt``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import DOCS, chinese_pages, english_pages, lines_outside_fences, page_text, translation_of

HEADING = re.compile(r"^(#{1,6})\s")
INCLUDE = re.compile(r"""--8<--\s*["']([^"']+)["']""")
BLOCK_INCLUDE_LINE = re.compile(r"^\s*(snippets/\S+)\s*$")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)")
FENCE_OPEN = re.compile(r"^\s*(`{3,}|~{3,})\s*\S")


def same_output(include: str) -> str:
    """A Chinese page may show the Chinese variant of an output: ``x.zh.out.txt`` stands for ``x.out.txt``."""
    return include.replace(".zh.out.txt", ".out.txt")


def includes(text: str) -> list[str]:
    """The files a page includes with ``--8<--`` (inline and block form), as written."""
    return INCLUDE.findall(text) + [
        m.group(1) for line in text.splitlines() if (m := BLOCK_INCLUDE_LINE.match(line))
    ]


def skeleton(page: Path) -> dict[str, list]:
    text = page_text(page)
    outside = list(lines_outside_fences(text))
    return {
        "heading levels": [len(m.group(1)) for line in outside if (m := HEADING.match(line))],
        "includes": [same_output(include) for include in includes(text)],
        "figures": IMAGE.findall(" ".join(outside)),
        "code fences": [len(FENCE_OPEN.findall(text))],
    }


def test_there_are_pages() -> None:
    assert english_pages(), "docs/ has no pages"


@pytest.mark.parametrize("page", chinese_pages(), ids=str)
def test_every_chinese_page_has_an_english_original(page: Path) -> None:
    original = translation_of(page)
    assert (DOCS / original).exists(), f"docs/{page} has no English page docs/{original}"


@pytest.mark.parametrize("page", english_pages(), ids=str)
def test_page_pair_matches(page: Path) -> None:
    translation = translation_of(page)
    assert (DOCS / translation).exists(), f"docs/{page} has no Chinese translation docs/{translation}"
    english, chinese = skeleton(page), skeleton(translation)
    for part in english:
        assert english[part] == chinese[part], (
            f"{part} differ between docs/{page} and docs/{translation}:\n"
            f"  en: {english[part]}\n  zh: {chinese[part]}"
        )


@pytest.mark.parametrize("page", english_pages() + chinese_pages(), ids=str)
def test_included_files_and_figures_exist(page: Path) -> None:
    parts = skeleton(page)
    for include in includes(page_text(page)):
        target = include.split(":")[0]
        assert (DOCS.parent / target).is_file(), f"docs/{page} includes a missing file: {target}"
    for figure in parts["figures"]:
        if "://" in figure:
            pytest.fail(f"docs/{page} loads a figure from another host: {figure}")
        assert ((DOCS / page).parent / figure).resolve().is_file(), (
            f"docs/{page} shows a missing figure: {figure}"
        )


@pytest.mark.parametrize("page", english_pages() + chinese_pages(), ids=str)
def test_figures_have_alt_text(page: Path) -> None:
    text = page_text(page)
    empty = re.findall(r"!\[\s*\]\(([^)]+)\)", text)
    assert not empty, f"docs/{page}: figures without alt text: {empty}"
