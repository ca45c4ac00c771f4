"""MkDocs hook: navigation, page headers and the roadmap map come from docs/roadmap.yml.

- ``on_config`` builds the navigation from the manifest (``tools.manifest``), listing only pages
  whose source file exists, and gives the i18n plugin the Chinese titles.
- ``on_page_markdown`` puts a header line under each page's title (prerequisites, reading and
  running time, the torch version from requirements.txt) and the reader's progress buttons, and
  replaces ``<!-- roadmap-map -->`` with the map of all pages, drawn by ``roadmap_map``.
"""

from __future__ import annotations

import posixpath
import re
from functools import cache
from html import escape

from hook_support import current_language, manifest, page_path, paths

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


def all_pages() -> dict[str, manifest.Page]:
    return {page.path: page for page in manifest.pages()}


@cache
def torch_version() -> str:
    text = (paths.ROOT / "requirements.txt").read_text(encoding="utf-8")
    match = re.search(r"^torch==([\w.]+)", text, flags=re.MULTILINE)
    return match.group(1) if match else "unknown"


def build_nav() -> list:
    nav = []
    for section in manifest.sections():
        entries = [
            {page.title["en"]: page.source}
            for page in manifest.pages()
            if page.section == section["title"] and page.exists
        ]
        if entries:
            nav.append({section["title"]["en"]: entries})
    return nav


def chinese_titles() -> dict[str, str]:
    titles = {}
    for section in manifest.sections():
        titles[section["title"]["en"]] = section["title"]["zh"]
    for page in manifest.pages():
        titles[page.title["en"]] = page.title["zh"]
    return titles


def on_config(config):
    config["nav"] = build_nav()
    i18n = config.plugins.get("i18n")
    if i18n is not None:
        for language in i18n.config.languages:
            if language.locale == "zh":
                language.nav_translations = chinese_titles()
    return config


def header_line(path: str, language: str) -> str:
    page = all_pages()[path]
    words = LABELS[language]
    links = []
    for required in page.requires:
        target_page = all_pages()[required]
        title = target_page.title[language]
        if target_page.exists:
            target = posixpath.relpath(target_page.source, posixpath.dirname(path) or ".")
            links.append(f"[{title}]({target})")
        else:
            links.append(title)
    separator = "、" if language == "zh" else ", "
    parts = [
        f"**{words['requires']}** {separator.join(links) or words['none']}",
        f"**{words['read']}** ~{page.read}{words['min']}",
    ]
    if page.run:
        parts.append(f"**{words['run']}** ~{page.run}{words['s']}")
    parts.append(f"**{words['verified']}** torch {torch_version()}")
    return " · ".join(parts) + "\n{ .page-meta }"


MAP_MARKER = "<!-- roadmap-map -->"
NODE_WIDTH, NODE_HEIGHT, GAP_X, ROW_HEIGHT, LABEL_WIDTH = 176, 40, 18, 64, 170
ARROW = (
    '<defs><marker id="roadmap-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
    'markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z"/></marker></defs>'
)


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


def element(tag: str, attributes: dict[str, object], content: str | None = None) -> str:
    """One SVG element: attribute values escaped, ``content`` already markup (None: self-closing)."""
    attrs = "".join(f' {name}="{escape(str(value))}"' for name, value in attributes.items())
    return f"<{tag}{attrs}/>" if content is None else f"<{tag}{attrs}>{content}</{tag}>"


def map_positions() -> tuple[dict[str, tuple[float, float]], list[tuple[float, dict[str, str]]]]:
    """Top-left corner of each page's node (one row per section) and each row's y and section title."""
    positions: dict[str, tuple[float, float]] = {}
    rows = []
    for row, section in enumerate(manifest.sections()):
        y = 16 + row * ROW_HEIGHT
        rows.append((y, section["title"]))
        for column, entry in enumerate(section["pages"]):
            positions[entry["path"]] = (LABEL_WIDTH + column * (NODE_WIDTH + GAP_X), y)
    return positions, rows


