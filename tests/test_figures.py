"""Every figure a page shows is produced by snippet code, and every produced figure is shown."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from tools.figures import FIGURE_DIR, figure_tolerances, registered_figures, render, svg_difference
from tests.helpers import DOCS

FIGURES = registered_figures()
TOLERANCES = figure_tolerances()


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
    committed = FIGURE_DIR / f"{name}.svg"
    if committed.is_file():
        problem = svg_difference(committed.read_text(encoding="utf-8"), text, TOLERANCES[name])
        assert problem is None, (
            f"docs/assets/figures/{name}.svg is out of date ({problem}); run make figures NAMES={name}"
        )


def test_a_figure_that_moved_less_than_the_tolerance_is_unchanged() -> None:
    svg = '<svg><path d="M 1.00 2.00 L 3.00 4.00"/><text>loss 0.52</text></svg>'
    assert svg_difference(svg, svg.replace("3.00", "3.30")) is None
    assert "moved" in svg_difference(svg, svg.replace("3.00", "3.80"))
    assert "text" in svg_difference(svg, svg.replace("0.52", "0.61"))  # a number a reader sees
    assert svg_difference(svg, svg.replace("0.52", "0.61").replace("3.00", "9"), math.inf) is None
    assert "label" in svg_difference(svg, svg.replace("loss", "accuracy"), math.inf)
