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
import pkgutil
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

import snippets
from snippets.common import DEFAULT_SEED, seed_everything
from tools.paths import FIGURE_DIR, ROOT

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


def save_svg(figure: Figure, path: Path) -> None:
    """Write a figure as an SVG whose bytes depend only on its content."""
    matplotlib.rcParams["svg.hashsalt"] = "dl-roadmap"
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: smaller files, selectable labels
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="svg", bbox_inches="tight", metadata={"Date": None})


def render(name: str, factory: FigureFactory, out_dir: Path = FIGURE_DIR) -> Path:
    """Render one figure with the default seed and return the file written."""
    import matplotlib.pyplot as plt

    seed_everything(DEFAULT_SEED)
    figure = factory()
    path = out_dir / f"{name}.svg"
    save_svg(figure, path)
    plt.close(figure)
    return path


def main(argv: list[str] | None = None) -> int:
    figures = registered_figures()
    parser = argparse.ArgumentParser(description="Render the site's figures.")
    known = ", ".join(sorted(figures))
    parser.add_argument("names", nargs="*", help=f"figures to render (default: all); known: {known}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(figures))
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(unknown)}")
    for name in args.names or sorted(figures):
        print(render(name, figures[name]).relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
