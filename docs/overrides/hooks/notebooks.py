"""MkDocs hook: let mkdocs-jupyter render notebook pages in both languages, offline.

- mkdocs-static-i18n rebuilds the file list after mkdocs-jupyter has marked notebooks as
  pages, so each ``.ipynb`` would be copied as a static file and its raw JSON published
  (upstream: ultrabug/mkdocs-static-i18n#198). ``on_files`` runs after the i18n plugin and
  turns every notebook back into a documentation page with a directory URL.
- ``on_page_context`` points the language switcher at the same notebook in the other language.
- ``on_page_content`` removes nbconvert's MathJax and mermaid loaders, which would fetch
  scripts from a CDN; the site's own KaTeX renders notebook maths instead.
- ``on_page_context`` gives notebook headings the same anchors as Markdown pages
  (``pymdownx.slugs``): nbconvert leaves Chinese headings with ``id=""``, so the table of
  contents pointed nowhere. It also takes the page description from the notebook's metadata.
- ``on_post_page`` drops the rules of nbconvert's inlined JupyterLab stylesheet (about 570 kB
  on every notebook page) whose classes the page never uses: the browser had to parse all of
  it before showing anything.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import tinycss2
from hook_support import is_notebook
from mkdocs.plugins import event_priority
from pymdownx.slugs import slugify
from mkdocs.structure.files import File, Files


def _as_page(file: File) -> None:
    if file.dest_uri.endswith(".ipynb"):
        stem = file.dest_uri.removesuffix(".ipynb")
        file.dest_uri = f"{stem}/index.html"
        file.url = file.url.removesuffix(".ipynb") + "/"
    file.is_documentation_page = lambda: True  # type: ignore[method-assign]


@event_priority(-110)  # after mkdocs-static-i18n's on_files (-100)
def on_files(files: Files, config) -> Files:
    for file in files:
        if is_notebook(file):
            _as_page(file)
            # the language switcher links to the other language's notebook page
            for alternate in getattr(file, "alternates", {}).values():
                _as_page(alternate)
    return files


CDN_LOADERS = re.compile(
    r"<script[^>]*>\s*</script>"  # an empty MathJax <script src="">
    r"|<script type=\"text/x-mathjax-config\">.*?</script>"
    r"|<script type=\"module\">(?:(?!</script>).)*?mermaid.*?</script>",
    flags=re.DOTALL,
)


def on_page_content(html: str, page, config, files) -> str:
    if not is_notebook(page.file):
        return html
    return CDN_LOADERS.sub("", html)


SLUG = slugify(case="lower")
HEADING = re.compile(r'<h([1-6]) id="[^"]*">(.*?)<a class="anchor-link" href="#[^"]*">', re.DOTALL)


def _heading_text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html).strip()


def anchor_headings(html: str, toc) -> str:
    """Slug every notebook heading like a Markdown heading and point the table of contents at it."""
    used: dict[str, int] = {}
    anchors: dict[str, list[str]] = {}

    def anchor(match: re.Match[str]) -> str:
        text = _heading_text(match.group(2))
        slug = SLUG(text, "-") or "section"
        count = used.get(slug, 0)
        used[slug] = count + 1
        slug = f"{slug}_{count}" if count else slug
        anchors.setdefault(text, []).append(slug)
        level = match.group(1)
        return f'<h{level} id="{slug}">{match.group(2)}<a class="anchor-link" href="#{slug}">'

    html = HEADING.sub(anchor, html)
    links = list(toc)
    while links:
        link = links.pop(0)
        queue = anchors.get(_heading_text(link.title), [])
        if queue:
            link.id = queue.pop(0)
        links[:0] = link.children
    return html


@event_priority(0)  # after mkdocs-static-i18n's on_page_context (50)
def on_page_context(context, page, config, nav):
    """Anchors, description and language switcher of a notebook page."""
    if not is_notebook(page.file):
        return context
    page.content = anchor_headings(page.content, page.toc)
    metadata = json.loads(Path(page.file.abs_src_path).read_text(encoding="utf-8")).get("metadata", {})
    if metadata.get("description"):
        page.meta["description"] = metadata["description"]
    i18n = config.plugins.get("i18n")
    roots = {alternate["lang"]: alternate["link"] for alternate in getattr(i18n, "extra_alternate", [])}
    current_root = roots.get(getattr(i18n, "current_language", ""), "/").strip("/")
    path = page.url.removeprefix(f"{current_root}/") if current_root else page.url
    for alternate in getattr(config.extra, "alternate", None) or []:
        if alternate["lang"] in roots:
            alternate["link"] = roots[alternate["lang"]].rstrip("/") + "/" + path
    return context


INLINE_STYLE = re.compile(r'(<style type="text/css">)(.*?)(</style>)', re.DOTALL)
CLASS_ATTRIBUTE = re.compile(r'class="([^"]*)"')
CLASS_SELECTOR = re.compile(r"\.(-?[_a-zA-Z][_a-zA-Z0-9-]*)")
NEGATION = re.compile(r":not\([^)]*\)")


@cache
def parsed_stylesheet(css: str) -> tuple:
    return tuple(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True))


def used_rules(rules, classes: set[str]) -> list[str]:
    """Serialized rules with at least one selector whose classes all occur on the page."""
    kept = []
    for rule in rules:
        if rule.type == "qualified-rule":
            selectors = NEGATION.sub("", tinycss2.serialize(rule.prelude)).split(",")
            if any(set(CLASS_SELECTOR.findall(selector)) <= classes for selector in selectors):
                kept.append(rule.serialize())
        elif rule.type == "at-rule" and rule.lower_at_keyword in {"media", "supports"} and rule.content:
            inner = tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True)
            body = "".join(used_rules(inner, classes))
            if body:
                kept.append(f"@{rule.at_keyword}{tinycss2.serialize(rule.prelude)}{{{body}}}")
        elif rule.type == "at-rule":
            kept.append(rule.serialize())
    return kept


def trim_notebook_css(html: str) -> str:
    classes = {name for attribute in CLASS_ATTRIBUTE.findall(html) for name in attribute.split()}

    def trim(match: re.Match[str]) -> str:
        css = "".join(used_rules(parsed_stylesheet(match.group(2)), classes))
        return f"{match.group(1)}{css}{match.group(3)}"

    return INLINE_STYLE.sub(trim, html)


def on_post_page(output: str, page, config) -> str:
    if not is_notebook(page.file):
        return output
    return trim_notebook_css(output)
