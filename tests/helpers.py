"""Shared paths and small utilities for the test suite."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from snippets.common import default_seed
from tools.manifest import LANGUAGES, PAGE_SUFFIXES, chinese_pages, english_pages
from tools.paths import DOCS, ROOT

__all__ = ["DOCS", "LANGUAGES", "PAGE_SUFFIXES", "ROOT", "chinese_pages", "english_pages"]


def load_hook(name: str) -> ModuleType:
    """Import the MkDocs hook ``docs/overrides/hooks/<name>.py`` (hooks are files, not a package)."""
    folder = DOCS / "overrides" / "hooks"
    spec = importlib.util.spec_from_file_location(f"{name}_hook", folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(folder))  # as MkDocs does: hooks import their shared hook_support module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module


def seeds(count: int = 3) -> list[int]:
    """Seeds for claim tests: ``SNIPPETS_SEED`` (or the default) and the next ``count - 1``."""
    first = default_seed()
    return [first + offset for offset in range(count)]


def translation_of(page: Path) -> Path:
    """``a/b.md`` <-> ``a/b.zh.md`` (and the same for ``.ipynb``)."""
    suffix = page.suffix
    name = page.name
    if name.endswith(f".zh{suffix}"):
        return page.with_name(name[: -len(f".zh{suffix}")] + suffix)
    return page.with_name(name[: -len(suffix)] + f".zh{suffix}")


def page_text(page: Path) -> str:
    """A page's Markdown: the file itself, or a notebook's cells (code cells as fences)."""
    path = DOCS / page
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8")
    import json

    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    parts = []
    for cell in cells:
        source = "".join(cell["source"])
        parts.append(source if cell["cell_type"] == "markdown" else f"```python\n{source}\n```")
    return "\n\n".join(parts)


FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})")


def lines_outside_fences(text: str) -> Iterator[str]:
    """Yield the lines of a Markdown text that are not inside a fenced code block."""
    for _, line in numbered_lines_outside_fences(text):
        yield line


def numbered_lines_outside_fences(text: str) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, line)`` for the lines of a Markdown text outside fenced code blocks."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if match:
            marker = match.group(2)
            if fence is None:
                fence = marker
                continue
            if marker.startswith(fence):
                fence = None
                continue
        if fence is None:
            yield number, line


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes"}


def source_text_unavailable_under_mutation() -> None:
    """Skip a test that compares a snippet's source text with a page: mutation testing
    (tools/mutation.py) runs the tests on mutmut's rewritten copy of the source, whose text
    differs on purpose. Such tests check the page, not the code, and run in ``make test``."""
    import os

    import pytest

    if "MUTANT_UNDER_TEST" in os.environ:
        pytest.skip("compares source text, which mutmut rewrites")
