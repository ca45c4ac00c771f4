"""MkDocs hook: navigation, page headers and the roadmap map come from docs/roadmap.yml.

- ``on_config`` builds the navigation from the data file, listing only pages whose
  Markdown file exists, and gives the i18n plugin the Chinese titles.
- ``on_page_markdown`` puts a header line under each page's title (prerequisites,
  reading and running time, the torch version from requirements.txt) and the reader's
  progress buttons, and replaces ``<!-- roadmap-map -->`` with the map of all pages.
"""

from __future__ import annotations

import posixpath
import re
from functools import cache
from html import escape
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "docs" / "roadmap.yml"

LABELS = {
    "en": {
        "requires": "Prerequisites:",
        "none": "none",
        "read": "Reading:",
        "run": "Running:",
        "min": " min",
        "s": " s",
        "verified": "Verified with:",
    },
    "zh": {
        "requires": "预备知识：",
        "none": "无",
        "read": "阅读：",
        "run": "运行：",
        "min": " 分钟",
        "s": " 秒",
        "verified": "验证环境：",
    },
}


@cache
def roadmap() -> dict:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


def all_pages() -> dict[str, dict]:
    return {page["path"]: page for section in roadmap()["sections"] for page in section["pages"]}


PAGE_SUFFIXES = (".md", ".ipynb")


def page_file(path: str) -> str | None:
    """The page's English source file (Markdown or notebook), relative to docs/."""
    for suffix in PAGE_SUFFIXES:
        if (ROOT / "docs" / f"{path}{suffix}").is_file():
            return f"{path}{suffix}"
    return None


def page_exists(path: str) -> bool:
    return page_file(path) is not None


@cache
def torch_version() -> str:
    text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    match = re.search(r"^torch==([\w.]+)", text, flags=re.MULTILINE)
    return match.group(1) if match else "unknown"


def build_nav() -> list:
    nav = []
    for section in roadmap()["sections"]:
        entries = [
            {page["title"]["en"]: page_file(page["path"])}
            for page in section["pages"]
            if page_exists(page["path"])
        ]
        if entries:
            nav.append({section["title"]["en"]: entries})
    return nav


def chinese_titles() -> dict[str, str]:
    titles = {}
    for section in roadmap()["sections"]:
        titles[section["title"]["en"]] = section["title"]["zh"]
        for page in section["pages"]:
            titles[page["title"]["en"]] = page["title"]["zh"]
    return titles


def on_config(config):
    config["nav"] = build_nav()
    i18n = config.plugins.get("i18n")
    if i18n is not None:
        for language in i18n.config.languages:
            if language.locale == "zh":
                language.nav_translations = chinese_titles()
    return config


def current_language(config) -> str:
    i18n = config.plugins.get("i18n")
    return getattr(i18n, "current_language", None) or "en"


def header_line(path: str, language: str) -> str:
    page = all_pages()[path]
    words = LABELS[language]
    links = []
    for required in page["requires"]:
        title = all_pages()[required]["title"][language]
        if page_exists(required):
            target = posixpath.relpath(page_file(required), posixpath.dirname(path) or ".")
            links.append(f"[{title}]({target})")
        else:
            links.append(title)
    separator = "、" if language == "zh" else ", "
    parts = [
        f"**{words['requires']}** {separator.join(links) or words['none']}",
        f"**{words['read']}** ~{page['read']}{words['min']}",
    ]
    if page["run"]:
        parts.append(f"**{words['run']}** ~{page['run']}{words['s']}")
    parts.append(f"**{words['verified']}** torch {torch_version()}")
    return " · ".join(parts) + "\n{ .page-meta }"


MAP_MARKER = "<!-- roadmap-map -->"
NODE_WIDTH, NODE_HEIGHT, GAP_X, ROW_HEIGHT, LABEL_WIDTH = 176, 40, 18, 64, 170


def page_url(path: str) -> str:
    """Directory URL of a page relative to its language root ('' for the home page)."""
    return "" if path == "index" else path


def relative_url(target: str, current: str) -> str:
    start = page_url(current) or "."
    return posixpath.relpath(page_url(target) or ".", start) + "/"


