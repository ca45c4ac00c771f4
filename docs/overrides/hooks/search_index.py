"""MkDocs hook: one light search index per language, glossary terms that lead to their page, and
Chinese queries segmented as the index is.

Material fetches ``search/search_index.json`` on every page and parses it on the main thread
before handing it to the search worker, so its size is paid on each first visit. Code
listings (``<pre>`` blocks: included snippets, notebook cells, recorded outputs) were about half
of the indexed text, and they are not what readers search for; inline code in the prose stays
indexed, so names such as ``nn.LSTMCell`` are still found. The file is also written as UTF-8
instead of ``\\uXXXX`` escapes, which shrinks every Chinese character from six bytes to three.

One index per language: ``search/search_index.json`` holds the English pages and
``zh/search/search_index.json`` the Chinese ones (locations relative to ``/zh/``); each Chinese page's
``__config`` names ``/zh/`` as the search base, so a reader's search never returns the other language.

Glossary terms (docs/glossary.yml, each with the page that teaches it) are added to jieba's
dictionary, so the index keeps them whole, and to that page's entry as a ``terms`` field boosted like
a title; the index also carries the term -> page table for the search worker.

The page's search worker is ``assets/javascripts/workers/search-segmented.js``, which wraps
Material's worker (named in its URL): it splits Chinese queries into the index's own words (Material's
query segmenter never matches a word that ends the query: 反向传播 became 反向 + 传*) and puts the page
that teaches a glossary term first when the query is that term.
"""

from __future__ import annotations

import json
import posixpath
import re
import shutil
from functools import cache
from pathlib import Path

import yaml
from hook_support import current_language, paths
from mkdocs.plugins import event_priority

try:
    import jieba
except ModuleNotFoundError:  # the index is then not segmented either (Material's search plugin)
    jieba = None

LISTING = re.compile(r"<pre\b.*?</pre>", re.DOTALL)
NOTEBOOK_PROMPT = re.compile(r"\b(?:In|Out)\s*\[\d*\]:\s*(?:Copied!)?")
SPACES = re.compile(r"\s{2,}")
CONFIG = re.compile(r'(<script id="__config" type="application/json">)(.*?)(</script>)', re.DOTALL)
WORKER = "assets/javascripts/workers/search-segmented.js"
TERMS_FIELD = {"boost": 1000.0}  # like a title: Material boosts title 1e3, text 1
LANGUAGES = ("en", "zh")


@cache
def glossary() -> list[dict]:
    return yaml.safe_load((paths.DOCS / "glossary.yml").read_text(encoding="utf-8"))["terms"]


def location(page: str) -> str:
    """A page's search location relative to its language root: 'roadmap/index' -> 'roadmap/'."""
    page = page.removesuffix("index").removesuffix("/")
    return f"{page}/" if page else ""


def normalize(query: str) -> str:
    """How the worker compares a query with a glossary term (lower case, '-' and spaces alike)."""
    return re.sub(r"[\s\-]+", " ", query.lower()).strip()


def on_config(config):
    if jieba is not None:
        for term in glossary():
            jieba.add_word(term["zh"])
    return config


def lighten(text: str) -> str:
    """Index text without code listings and notebook prompts."""
    return SPACES.sub(" ", NOTEBOOK_PROMPT.sub(" ", LISTING.sub(" ", text))).strip()


def page_config(html: str, language: str, page_url: str) -> str:
    """Point a page's search at the segmenting worker and at its own language's index."""
    match = CONFIG.search(html)
    if match is None:
        return html
    config = json.loads(match.group(2))
    worker = config.get("search")
    if worker:
        folder, name = posixpath.split(worker)
        config["search"] = f"{posixpath.join(folder, posixpath.basename(WORKER))}?material={name}"
    if language != "en" and page_url.startswith(f"{language}/"):
        config["base"] = f"{config['base'].rstrip('/')}/{language}/"
    text = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
    return html[: match.start(2)] + text + html[match.end(2) :]


def on_post_page(output: str, page, config) -> str:
    return page_config(output, current_language(config), page.url)


def language_index(index: dict, language: str) -> dict:
    """The entries of one language (locations relative to its root), with glossary terms and table."""
    prefix = "" if language == "en" else f"{language}/"
    docs = []
    for doc in index["docs"]:
        in_language = doc["location"].startswith(prefix) if prefix else not doc["location"].startswith("zh/")
        if in_language:
            local = doc["location"].removeprefix(prefix)
            docs.append({**doc, "location": local, "text": lighten(doc["text"])})
    by_location = {doc["location"]: doc for doc in docs}
    table: dict[str, str] = {}
    for term in glossary():
        target = location(term["page"])
        if target in by_location:
            word = term[language]
            joiner = "\u200b" if language == "zh" else " "
            doc = by_location[target]
            doc["terms"] = f"{doc['terms']}{joiner}{word}" if doc.get("terms") else word
            table[normalize(word)] = target
    config = {**index["config"], "fields": {**index["config"]["fields"], "terms": TERMS_FIELD}}
    return {"config": config, "docs": docs, "glossary": table}


@event_priority(-200)  # after the search and i18n plugins have written the index
def on_post_build(config) -> None:
    site = Path(config.site_dir)
    path = site / "search" / "search_index.json"
    if not path.exists():
        return
    index = json.loads(path.read_text(encoding="utf-8"))
    for language in LANGUAGES:
        root = site if language == "en" else site / language
        target = root / "search" / "search_index.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(language_index(index, language), ensure_ascii=False, separators=(",", ":"))
        target.write_text(text, encoding="utf-8")
        if language != "en" and (site / "sitemap.xml").exists():  # Material reads it from the base
            shutil.copyfile(site / "sitemap.xml", root / "sitemap.xml")
