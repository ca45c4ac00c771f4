"""MkDocs hook: figures that cost nothing until they are needed.

Every figure from ``docs/assets/figures`` gets its width and height (from the SVG's viewBox), so
the browser reserves its space before it loads and nothing below it moves; every figure gets
``loading="lazy"``, so it does not compete with the first screen (text, fonts) for a phone's
bandwidth: no page has a figure on a phone's first screen (on a 412x823 screen the first sits
984-14,780 px down). A lazy figure near the screen still loads at once (Chromium fetches those
within about 1,250 px). ``decoding="async"`` keeps decoding off the main thread.
"""

from __future__ import annotations

import re
from functools import cache

from hook_support import paths

FIGURES = paths.DOCS / "assets" / "figures"
IMG = re.compile(r'<img\b([^>]*?)\bsrc="((?:[^"]*/)?assets/figures/([^"/]+\.svg))"([^>]*)>')
VIEWBOX = re.compile(r'viewBox="\s*[-\d.]+[ ,]+[-\d.]+[ ,]+([\d.]+)[ ,]+([\d.]+)\s*"')


@cache
def size(name: str) -> tuple[int, int] | None:
    path = FIGURES / name
    if not path.is_file():
        return None
    match = VIEWBOX.search(path.read_text(encoding="utf-8", errors="replace")[:4000])
    return (round(float(match.group(1))), round(float(match.group(2)))) if match else None


def sized_and_lazy(html: str) -> str:
    def rewrite(match: re.Match[str]) -> str:
        before, src, name, after = match.groups()
        attributes = before + after
        extra = []
        dimensions = size(name)
        if dimensions and " width=" not in f" {attributes}":
            extra.append(f'width="{dimensions[0]}" height="{dimensions[1]}"')
        if "loading=" not in attributes:
            extra.append('loading="lazy"')
        if "decoding=" not in attributes:
            extra.append('decoding="async"')
        tail = after.rstrip("/ ").rstrip()
        return f'<img{before}src="{src}"{tail} {" ".join(extra)} />'

    return IMG.sub(rewrite, html)


def on_page_content(html: str, page, config, files) -> str:
    return sized_and_lazy(html)
