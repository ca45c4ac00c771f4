"""MkDocs hook: a lighter search index, so that every page loads fast.

Material fetches ``search/search_index.json`` on every page and parses it on the main thread
before handing it to the search worker, so its size is paid on each first visit. Code
listings (``<pre>`` blocks: included snippets, notebook cells, recorded outputs) were about half
of the indexed text, and they are not what readers search for; inline code in the prose stays
indexed, so names such as ``nn.LSTMCell`` are still found. The file is also written as UTF-8
instead of ``\\uXXXX`` escapes, which shrinks every Chinese character from six bytes to three.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mkdocs.plugins import event_priority

LISTING = re.compile(r"<pre\b.*?</pre>", re.DOTALL)
NOTEBOOK_PROMPT = re.compile(r"\b(?:In|Out)\s*\[\d*\]:\s*(?:Copied!)?")
SPACES = re.compile(r"\s{2,}")


def lighten(text: str) -> str:
    """Index text without code listings and notebook prompts."""
    return SPACES.sub(" ", NOTEBOOK_PROMPT.sub(" ", LISTING.sub(" ", text))).strip()


@event_priority(-200)  # after the search and i18n plugins have written the index
def on_post_build(config) -> None:
    path = Path(config.site_dir) / "search" / "search_index.json"
    if not path.exists():
        return
    index = json.loads(path.read_text(encoding="utf-8"))
    for doc in index["docs"]:
        doc["text"] = lighten(doc["text"])
    path.write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
