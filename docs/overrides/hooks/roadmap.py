"""MkDocs hook: navigation, page headers and the roadmap map come from docs/roadmap.yml.

- ``on_config`` builds the navigation from the manifest (``tools.manifest``), listing only pages
  whose source file exists, and gives the i18n plugin the Chinese titles.
- ``on_page_markdown`` puts a header line under each page's title (prerequisites, reading and
  running time, the torch version from requirements.txt) and the reader's progress buttons, and
  replaces ``<!-- roadmap-map -->`` with the map of all pages, built by ``roadmap_map`` (HTML boxes
  in a grid that fits the column; docs/assets/javascripts/roadmap-map.js draws the edges).
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
    from mkdocs.exceptions import PluginError
    from tools.includes import broken_includes

    from tools import derived

    derived.refresh()  # the outputs and figure that print the manifest (not committed)
    broken = broken_includes()
    if broken:  # pymdownx.snippets would name neither the page nor the line
        raise PluginError("broken includes:\n" + "\n".join(broken))
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
MAP_SCRIPT = "assets/javascripts/roadmap-map.js"
MAP_WORDS = {
    "en": {"map": "Roadmap map", "requires": "Prerequisites: ", "none": "none", "planned": " (planned)"},
    "zh": {"map": "路线图", "requires": "预备知识：", "none": "无", "planned": "（计划中）"},
}


def page_url(path: str) -> str:
    """Directory URL of a page relative to its language root ('' for the home page)."""
    return "" if path == "index" else path


def relative_url(target: str, current: str) -> str:
    start = page_url(current) or "."
    return posixpath.relpath(page_url(target) or ".", start) + "/"


def element(tag: str, attributes: dict[str, object], content: str | None = None) -> str:
    """One element: attribute values escaped, ``content`` already markup (None: a void element)."""
    attrs = "".join(f' {name}="{escape(str(value))}"' for name, value in attributes.items())
    return f"<{tag}{attrs}>" if content is None else f"<{tag}{attrs}>{content}</{tag}>"


def anchor_id(path: str) -> str:
    return "roadmap-needs-" + re.sub(r"[^a-z0-9]+", "-", path)


def map_node(page: manifest.Page, current: str, language: str) -> str:
    """One page of the map: a link (a box) named by its title, described by its prerequisites.

    ``data-requires`` lists the direct prerequisites, from which roadmap-map.js draws the edges;
    the status span shows the reader's progress (filled in by progress.js)."""
    words, pages = MAP_WORDS[language], all_pages()
    separator = "、" if language == "zh" else ", "
    needs = separator.join(pages[required].title[language] for required in page.requires) or words["none"]
    title = element("span", {"class": "roadmap-map__title"}, escape(page.title[language]))
    status = element("span", {"class": "roadmap-map__status"}, "")
    attributes = {
        "class": "roadmap-map__node",
        "data-page": page.path,
        "data-requires": " ".join(page.requires),
        "aria-describedby": anchor_id(page.path),
    }
    if page.exists:
        box = element("a", {**attributes, "href": relative_url(page.path, current)}, title + status)
    else:
        attributes["class"] += " roadmap-map__node--planned"
        box = element("span", attributes, title + escape(words["planned"]) + status)
    description = element(
        "span", {"class": "roadmap-map__needs", "id": anchor_id(page.path)}, escape(words["requires"] + needs)
    )
    return element("li", {}, box + description)


def roadmap_map(current: str, language: str, script: str) -> str:
    """The map: one block per section, top to bottom in the manifest's order, a grid of page boxes
    in each that wraps to the width of the column (two boxes a row on a phone). Every node fits
    any width from 360 px; roadmap-map.js draws each prerequisite edge in the gaps between boxes."""
    sections = []
    for number, section in enumerate(manifest.sections()):
        heading_id = f"roadmap-section-{number}"
        nodes = "".join(
            map_node(page, current, language) for page in manifest.pages() if page.section == section["title"]
        )
        heading = element(
            "p", {"class": "roadmap-map__section", "id": heading_id}, escape(section["title"][language])
        )
        grid = element("ol", {"class": "roadmap-map__nodes", "aria-labelledby": heading_id}, nodes)
        sections.append(
            element("li", {"class": "roadmap-map__stage", "data-stage": section["stage"]}, heading + grid)
        )
    available = sum(page.exists for page in manifest.pages())
    body = element("ol", {"class": "roadmap-map__sections"}, "".join(sections))
    return (
        element("nav", {"class": "roadmap-map", "aria-label": MAP_WORDS[language]["map"]}, body)
        + element("script", {"src": script, "defer": "defer"}, "")
        + f'\n\n<div class="progress-summary" data-total="{available}"></div>\n'
        '<div class="progress-tools"></div>\n'
    )


def on_page_markdown(markdown: str, page, config, files) -> str:
    from tools import derived

    path = page_path(page.file.src_uri)
    language = current_language(config)
    english_source = page.file.src_uri.replace(".zh.", ".")
    markdown = derived.fill_markers(markdown, english_source, language)
    if MAP_MARKER in markdown:
        script = posixpath.relpath(MAP_SCRIPT, posixpath.dirname(page.file.dest_uri) or ".")
        markdown = markdown.replace(MAP_MARKER, roadmap_map(path, language, script))
    if path not in all_pages() or path == "index":
        return markdown
    header = f'{header_line(path, language)}\n\n<div class="progress-widget" data-page="{path}"></div>\n'
    return re.sub(r"^(# .+)$", lambda m: f"{m.group(1)}\n\n{header}", markdown, count=1, flags=re.MULTILINE)
