"""MkDocs hook: less work for the browser when a long page starts (issue 14, found in Chrome traces).

- **Tables in slots.** Material wraps every class-less table in a scroll container when the page
  starts, by moving the table out of its parent and back in. When that parent is the article,
  Chromium restyles the whole article (Material's ``table:not([class]) + *`` rule and the
  browser's MathML rules depend on the article's children): 30-120 ms on a long page. In a
  ``<div class="table-slot">`` of its own the table is the only child, so the wrapping restyles
  the table alone. The slot has no style: the page looks the same.
- **Material's script after the first frame.** As a plain script at the end of ``<body>`` (or a
  deferred one) it often ran in the same task as the page's first style and layout, which its
  first scroll-position read forces: one long task of 150-250 ms. A small inline script now
  loads it once the first frame is drawn. Material starts on ``DOMContentLoaded``, which has
  passed by then, so the loader announces it again when the script has run; Material then
  mounts in a task of its own. The 404 page, built from a template rather than a page, gets the
  same loader.
"""

from __future__ import annotations

import json
import re

TABLE = re.compile(r"<table(?![^>]*\bclass=)[^>]*>.*?</table>", re.DOTALL)
SLOT = '<div class="table-slot">{}</div>'
BUNDLE = re.compile(r'<script src="([^"]*assets/javascripts/bundle\.[0-9a-f]+\.min\.js)"></script>')


def in_slots(html: str) -> str:
    """``html`` with every class-less table in a slot (Markdown does not nest tables)."""
    return TABLE.sub(lambda match: SLOT.format(match.group(0)), html)


LOADER = (
    "<script>(function(d,src){{function start(){{var s=d.createElement('script');s.src=src;"
    "s.onload=function(){{if(d.readyState!=='loading')d.dispatchEvent(new Event('DOMContentLoaded'))}};"
    "d.body.appendChild(s)}}requestAnimationFrame(function(){{setTimeout(start,0)}})}})(document,{src})</script>"
)


def with_bundle_after_first_frame(output: str) -> str:
    return BUNDLE.sub(lambda match: LOADER.format(src=json.dumps(match.group(1))), output)


def on_page_content(html: str, page, config, files) -> str:
    return in_slots(html)


def on_post_page(output: str, page, config) -> str:
    return with_bundle_after_first_frame(output)


def on_post_template(output: str, template_name: str, config) -> str:
    """Pages built from a template alone (the 404 page) get the same loader."""
    return with_bundle_after_first_frame(output)
