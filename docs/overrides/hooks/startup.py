"""MkDocs hook: less work for the browser when a long page starts (issue 14, found in Chrome traces).

- **Tables arrive wrapped.** Material wraps every class-less table in its scroll container when
  the page starts, by taking the table out of the page and putting it back inside the wrapper.
  Chromium then styles and lays out the whole table again, KaTeX formulas included: on
  /zh/neural-networks/activations/, whose table is on the first screen, the style recalculation
  alone took 53-59 ms of the start-up task (Chrome traces, CPU not slowed). The build now writes
  the wrapper itself and gives the table the class ``wrapped``, so Material leaves it alone;
  extra.css gives such tables Material's table style (tests/test_page_speed.py checks they look
  the same).
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

TABLE = re.compile(r"<table(?![^>]*\bclass=)([^>]*)>(.*?)</table>", re.DOTALL)
WRAPPED = (
    '<div class="md-typeset__scrollwrap"><div class="md-typeset__table">'
    '<table class="wrapped"{attributes}>{rows}</table></div></div>'
)
BUNDLE = re.compile(r'<script src="([^"]*assets/javascripts/bundle\.[0-9a-f]+\.min\.js)"></script>')


def wrapped_tables(html: str) -> str:
    """``html`` with every class-less table in Material's scroll wrapper (Markdown does not nest tables)."""
    return TABLE.sub(lambda match: WRAPPED.format(attributes=match.group(1), rows=match.group(2)), html)


LOADER = (
    "<script>(function(d,src){{function start(){{var s=d.createElement('script');s.src=src;"
    "s.onload=function(){{if(d.readyState!=='loading')d.dispatchEvent(new Event('DOMContentLoaded'))}};"
    "d.body.appendChild(s)}}requestAnimationFrame(function(){{setTimeout(start,0)}})}})(document,{src})</script>"
)


def with_bundle_after_first_frame(output: str) -> str:
    return BUNDLE.sub(lambda match: LOADER.format(src=json.dumps(match.group(1))), output)


def on_page_content(html: str, page, config, files) -> str:
    return wrapped_tables(html)


def on_post_page(output: str, page, config) -> str:
    return with_bundle_after_first_frame(output)


def on_post_template(output: str, template_name: str, config) -> str:
    """Pages built from a template alone (the 404 page) get the same loader."""
    return with_bundle_after_first_frame(output)
