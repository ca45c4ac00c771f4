"""tools/derived.py: the files made from docs/roadmap.yml are rewritten only when they change
(`mkdocs serve` rebuilds whenever a watched file is touched, so a rewrite would loop)."""

from __future__ import annotations

from tools import derived
from tools.figures import FIGURE_DIR
from tools.outputs import output_path


def test_refresh_leaves_current_files_untouched() -> None:
    derived.refresh()
    paths = [output_path(module, variant) for module, variant in derived.OUTPUTS]
    paths += [FIGURE_DIR / f"{name}.svg" for name in derived.FIGURES]
    before = {path: path.stat().st_mtime_ns for path in paths}
    assert derived.refresh() == []
    assert {path: path.stat().st_mtime_ns for path in paths} == before
