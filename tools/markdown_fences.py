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

import hashlib
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


OUTSIDE = """from tools.markdown_fences import run_page_script

run_page_script({key!r})  # the page's Python fences, in order, run outside the repository
"""
PAGE_SCRIPTS: dict[str, tuple[str, list[tuple[int, int, str]]]] = {}
"""The scripts of the pages parsed in this process, by key: (script, origins)."""


def run_page_script(key: str) -> None:
    """Run a page's script (stored when the page was parsed) as a reader would."""
    from tools.page_notebook import check_outside

    script, origins = PAGE_SCRIPTS[key]
    check_outside(script, origins=origins)


INCLUDE_TARGET = re.compile(r"""--8<--\s*["']([^"':]+)""")


def python_fences(tokens: list[Token]) -> list[Token]:
    """The fences that run: Python, not marked ``notest``."""
    found = []
    for token in tokens:
        if token.type == "fence":
            lang, options = fence_language(token)
            if lang in PYTHON_LANGS and "notest" not in options:
                found.append(token)
    return found


def fence_origins(source_fences: list[Token], expanded_fences: list[Token]) -> list[tuple[int, int, str]]:
    """For each fence of the script: its first line in the script, its first line on the page (the
    line after the opening fence) and the file it includes ("" when its code is written on the page)."""
    origins, script_line = [], 1
    for source, expanded in zip(source_fences, expanded_fences, strict=True):
        included = INCLUDE_TARGET.search(source.content)
        origins.append((script_line, source.map[0] + 2, included.group(1) if included else ""))
        script_line += expanded.content.count("\n") + 1  # the fences are joined with a newline
    return origins


class ReaderView:
    """A markdown-it parser that sees the page as the built site shows it."""

    def __init__(self) -> None:
        self._parser = MarkdownIt("commonmark")

    def parse(self, text: str) -> list[Token]:
        tokens = self._parser.parse(unwrap_containers(expand_includes(text)))
        fences = python_fences(tokens)
        if not fences:
            return tokens
        # Containers are unwrapped line for line, so the source fences carry the page's line numbers.
        source_fences = python_fences(self._parser.parse(unwrap_containers(text)))
        same = len(source_fences) == len(fences)
        origins = fence_origins(source_fences, fences) if same else []
        # One script per page: the last Python fence carries the code of all of them.
        script = "\n".join(token.content for token in fences)
        for token in fences[:-1]:
            token.info = "text"
        key = hashlib.sha256(script.encode()).hexdigest()[:16]
        PAGE_SCRIPTS[key] = (script, origins)
        fences[-1].content = OUTSIDE.format(key=key)
        fences[-1].info = "python"
        if same:  # the test is named after the page's first Python fence, not a line of the expansion
            fences[-1].map = source_fences[0].map
        return tokens


@pytest.hookimpl(tryfirst=True)
def pytest_markdown_docs_markdown_it() -> ReaderView:
    return ReaderView()
