"""Where the project lives: the repository root, computed here and nowhere else.

Standard library only, so that the tools which run before the requirements are installed
(``tools.latest_report``, ``tools.check_links``) can use it too.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MANIFEST = DOCS / "roadmap.yml"
FIGURE_DIR = DOCS / "assets" / "figures"