def edge(source: tuple[float, float], target: tuple[float, float]) -> str:
    """Path data of a prerequisite arrow: right edge to left edge in a row, else a vertical curve."""
    (x1, y1), (x2, y2) = source, target
    if y1 == y2:
        return f"M{x1 + NODE_WIDTH} {y1 + NODE_HEIGHT / 2} L{x2} {y2 + NODE_HEIGHT / 2}"
    sx, sy, tx, ty = x1 + NODE_WIDTH / 2, y1 + NODE_HEIGHT, x2 + NODE_WIDTH / 2, y2
    bend = (ty - sy) / 2
    return f"M{sx} {sy} C{sx} {sy + bend} {tx} {ty - bend} {tx} {ty}"


def node(page: manifest.Page, corner: tuple[float, float], language: str) -> str:
    """A page's box with its title on one or two lines; planned pages get their own class."""
    x, y = corner
    lines = wrap_title(page.title[language])
    first_y = y + NODE_HEIGHT / 2 + 4 - (len(lines) - 1) * 7
    text = "".join(
        element("tspan", {"x": x + NODE_WIDTH / 2, "y": first_y + i * 14}, escape(line))
        for i, line in enumerate(lines)
    )
    kind = "roadmap-map__node" if page.exists else "roadmap-map__node roadmap-map__node--planned"
    box = element("rect", {"x": x, "y": y, "width": NODE_WIDTH, "height": NODE_HEIGHT, "rx": 6})
    return element(
        "g", {"class": kind, "data-page": page.path}, box + element("text", {"text-anchor": "middle"}, text)
    )


def roadmap_map(current: str, language: str) -> str:
    """An inline SVG: one row per section, one linked node per page, arrows for prerequisites."""
    positions, rows = map_positions()
    width = max(x for x, _ in positions.values()) + NODE_WIDTH + 10
    height = 16 + len(rows) * ROW_HEIGHT
    parts = [ARROW]
    for y, title in rows:
        label = {"class": "roadmap-map__section", "x": 0, "y": y + NODE_HEIGHT / 2 + 4}
        parts.append(element("text", label, escape(title[language])))
    for page in manifest.pages():
        for required in page.requires:
            d = edge(positions[required], positions[page.path])
            attributes = {"class": "roadmap-map__edge", "data-from": required, "data-to": page.path, "d": d}
            parts.append(element("path", {**attributes, "marker-end": "url(#roadmap-arrow)"}))
    for page in manifest.pages():
        box = node(page, positions[page.path], language)
        if page.exists:
            link = {"href": relative_url(page.path, current), "aria-label": page.title[language]}
            box = element("a", link, box)
        parts.append(box)
    svg = {
        "class": "roadmap-map__svg",
        "viewBox": f"0 0 {width} {height}",
        "width": width,
        "height": height,
        "role": "group",
        "aria-label": "路线图" if language == "zh" else "Roadmap map",
    }
    available = sum(page.exists for page in manifest.pages())
    return (
        element("div", {"class": "roadmap-map", "markdown": "0"}, element("svg", svg, "".join(parts)))
        + f'\n\n<div class="progress-summary" data-total="{available}"></div>\n'
        '<div class="progress-tools"></div>\n'
    )


def on_page_markdown(markdown: str, page, config, files) -> str:
    path = page_path(page.file.src_uri)
    language = current_language(config)
    if MAP_MARKER in markdown:
        markdown = markdown.replace(MAP_MARKER, roadmap_map(path, language))
    if path not in all_pages() or path == "index":
        return markdown
    header = f'{header_line(path, language)}\n\n<div class="progress-widget" data-page="{path}"></div>\n'
    return re.sub(r"^(# .+)$", lambda m: f"{m.group(1)}\n\n{header}", markdown, count=1, flags=re.MULTILINE)
