"""Every page exists in both languages with the same skeleton.

For each pair ``page.md`` / ``page.zh.md`` the heading levels, the ``--8<--`` includes,
the figures and the number of code fences must match, so a section, snippet or figure
added in one language cannot be missing from the other. A Chinese page may include the
Chinese variant ``<topic>.zh.out.txt`` of a recorded output where the English page includes
``<topic>.out.txt``.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest

from tools.includes import page_includes
from tests.helpers import (
    DOCS,
    chinese_pages,
    english_pages,
    lines_outside_fences,
    numbered_lines_outside_fences,
    page_text,
    translation_of,
)

HEADING = re.compile(r"^(#{1,6})\s")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)")
FENCE_OPEN = re.compile(r"^\s*(`{3,}|~{3,})\s*\S")


def same_output(include: str) -> str:
    """A Chinese page may show the Chinese variant of an output: ``x.zh.out.txt`` stands for ``x.out.txt``."""
    return include.replace(".zh.out.txt", ".out.txt")


def includes(text: str) -> list[str]:
    """The files a page includes with ``--8<--`` (inline and block form), as written, in page order."""
    return [target for _, target in page_includes(text)]


def skeleton(page: Path) -> dict[str, list]:
    text = page_text(page)
    outside = list(lines_outside_fences(text))
    return {
        "heading levels": [len(m.group(1)) for line in outside if (m := HEADING.match(line))],
        "includes": [same_output(include) for include in includes(text)],
        "figures": IMAGE.findall(" ".join(outside)),
        "code fences": [len(FENCE_OPEN.findall(text))],
    }


BLOCK_START = re.compile(r"^\s*(!!!|\?\?\?\+?|===)\s*(\S*)")
LIST_ITEM = re.compile(r"^\s*([-*+]|\d+\.)\s")


def structure(text: str) -> list[tuple[tuple, int, str]]:
    """The page as a sequence of structural tokens, ``(token, line number, line)``: headings (by
    level), includes, figures, admonitions, tabs and the start of each list. Prose is left out,
    so the two languages' sequences are equal when their structure is."""
    outside = dict(numbered_lines_outside_fences(text))
    tokens = []
    previous = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if number in outside and LIST_ITEM.match(line) and not LIST_ITEM.match(previous):
            tokens.append((("list",), number, line.strip()))
        previous = line if line.strip() else ""
        if number in outside and (m := HEADING.match(line)):
            tokens.append((("heading", len(m.group(1))), number, line.strip()))
        elif number in outside and (m := BLOCK_START.match(line)):
            tokens.append((("block", m.group(1)), number, line.strip()))
        for include in includes(line):
            tokens.append((("include", same_output(include)), number, line.strip()))
        if number in outside:
            tokens += [(("figure", src), number, line.strip()) for src in IMAGE.findall(line)]
    return tokens


def first_difference(english: list, chinese: list) -> int:
    """Index of the first item where two lists differ (the shorter list's length if one extends the other)."""
    pairs = zip(english, chinese, strict=False)
    return next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(english), len(chinese)))


def heading_mismatch(page: Path, translation: Path, english_text: str, chinese_text: str) -> str:
    """Name each heading that is missing, extra or at another level in one language, with file and line.

    The two pages' structures (headings, includes, figures, admonitions) are aligned, so the
    heading found is the one whose place differs, even when its neighbours have the same level."""
    english, chinese = structure(english_text), structure(chinese_text)
    matcher = difflib.SequenceMatcher(a=[s[0] for s in english], b=[s[0] for s in chinese], autojunk=False)
    lines = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for source, other, found in (
            (page, translation, english[i1:i2]),
            (translation, page, chinese[j1:j2]),
        ):
            for token, line, heading in found:
                if token[0] == "heading":
                    lines.append(f"  docs/{source}:{line}: {heading!r} has no counterpart in docs/{other}")
    return "headings differ (a heading is missing, extra, or at another level):\n" + "\n".join(lines)


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
    assert english["heading levels"] == chinese["heading levels"], heading_mismatch(
        page, translation, page_text(page), page_text(translation)
    )
    for part in english:
        i = first_difference(english[part], chinese[part])
        assert english[part] == chinese[part], (
            f"{part} differ between docs/{page} and docs/{translation} (first at item {i + 1}: "
            f"en {english[part][i : i + 1]}, zh {chinese[part][i : i + 1]}):\n"
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
    with_maths = [alt[:60] for alt in re.findall(r"!\[([^\]]*)\]\(", text) if "$" in alt]
    assert not with_maths, f"docs/{page}: alt text is plain text, maths there stays raw TeX: {with_maths}"


def test_heading_mismatch_names_the_missing_heading() -> None:
    english = '# T\n\n## Pitfalls\n\n- a\n\n## Exercises\n\n--8<-- "snippets/x.py:one"\n\n## References\n'
    chinese = '# T\n\n## 常见误区\n\n- a\n\n--8<-- "snippets/x.py:one"\n\n## 参考文献\n'
    message = heading_mismatch(Path("a.md"), Path("a.zh.md"), english, chinese)
    assert "docs/a.md:7: '## Exercises' has no counterpart in docs/a.zh.md" in message
    assert "Pitfalls" not in message and "References" not in message
    demoted = chinese.replace("## 参考文献", "### 参考文献")
    message = heading_mismatch(
        Path("a.md"), Path("a.zh.md"), english.replace("## Exercises\n\n", ""), demoted
    )
    assert "docs/a.zh.md:9: '### 参考文献' has no counterpart in docs/a.md" in message
