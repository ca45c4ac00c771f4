"""Search quality in a real browser: a glossary term finds the page that teaches it, in the reader's
language only.

The queries come from docs/glossary.yml (each term names the page that teaches it). They run through
the search worker the site ships, with the index the page loads, exactly as the search box sends
them. Skipped where Chromium is not installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers import DOCS
from tests.test_browser import CHROMIUM, browser, server  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.site,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium not found: install it or set CHROME_PATH"),
]
TERMS = yaml.safe_load((DOCS / "glossary.yml").read_text(encoding="utf-8"))["terms"]
HOME = {"en": "/", "zh": "/zh/"}
TOP1_TARGET = 0.9

# Runs in the page: the index and the worker the page itself uses (its __config), one query at a time.
SEARCH = """async (queries) => {
  const config = JSON.parse(document.getElementById("__config").textContent);
  const base = new URL(config.base, location.href);
  const index = await (await fetch(new URL("search/search_index.json", base))).json();
  const worker = new Worker(new URL(config.search, location.href));
  const ask = (message) => new Promise((resolve) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.postMessage(message);
  });
  await ask({type: 0, data: {...index, options: {suggest: false}}});
  const results = [];
  for (const query of queries) {
    const answer = await ask({type: 2, data: query});
    results.push(answer.data.items.map((group) =>
      new URL(group[0].location.split("#")[0], base).pathname));
  }
  worker.terminate();
  return results;
}"""


def url(path: str) -> str:
    """A page's URL path under its language's home: 'roadmap/index' -> 'roadmap/'."""
    path = path.removesuffix("index").removesuffix("/")
    return path + "/" if path else ""


def queries(language: str) -> list[tuple[str, str]]:
    """(term, path of the page that teaches it) for every glossary term, in one language."""
    prefix = HOME[language]
    return [(term[language], prefix + url(term["page"])) for term in TERMS]


def search(browser, base: str, language: str, texts: list[str]) -> list[list[str]]:  # noqa: F811
    """Result pages (URL paths, best first) for each query, as the site's search returns them."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(base + HOME[language], wait_until="networkidle")
    try:
        return page.evaluate(SEARCH, texts)
    finally:
        context.close()


def report(language: str, pairs: list[tuple[str, str]], results: list[list[str]]) -> tuple[float, list[str]]:
    misses = [
        f"{query!r} -> {found[0] if found else 'nothing'} (expected {target})"
        for (query, target), found in zip(pairs, results, strict=True)
        if not found or found[0] != target
    ]
    return 1 - len(misses) / len(pairs), misses


@pytest.mark.parametrize("language", ["en", "zh"])
def test_glossary_terms_find_their_teaching_page_first(browser, server: str, language: str) -> None:  # noqa: F811
    pairs = queries(language)
    assert len(pairs) >= 30
    results = search(browser, server, language, [query for query, _ in pairs])
    rate, misses = report(language, pairs, results)
    print(f"search top-1 ({language}): {rate:.0%} of {len(pairs)} glossary queries")
    assert rate >= TOP1_TARGET, f"top-1 {rate:.0%} < {TOP1_TARGET:.0%} ({language}):\n" + "\n".join(misses)
    prefix = "/zh/"
    other = [
        (query, path)
        for (query, _), found in zip(pairs, results, strict=True)
        for path in found
        if path.startswith(prefix) != (language == "zh")
    ]
    assert not other, f"results in the other language ({language} search): {other[:5]}"


def test_every_glossary_term_names_an_existing_page() -> None:
    for term in TERMS:
        page = term.get("page")
        assert page, f"glossary term {term['en']!r} lacks page: (the page that teaches it)"
        assert (DOCS / f"{page}.md").exists(), f"glossary term {term['en']!r}: no page docs/{page}.md"


if __name__ == "__main__":  # measure another built site: python -m tests.test_search_quality SITE
    import sys

    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM_FLAGS
    from tools.local_server import serve

    with serve(Path(sys.argv[1])) as base, sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for language in ("en", "zh"):
            pairs = queries(language)
            results = search(chromium, base, language, [query for query, _ in pairs])
            rate, misses = report(language, pairs, results)
            mixed = sum(
                any(path.startswith("/zh/") != (language == "zh") for path in found) for found in results
            )
            print(f"{language}: top-1 {rate:.1%} of {len(pairs)}; with other-language results: {mixed}")
            print("  " + "\n  ".join(misses))
        chromium.close()
