"""Shared paths and small utilities for the test suite."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from snippets.common import default_seed

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
LANGUAGES = ("en", "zh")


def seeds(count: int = 3) -> list[int]:
    """Seeds for claim tests: ``SNIPPETS_SEED`` (or the default) and the next ``count - 1``."""
    first = default_seed()
    return [first + offset for offset in range(count)]


def english_pages() -> list[Path]:
    """Every English page (``page.md``), relative to ``docs/``."""
    return sorted(
        path.relative_to(DOCS)
        for path in DOCS.rglob("*.md")
        if not path.name.endswith(".zh.md") and "overrides" not in path.parts
    )


def chinese_pages() -> list[Path]:
    return sorted(path.relative_to(DOCS) for path in DOCS.rglob("*.zh.md"))


def translation_of(page: Path) -> Path:
    """``a/b.md`` <-> ``a/b.zh.md``."""
    name = page.name
    if name.endswith(".zh.md"):
        return page.with_name(name[: -len(".zh.md")] + ".md")
    return page.with_name(name[: -len(".md")] + ".zh.md")


FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})")


def lines_outside_fences(text: str) -> Iterator[str]:
    """Yield the lines of a Markdown text that are not inside a fenced code block."""
    fence: str | None = None
    for line in text.splitlines():
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
            yield line


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes"}
