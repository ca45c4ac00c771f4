"""Make pytest-markdown-docs run what a reader sees.

The docs include their code with ``--8<--`` lines and put some fences inside content
tabs (``=== "Tab"``) and admonitions (``!!!``/``???``). Before fences are collected,
each page is expanded with pymdownx.snippets (configured as in mkdocs.yml) and its
containers are unwrapped. All Python fences of a page then run in order, as one
script, in a single test item named after the page: later fences use what earlier
ones defined, as on the page. Mark a fence ``{.python notest}`` to skip it.

The script runs as a reader runs copied code: in an empty temporary folder, in a fresh
interpreter with the repository not importable (``tools.page_notebook.run_outside``), so a page
whose code imports ``snippets`` or reads a repository file fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

import markdown
import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from tools.paths import ROOT

CONTAINER_START = re.compile(r"^(\s*)(===[+!]?|!!!|\?\?\?\+?)\s")
PYTHON_LANGS = {"py", "python", "python3"}


@cache
def snippet_options() -> dict:
    """pymdownx.snippets options from mkdocs.yml, with base paths made absolute."""
    from mkdocs.config import load_config

    options = dict(load_config(str(ROOT / "mkdocs.yml")).mdx_configs["pymdownx.snippets"])
    options["base_path"] = [str(ROOT / base) for base in options.get("base_path", ["."])]
    return options


def expand_includes(text: str) -> str:
    """Replace ``--8<--`` includes as the site build does; a missing file raises."""
    md = markdown.Markdown(
        extensions=["pymdownx.snippets"], extension_configs={"pymdownx.snippets": snippet_options()}
    )
    return "\n".join(md.preprocessors["snippet"].run(text.split("\n")))


def unwrap_containers(text: str, opening: Callable[[str], list[str]] | None = None) -> str:
    """Dedent the bodies of tabs and admonitions so fences inside them parse as fences.

    ``opening`` turns a container's first line into the lines that stand in its place
    (default: one blank line).
    """
    out: list[str] = []
    content_indents: list[int] = []
    for line in text.split("\n"):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if stripped:
            while content_indents and indent < content_indents[-1]:
                content_indents.pop()
        if CONTAINER_START.match(line):
            out.extend(opening(line) if opening else [""])
            content_indents.append(indent + 4)
            continue
        cut = content_indents[-1] if content_indents else 0
        out.append(line[cut:] if stripped else "")
    return "\n".join(out)


def fence_language(token: Token) -> tuple[str, set[str]]:
    info = token.info.strip()
    if info.startswith("{") and info.endswith("}"):
        words = info[1:-1].split()
        lang = next((word[1:] for word in words if word.startswith(".")), "")
        return lang, {word for word in words if not word.startswith(".")}
    words = info.split()
    return (words[0] if words else ""), set(words[1:])


OUTSIDE = """from tools.page_notebook import check_outside

check_outside({script!r})
"""


class ReaderView:
    """A markdown-it parser that sees the page as the built site shows it."""

    def __init__(self) -> None:
        self._parser = MarkdownIt("commonmark")

    def parse(self, text: str) -> list[Token]:
        tokens = self._parser.parse(unwrap_containers(expand_includes(text)))
        python_fences = []
        for token in tokens:
            if token.type != "fence":
                continue
            lang, options = fence_language(token)
            if lang in PYTHON_LANGS and "notest" not in options:
                python_fences.append(token)
        if not python_fences:
            return tokens
        # One script per page: the last Python fence carries the code of all of them.
        script = "\n".join(token.content for token in python_fences)
        for token in python_fences[:-1]:
            token.info = "text"
        python_fences[-1].content = OUTSIDE.format(script=script)
        python_fences[-1].info = "python"
        return tokens


@pytest.hookimpl(tryfirst=True)
def pytest_markdown_docs_markdown_it() -> ReaderView:
    return ReaderView()
