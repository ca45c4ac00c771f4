"""MkDocs hook: navigation and page headers come from docs/roadmap.yml.

- ``on_config`` builds the navigation from the data file, listing only pages whose
  Markdown file exists, and gives the i18n plugin the Chinese titles.
- ``on_page_markdown`` puts a header line under each page's title: prerequisites,
  reading and running time, and the torch version from requirements.txt.
"""

from __future__ import annotations

import posixpath
import re
from functools import cache
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


def on_page_markdown(markdown: str, page, config, files) -> str:
    path = re.sub(r"(\.zh)?\.(md|ipynb)$", "", page.file.src_uri)
    if path not in all_pages() or path == "index":
        return markdown
    line = header_line(path, current_language(config))
    return re.sub(r"^(# .+)$", lambda m: f"{m.group(1)}\n\n{line}\n", markdown, count=1, flags=re.MULTILINE)