def wrap_title(title: str, width: int = 22) -> list[str]:
    """Split a title into at most two lines for a map node."""
    if len(title) <= width:
        return [title]
    words, lines = title.split(" "), [""]
    for word in words:
        candidate = f"{lines[-1]} {word}".strip()
        if len(candidate) <= width or not lines[-1]:
            lines[-1] = candidate
        else:
            lines.append(word)
    if len(lines) > 2 or len(lines) == 1:  # no spaces (Chinese): cut in the middle
        middle = (len(title) + 1) // 2
        return [title[:middle], title[middle:]]
    return lines


def roadmap_map(current: str, language: str) -> str:
    """An inline SVG: one row per section, one linked node per page, arrows for prerequisites."""
    positions: dict[str, tuple[float, float]] = {}
    rows = []
    for row, section in enumerate(roadmap()["sections"]):
        y = 16 + row * ROW_HEIGHT
        rows.append((y, section["title"][language]))
        for column, page in enumerate(section["pages"]):
            positions[page["path"]] = (LABEL_WIDTH + column * (NODE_WIDTH + GAP_X), y)
    width = max(x for x, _ in positions.values()) + NODE_WIDTH + 10
    height = 16 + len(rows) * ROW_HEIGHT
    parts = [
        f'<svg class="roadmap-map__svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="group" aria-label="{"路线图" if language == "zh" else "Roadmap map"}">',
        '<defs><marker id="roadmap-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z"/></marker></defs>',
    ]
    for y, label in rows:
        parts.append(
            f'<text class="roadmap-map__section" x="0" y="{y + NODE_HEIGHT / 2 + 4}">{escape(label)}</text>'
        )
    for path, page in all_pages().items():
        x2, y2 = positions[path]
        for required in page["requires"]:
            x1, y1 = positions[required]
            if y1 == y2:  # same row: right edge to left edge
                d = f"M{x1 + NODE_WIDTH} {y1 + NODE_HEIGHT / 2} L{x2} {y2 + NODE_HEIGHT / 2}"
            else:
                sx, sy, tx, ty = x1 + NODE_WIDTH / 2, y1 + NODE_HEIGHT, x2 + NODE_WIDTH / 2, y2
                bend = (ty - sy) / 2
                d = f"M{sx} {sy} C{sx} {sy + bend} {tx} {ty - bend} {tx} {ty}"
            parts.append(
                f'<path class="roadmap-map__edge" data-from="{required}" data-to="{path}" d="{d}" '
                'marker-end="url(#roadmap-arrow)"/>'
            )
    for path, page in all_pages().items():
        x, y = positions[path]
        title = page["title"][language]
        lines = wrap_title(title)
        first_y = y + NODE_HEIGHT / 2 + 4 - (len(lines) - 1) * 7
        text = "".join(
            f'<tspan x="{x + NODE_WIDTH / 2}" y="{first_y + i * 14}">{escape(line)}</tspan>'
            for i, line in enumerate(lines)
        )
        node = (
            f'<g class="roadmap-map__node" data-page="{path}"><rect x="{x}" y="{y}" width="{NODE_WIDTH}" '
            f'height="{NODE_HEIGHT}" rx="6"/><text text-anchor="middle">{text}</text></g>'
        )
        if page_exists(path):
            parts.append(f'<a href="{relative_url(path, current)}" aria-label="{escape(title)}">{node}</a>')
        else:
            parts.append(
                node.replace(
                    'class="roadmap-map__node"', 'class="roadmap-map__node roadmap-map__node--planned"'
                )
            )
    parts.append("</svg>")
    return (
        '<div class="roadmap-map" markdown="0">' + "".join(parts) + "</div>\n\n"
        '<div class="progress-summary" data-total="'
        + str(sum(page_exists(p) for p in all_pages()))
        + '"></div>\n'
        '<div class="progress-tools"></div>\n'
    )


def on_page_markdown(markdown: str, page, config, files) -> str:
    path = re.sub(r"(\.zh)?\.(md|ipynb)$", "", page.file.src_uri)
    language = current_language(config)
    if MAP_MARKER in markdown:
        markdown = markdown.replace(MAP_MARKER, roadmap_map(path, language))
    if path not in all_pages() or path == "index":
        return markdown
    header = f'{header_line(path, language)}\n\n<div class="progress-widget" data-page="{path}"></div>\n'
    return re.sub(r"^(# .+)$", lambda m: f"{m.group(1)}\n\n{header}", markdown, count=1, flags=re.MULTILINE)
