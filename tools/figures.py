"""Render every figure the pages show.

A snippet module registers its figures in a module-level ``FIGURES`` dict that maps
a file name (without extension) to a function returning a Matplotlib figure.
``python -m tools.figures`` (or ``make figures``) writes them all to
``docs/assets/figures/<name>.svg`` with the default seed; ``python -m tools.figures NAME ...``
(``make figures NAMES=...``) writes only those.
"""

from __future__ import annotations

import argparse
import importlib
import io
import math
import pkgutil
import re
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

import snippets
from snippets.common import DEFAULT_SEED, seed_everything
from tools.paths import FIGURE_DIR

FigureFactory = Callable[[], Figure]


def registered_figures() -> dict[str, FigureFactory]:
    """Collect the ``FIGURES`` dicts of every snippet module."""
    found: dict[str, FigureFactory] = {}
    for module_info in pkgutil.walk_packages(snippets.__path__, prefix="snippets."):
        module = importlib.import_module(module_info.name)
        for name, factory in getattr(module, "FIGURES", {}).items():
            if name in found:
                raise ValueError(f"figure {name!r} is registered twice (again in {module_info.name})")
            found[name] = factory
    return found


TAG_OR_TEXT = re.compile(r"(<[^>]*>)|([^<]+)")
LONG_DECIMAL = re.compile(r"(?<![\w.#])(-?\d+\.\d{3,})")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
HASHED_ID = re.compile(r"\b([a-zA-Z]{1,3})[0-9a-f]{8,}\b")
DEFAULT_TOLERANCE = 0.5
"""How far (in points, 1/72 inch) a coordinate may move before a figure counts as changed."""


def rounded_coordinates(svg: str) -> str:
    """Round the coordinates in the SVG's tags to 0.01 pt (invisible), so floating-point noise
    in the data does not change the file; text (labels, numbers a reader sees) is left as it is."""

    def round_tag(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)
        return LONG_DECIMAL.sub(lambda m: f"{float(m.group(1)):.2f}".rstrip("0").rstrip("."), match.group(1))

    return TAG_OR_TEXT.sub(round_tag, svg)


def save_svg(figure: Figure, path: Path) -> None:
    """Write a figure as an SVG whose bytes depend only on its content (a fixed hash salt for the
    ids, no date, coordinates rounded to 0.01 pt)."""
    matplotlib.rcParams["svg.hashsalt"] = "dl-roadmap"
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: smaller files, selectable labels
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    path.write_text(rounded_coordinates(buffer.getvalue()), encoding="utf-8")


def normalised_ids(svg: str) -> str:
    """Number the hashed ids (clip paths, markers) in order of appearance: they hash the data."""
    seen: dict[str, str] = {}
    return HASHED_ID.sub(lambda m: seen.setdefault(m.group(0), f"{m.group(1)}#{len(seen)}"), svg)


def labels(svg: str) -> list[str]:
    """The words a reader sees in a figure (titles, axis labels, legends), numbers masked; tick
    labels, which are only numbers, are left out."""
    texts = (text.strip() for _, text in TAG_OR_TEXT.findall(svg))
    return [NUMBER.sub("#", text) for text in texts if re.search(r"[^\W\d_]", text)]


def svg_difference(committed: str, rendered: str, tolerance: float = DEFAULT_TOLERANCE) -> str | None:
    """How two renderings of a figure differ, or None when a reader could not tell them apart:
    the same elements and text, every coordinate within ``tolerance`` points. With ``math.inf``
    (a figure whose data depend on the CPU) only the words are compared: titles, axis labels and
    legends with their numbers masked."""
    if math.isinf(tolerance):
        old_labels, new_labels = labels(committed), labels(rendered)
        if old_labels != new_labels:
            changed = next(
                (a, b) for a, b in zip(old_labels + [""], new_labels + [""], strict=False) if a != b
            )
            return f"label {changed[0]!r} is now {changed[1]!r}"
        return None
    old = TAG_OR_TEXT.findall(normalised_ids(committed))
    new = TAG_OR_TEXT.findall(normalised_ids(rendered))
    if len(old) != len(new):
        return f"{len(old)} tags and texts recorded, {len(new)} rendered"
    for (old_tag, old_text), (new_tag, new_text) in zip(old, new, strict=True):
        if old_text or new_text:
            if old_text.strip() != new_text.strip():
                return f"text {old_text.strip()!r} is now {new_text.strip()!r}"
            continue
        if NUMBER.split(old_tag) != NUMBER.split(new_tag):
            return f"element {old_tag[:80]!r} is now {new_tag[:80]!r}"
        for x, y in zip(NUMBER.findall(old_tag), NUMBER.findall(new_tag), strict=True):
            if abs(float(x) - float(y)) > tolerance:
                return f"a coordinate moved from {x} to {y} in {new_tag[:80]!r}"
    return None


def figure_tolerances() -> dict[str, float]:
    """Each figure's tolerance (``svg_difference``): its module's ``FIGURE_TOLERANCE`` entry, or
    :data:`DEFAULT_TOLERANCE`."""
    found: dict[str, float] = {}
    for module_info in pkgutil.walk_packages(snippets.__path__, prefix="snippets."):
        module = importlib.import_module(module_info.name)
        declared = getattr(module, "FIGURE_TOLERANCE", {})
        unknown = set(declared) - set(getattr(module, "FIGURES", {}))
        if unknown:
            raise ValueError(
                f"{module_info.name}.FIGURE_TOLERANCE names no figure of the module: {sorted(unknown)}"
            )
        for name in getattr(module, "FIGURES", {}):
            found[name] = declared.get(name, DEFAULT_TOLERANCE)
    return found


def render(name: str, factory: FigureFactory, out_dir: Path = FIGURE_DIR) -> Path:
    """Render one figure with the default seed and return the file written."""
    import matplotlib.pyplot as plt

    seed_everything(DEFAULT_SEED)
    figure = factory()
    path = out_dir / f"{name}.svg"
    save_svg(figure, path)
    plt.close(figure)
    return path


def refresh(name: str, factory: FigureFactory, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Render a figure and replace the committed file only when a reader could tell the difference
    (``svg_difference``), so regenerating unchanged data changes no file. True when written."""
    import tempfile

    committed = FIGURE_DIR / f"{name}.svg"
    with tempfile.TemporaryDirectory() as folder:
        fresh = render(name, factory, out_dir=Path(folder))
        text = fresh.read_text(encoding="utf-8")
    if committed.is_file() and svg_difference(committed.read_text(encoding="utf-8"), text, tolerance) is None:
        return False
    committed.write_text(text, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    figures = registered_figures()
    parser = argparse.ArgumentParser(description="Render the site's figures.")
    known = ", ".join(sorted(figures))
    parser.add_argument("names", nargs="*", help=f"figures to render (default: all); known: {known}")
    parser.add_argument(
        "--force", action="store_true", help="rewrite files even when nothing visible changed"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(figures))
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(unknown)}")
    tolerances = figure_tolerances()
    for name in args.names or sorted(figures):
        if args.force:
            render(name, figures[name])
            changed = True
        else:
            changed = refresh(name, figures[name], tolerances[name])
        print(f"{'written' if changed else 'current'}: docs/assets/figures/{name}.svg")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
