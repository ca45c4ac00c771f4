"""What the MkDocs hooks share: the manifest loader, the page language, page kinds and paths.

Not a hook itself (mkdocs.yml does not list it): MkDocs puts this folder on ``sys.path`` while it
loads each hook, so the hooks import it as ``hook_support``. The page list, the docs folder and
the repository root come from ``tools`` (``tools.manifest``, ``tools.paths``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    from tools import manifest, paths
except ModuleNotFoundError:  # started as the `mkdocs` script, not `python -m mkdocs` from the root
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # bootstrap only: tools.paths.ROOT
    from tools import manifest, paths

__all__ = ["current_language", "is_notebook", "manifest", "page_path", "paths"]

PAGE_SOURCE = re.compile(r"(\.zh)?\.(md|ipynb)$")


def current_language(config) -> str:
    """The language being built (``en`` or ``zh``), as the i18n plugin sets it."""
    i18n = config.plugins.get("i18n")
    return getattr(i18n, "current_language", None) or "en"


def is_notebook(file) -> bool:
    """True for a notebook page (``page.ipynb`` or ``page.zh.ipynb``)."""
    return file.src_uri.endswith(".ipynb")


def page_path(src_uri: str) -> str:
    """``architectures/cnn.zh.md`` -> ``architectures/cnn``: the page's path in docs/roadmap.yml."""
    return PAGE_SOURCE.sub("", src_uri)
