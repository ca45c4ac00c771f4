"""MkDocs hook: let mkdocs-jupyter render notebook pages in both languages, offline.

- mkdocs-static-i18n rebuilds the file list after mkdocs-jupyter has marked notebooks as
  pages, so each ``.ipynb`` would be copied as a static file and its raw JSON published
  (upstream: ultrabug/mkdocs-static-i18n#198). ``on_files`` runs after the i18n plugin and
  turns every notebook back into a documentation page with a directory URL.
- ``on_page_context`` points the language switcher at the same notebook in the other language.
- ``on_page_content`` removes nbconvert's MathJax and mermaid loaders, which would fetch
  scripts from a CDN; the site's own KaTeX renders notebook maths instead.
"""

from __future__ import annotations

import re

from mkdocs.plugins import event_priority
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
        if file.src_uri.endswith(".ipynb"):
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
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    return CDN_LOADERS.sub("", html)


@event_priority(0)  # after mkdocs-static-i18n's on_page_context (50)
def on_page_context(context, page, config, nav):
    """Point the language switcher of a notebook page at the same notebook in each language."""
    if not page.file.src_uri.endswith(".ipynb"):
        return context
    i18n = config.plugins.get("i18n")
    roots = {alternate["lang"]: alternate["link"] for alternate in getattr(i18n, "extra_alternate", [])}
    current_root = roots.get(getattr(i18n, "current_language", ""), "/").strip("/")
    path = page.url.removeprefix(f"{current_root}/") if current_root else page.url
    for alternate in getattr(config.extra, "alternate", None) or []:
        if alternate["lang"] in roots:
            alternate["link"] = roots[alternate["lang"]].rstrip("/") + "/" + path
    return context
