"""What is computed from ``docs/roadmap.yml`` is made at build time, never kept by hand.

Adding a page should touch only its own files and its manifest entry. So:

* the stages pages write ``<!-- stage-hours: core -->`` where a stage's reading time goes, and the
  summary pages end each stage's section with ``<!-- stage-pages: core -->``; the roadmap hook
  (``docs/overrides/hooks/roadmap.py``) replaces them with :func:`fill_markers`;
* the outputs and the figure that print or draw the manifest (:data:`OUTPUTS`, :data:`FIGURES`) are
  not committed: :func:`refresh` writes them before every build (the hook) and every test run
  (the pytest plugin ``tools.includes``), and rewrites a file only when its content changed.

    python -m tools.derived      # write the derived files now
"""

from __future__ import annotations

import posixpath
import re

from tools import manifest
from tools.paths import ROOT

OUTPUTS: list[tuple[str, str | None]] = [
    ("snippets.summary", None),
    ("snippets.summary", "zh"),
    ("snippets.roadmap.stages", None),
]
"""Recorded outputs that print the manifest: (module, variant)."""
FIGURES = {"stages-hours": "snippets.roadmap.stages"}
"""Figures that draw the manifest: name -> the module that registers it."""

HOURS_MARKER = re.compile(r"<!-- stage-hours: ([a-z]+) -->")
PAGES_MARKER = re.compile(r"<!-- stage-pages: ([a-z]+) -->")
PAGES_WORDS = {"en": ("Pages of this stage: ", ", ", "."), "zh": ("本阶段的页面：", "、", "。")}


def stage_hours() -> dict[str, float]:
    """Reading hours per stage (the stages page's own ``hours_per_stage``), rounded to the half hour
    as the stages pages quote them."""
    from snippets.roadmap.stages import hours_per_stage

    totals = hours_per_stage(manifest.data())
    return {stage: round(total["read_hours"] * 2) / 2 for stage, total in totals.items()}


def stage_pages_line(stage: str, language: str, current: str) -> str:
    """Links to every written page of a stage, in site order, from the page ``current`` (a docs path)."""
    opening, separator, closing = PAGES_WORDS[language]
    links = [
        f"[{page.title[language]}]({posixpath.relpath(page.source, posixpath.dirname(current) or '.')})"
        for page in manifest.pages()
        if page.stage == stage and page.exists and page.source != current
    ]
    return opening + separator.join(links) + closing


def fill_markers(markdown: str, current: str, language: str) -> str:
    """Replace the stage markers of a page (``current``: its English source path under docs/)."""
    stages = {stage["id"] for stage in manifest.stages()}

    def known(match: re.Match[str]) -> str:
        if match.group(1) not in stages:
            message = f"docs/{current}: {match.group(0)} names no stage of docs/roadmap.yml"
            raise manifest.ManifestError(message)
        return match.group(1)

    hours = stage_hours()
    markdown = HOURS_MARKER.sub(lambda m: f"{hours[known(m)]:g}", markdown)
    return PAGES_MARKER.sub(lambda m: stage_pages_line(known(m), language, current), markdown)


def printed(module: str, arguments: list[str]) -> str:
    """What ``python -m module *arguments`` prints, run in this process (these modules only read
    the manifest, so this is quick and gives the same text as the command)."""
    import contextlib
    import importlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = importlib.import_module(module).main(arguments)
    if status:
        raise RuntimeError(f"python -m {module} {' '.join(arguments)} exited with {status}")
    return buffer.getvalue()


def refresh(verbose: bool = False) -> list[str]:
    """Write the derived outputs and figures whose content changed; return the paths written."""
    import importlib
    import tempfile
    from pathlib import Path

    from tools import figures, outputs

    written = []
    for module, variant in OUTPUTS:
        text = printed(module, outputs.arguments(variant))
        path = outputs.output_path(module, variant)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(str(path.relative_to(ROOT)))
    for name, module in FIGURES.items():
        path = figures.FIGURE_DIR / f"{name}.svg"
        with tempfile.TemporaryDirectory() as folder:  # `mkdocs serve` rebuilds when a file is touched
            fresh = figures.render(name, importlib.import_module(module).FIGURES[name], out_dir=Path(folder))
            text = fresh.read_bytes()
        if not path.is_file() or path.read_bytes() != text:
            path.write_bytes(text)
            written.append(str(path.relative_to(ROOT)))
    if verbose:
        print("\n".join(written) or "derived files are current")
    return written


if __name__ == "__main__":
    refresh(verbose=True)
