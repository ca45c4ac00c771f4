"""MkDocs hook: every page with Python code offers its notebook, in the page's language.

- ``on_page_markdown`` turns the page's source into a notebook with ``tools.page_notebook``
  (prose as Markdown cells, each Python fence a code cell with its includes expanded, tabs in
  order under their titles, admonitions, exercises and solutions kept, maths as written, a first
  cell with the pinned ``pip install`` line, no outputs) and puts a "Download notebook" /
  "下载 Notebook" link at the end of the page header line. Pages without Python code get neither.
- ``on_post_build`` writes the notebooks next to the pages (``architectures/cnn/cnn.ipynb``,
  ``zh/architectures/cnn/cnn.zh.ipynb``). They are generated at every build and never committed
  or edited.

No "Open in Colab" link: Colab opens notebooks from GitHub, Google Drive or a gist, not from an
arbitrary address, so it would need the generated files committed to a repository; readers can
upload the downloaded file to Colab (File > Upload notebook) instead.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

import nbformat
from hook_support import current_language, is_notebook, page_path
from mkdocs.plugins import event_priority

from tools import page_notebook

LABELS = {"en": "Download notebook", "zh": "下载 Notebook"}
META = "\n{ .page-meta }"
PENDING: dict[str, str] = {}


def notebook_name(src_uri: str, language: str) -> str:
    """``architectures/cnn.zh.md`` -> ``cnn.zh.ipynb``; a section index is named after its section."""
    parts = [part for part in page_path(src_uri).split("/") if part != "index"] or ["index"]
    return f"{parts[-1]}{'.zh' if language == 'zh' else ''}.ipynb"


def download_link(name: str, language: str) -> str:
    return f'<a class="md-button page-notebook" href="{name}" download>{LABELS[language]}</a>'


@event_priority(-50)  # after the roadmap hook has put the header line under the title
def on_page_markdown(markdown: str, page, config, files) -> str:
    if is_notebook(page.file) or not page.file.src_uri.endswith(".md"):
        return markdown
    language = current_language(config)
    source = page.file.src_uri
    notebook = page_notebook.page_notebook(
        page.file.content_string,
        source,
        language,
        site_url=config.site_url or "/",
        snippet_options=config.mdx_configs.get("pymdownx.snippets"),
    )
    if not any(cell.cell_type == "code" for cell in notebook.cells[1:]):
        return markdown
    name = notebook_name(source, language)
    PENDING[posixpath.join(posixpath.dirname(page.file.dest_uri), name)] = nbformat.writes(notebook)
    link = download_link(name, language)
    if META in markdown:
        return markdown.replace(META, f" · {link}{META}", 1)
    return markdown.replace("\n", f"\n\n{link}\n\n", 1)  # no header line: under the title


def on_post_build(config) -> None:
    for relative, text in PENDING.items():
        target = Path(config.site_dir) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    PENDING.clear()
