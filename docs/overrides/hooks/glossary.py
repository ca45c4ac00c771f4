"""MkDocs hook: the bilingual glossary (docs/glossary.yml) as a page and as hover definitions.

- ``<!-- glossary-table -->`` in a page becomes the table of all terms, each linked to the page
  that teaches it (``page:``; the search sends a query for the term to that page first).
- On every other page, the first use of each glossary term outside code, headings and
  links gets an ``<abbr>`` whose title is the definition (Material shows it as a tooltip).
"""

from __future__ import annotations

import re
from functools import cache
from html import escape

import yaml
from hook_support import current_language, paths

DATA = paths.DOCS / "glossary.yml"
TABLE_MARKER = "<!-- glossary-table -->"
HEADERS = {"en": "| English | 中文 | Meaning |", "zh": "| 中文 | English | 含义 |"}
SKIPPED_TAGS = {
    "a",
    "abbr",
    "button",
    "code",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "kbd",
    "pre",
    "script",
    "span",
    "style",
    "svg",
    "summary",
    "title",
}
TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>")
# Notebook cells keep raw $...$ / $$...$$ for KaTeX: a tooltip inside a formula would break it.
RAW_MATHS = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.DOTALL)


@cache
def terms() -> list[dict]:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))["terms"]


def glossary_table(language: str) -> str:
    other = "en" if language == "zh" else "zh"
    rows = [HEADERS[language], "|---|---|---|"]
    for term in sorted(terms(), key=lambda t: t["en"].lower()):
        name = f"[**{term[language]}**]({term['page']}.md)" if term.get("page") else f"**{term[language]}**"
        rows.append(f"| {name} | {term[other]} | {term[f'{language}_def']} |")
    return "\n".join(rows)


@cache
def term_pattern(language: str) -> re.Pattern[str]:
    words = sorted((term[language] for term in terms()), key=len, reverse=True)
    alternatives = "|".join(re.escape(word) for word in words)
    if language == "en":
        return re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)
    return re.compile(alternatives)


@cache
def definitions(language: str) -> dict[str, str]:
    return {term[language].lower(): term[f"{language}_def"] for term in terms()}


def add_tooltips(html: str, language: str) -> str:
    """Wrap the first use of each term (outside skipped elements) in <abbr title=definition>."""
    pattern, meaning, used = term_pattern(language), definitions(language), set()

    def wrap(match: re.Match[str]) -> str:
        key = match.group(0).lower()
        if key in used:
            return match.group(0)
        used.add(key)
        return f'<abbr title="{escape(meaning[key])}">{match.group(0)}</abbr>'

    def outside_maths(text: str) -> str:
        parts, start = [], 0
        for maths in RAW_MATHS.finditer(text):
            parts += [pattern.sub(wrap, text[start : maths.start()]), maths.group(0)]
            start = maths.end()
        return "".join([*parts, pattern.sub(wrap, text[start:])])

    out, depth, position = [], 0, 0
    for tag in TAG.finditer(html):
        text = html[position : tag.start()]
        out.append(outside_maths(text) if depth == 0 else text)
        closing, name, self_closing = tag.group(1), tag.group(2).lower(), tag.group(3)
        if name in SKIPPED_TAGS and not self_closing:
            depth = max(depth - 1, 0) if closing else depth + 1
        out.append(tag.group(0))
        position = tag.end()
    tail = html[position:]
    out.append(outside_maths(tail) if depth == 0 else tail)
    return "".join(out)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if TABLE_MARKER in markdown:
        markdown = markdown.replace(TABLE_MARKER, glossary_table(current_language(config)))
    return markdown


def on_page_content(html: str, page, config, files) -> str:
    if page.file.src_uri.startswith("glossary."):
        return html
    return add_tooltips(html, current_language(config))
