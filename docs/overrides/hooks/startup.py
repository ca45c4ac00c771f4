"""MkDocs hook: less work for the browser when a long page starts (issue 14, found in Chrome traces).

- **Tables in slots.** Material wraps every class-less table in a scroll container when the page
  starts, by moving the table out of its parent and back in. When that parent is the article,
  Chromium restyles the whole article (Material's ``table:not([class]) + *`` rule and the
  browser's MathML rules depend on the article's children): 30-120 ms on a long page. In a
  ``<div class="table-slot">`` of its own the table is the only child, so the wrapping restyles
  the table alone. The slot has no style: the page looks the same.
- **Material's script deferred.** As a plain script at the end of ``<body>`` it often ran in the
  same task as the page's first style and layout (its first scroll-position read forces them), a
  single long task of 150-200 ms. Deferred, it runs after the parser has finished and the
  browser has had its chance to render; it still runs before ``DOMContentLoaded``, which is when
  Material starts.
"""

from __future__ import annotations

import re

TABLE = re.compile(r"<table(?![^>]*\bclass=)[^>]*>.*?</table>", re.DOTALL)
SLOT = '<div class="table-slot">{}</div>'
BUNDLE = re.compile(r'<script src="([^"]*assets/javascripts/bundle\.[0-9a-f]+\.min\.js)"></script>')


def in_slots(html: str) -> str:
    """``html`` with every class-less table in a slot (Markdown does not nest tables)."""
    return TABLE.sub(lambda match: SLOT.format(match.group(0)), html)


def with_deferred_bundle(output: str) -> str:
    return BUNDLE.sub(r'<script defer src="\1"></script>', output)


def on_page_content(html: str, page, config, files) -> str:
    return in_slots(html)


def on_post_page(output: str, page, config) -> str:
    return with_deferred_bundle(output)
