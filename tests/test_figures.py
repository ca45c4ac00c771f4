"""Every figure a page shows is produced by snippet code, and every produced figure is shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.figures import FIGURE_DIR, registered_figures, render
from tests.helpers import DOCS

FIGURES = registered_figures()


def shown_figures() -> set[str]:
    names = set()
    for page in DOCS.rglob("*.md"):
        names.update(re.findall(r"assets/figures/([\w.-]+)\.svg", page.read_text(encoding="utf-8")))
    return names


def test_every_shown_figure_is_generated() -> None:
    missing = shown_figures() - set(FIGURES)
    assert not missing, f"figures shown on pages but made by no snippet: {sorted(missing)}"


def test_every_generated_figure_is_committed_and_shown() -> None:
    committed = {path.stem for path in FIGURE_DIR.glob("*.svg")}
    assert set(FIGURES) <= committed, f"run `make figures`: missing {sorted(set(FIGURES) - committed)}"
    assert committed <= set(FIGURES), f"stale figure files: {sorted(committed - set(FIGURES))}"
    unused = set(FIGURES) - shown_figures()
    assert not unused, f"figures no page shows: {sorted(unused)}"


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_renders(name: str, tmp_path: Path) -> None:
    path = render(name, FIGURES[name], out_dir=tmp_path)
    text = path.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert not re.search(r"href=\"(https?:)?//", text), "figures must not link to other hosts"
