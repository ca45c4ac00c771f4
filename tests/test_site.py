"""The site builds strictly, in both languages, and loads nothing from another host."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlparse

import markdown
import pytest

from tests.conftest import resolve_href
from tests.helpers import ROOT, chinese_pages, english_pages, load_hook, translation_of
from tools.markdown_fences import expand_includes

pytestmark = pytest.mark.site


def built_page(site: Path, page: Path, language: str) -> Path:
    """Where mkdocs writes ``page`` (``a/b.md`` -> ``a/b/index.html``) for a language."""
    base = site if language == "en" else site / language
    stem = page.with_suffix("")  # a/b.md and a/b.ipynb both become a/b/index.html
    if stem.name == "index":
        return base / stem.parent / "index.html"
    return base / stem / "index.html"


def test_build_has_no_warnings(build: tuple[Path, str, float]) -> None:
    _, log, _ = build
    warnings = [line for line in log.splitlines() if "WARNING" in line]
    assert not warnings, "\n".join(warnings)


@pytest.mark.parametrize("page", english_pages(), ids=str)
def test_page_is_built_in_both_languages_and_links_to_its_translation(
    build: tuple[Path, str, float], page: Path
) -> None:
    site, _, _ = build
    english, chinese = built_page(site, page, "en"), built_page(site, page, "zh")
    assert english.is_file(), f"no English page built for docs/{page}"
    assert chinese.is_file(), f"no Chinese page built for docs/{page}"
    for html, other in [(english, chinese), (chinese, english)]:
        links = re.findall(r'<a href="([^"]+)" hreflang="(en|zh)" class="md-select__link"', html.read_text())
        targets = {lang: resolve_href(site, html, href) for href, lang in links}
        other_lang = "zh" if other == chinese else "en"
        assert targets.get(other_lang) == other.parent.resolve(), (
            f"{html.relative_to(site)} has no language switch to {other.relative_to(site)}"
        )
    assert 'lang="zh"' in chinese.read_text()[:300], f"{chinese.relative_to(site)} is not marked lang=zh"


def test_chinese_search_finds_chinese_words(build: tuple[Path, str, float]) -> None:
    """Material splits Chinese text with jieba; the separator must split on its markers.
    Each language has its own index (zh/search/ for Chinese, locations relative to /zh/)."""
    site, _, _ = build
    tokens: dict[str, set[str]] = {}
    for root in (site, site / "zh"):
        index = json.loads((root / "search" / "search_index.json").read_text(encoding="utf-8"))
        separator = re.compile(index["config"]["separator"])
        for doc in index["docs"]:
            words = separator.split(re.sub(r"<[^>]+>", " ", doc["title"] + " " + doc["text"]))
            key = str((root / doc["location"].split("#")[0]).relative_to(site))
            tokens.setdefault(key, set()).update(words)
    assert "感知机" in tokens.get("zh/neural-networks/perceptron", set())
    assert "perceptron" in {word.lower() for word in tokens.get("neural-networks/perceptron", set())}


LOADING = re.compile(
    r"<(?:script|img|iframe|source|video|audio|embed|track)\b[^>]*\bsrc=\"(?:https?:)?//([^\"/]+)"
    r"|<link\b(?=[^>]*\brel=\"(?:stylesheet|preload|preconnect|dns-prefetch|modulepreload|icon|manifest)\")"
    r"[^>]*\bhref=\"(?:https?:)?//([^\"/]+)"
    r"|\burl\(\s*['\"]?(?:https?:)?//([^)'\"/]+)"
    r"|@import\s+(?:url\()?['\"](?:https?:)?//([^'\"/]+)"
)
ANY_URL = re.compile(r"(?:https?:)?//([a-z0-9.-]+\.[a-z]{2,})[/\"'`]", re.IGNORECASE)
XML_NAMESPACES = {"www.w3.org"}


def own_hosts() -> set[str]:
    from mkdocs.config import load_config

    return {
        urlparse(load_config(str(ROOT / "mkdocs.yml")).site_url or "").hostname or "",
        "127.0.0.1",
        "localhost",
    }


def test_site_loads_nothing_from_other_hosts(build: tuple[Path, str, float]) -> None:
    """HTML, CSS and SVG may not load from another host; our own scripts may not name one.

    Material's bundled scripts are not scanned: they contain addresses only for features
    this site leaves off (GitHub repository facts need ``repo_url``; diagrams need mermaid),
    which the next test keeps off. The browser tests watch real requests.
    """
    site, _, _ = build
    own = own_hosts()
    problems = []
    for path in site.rglob("*"):
        if path.suffix in {".html", ".css", ".svg"}:
            for match in LOADING.finditer(path.read_text(errors="replace")):
                host = next(group for group in match.groups() if group)
                if host not in own:
                    problems.append(f"{path.relative_to(site)} loads from {host}")
    for path in (ROOT / "docs" / "assets").rglob("*.js"):
        for host in ANY_URL.findall(path.read_text(errors="replace")):
            if host not in own | XML_NAMESPACES:
                problems.append(f"{path.relative_to(ROOT)} names the host {host}")
    assert not problems, "\n".join(sorted(set(problems)))


def test_features_that_would_call_other_hosts_are_off(build: tuple[Path, str, float]) -> None:
    from mkdocs.config import load_config

    config = load_config(str(ROOT / "mkdocs.yml"))
    assert not config.repo_url, "repo_url makes Material fetch repository facts from the GitHub API"
    assert config.theme["font"] is False, "theme.font must be false (Google Fonts)"
    site, _, _ = build
    diagrams = [str(p.relative_to(site)) for p in site.rglob("*.html") if 'class="mermaid"' in p.read_text()]
    assert not diagrams, f"mermaid diagrams load mermaid from a CDN: {diagrams}"


def test_missing_include_fails_and_names_the_file() -> None:
    from pymdownx.snippets import SnippetMissingError

    with pytest.raises(SnippetMissingError, match="snippets/no_such_topic.py"):
        expand_includes('--8<-- "snippets/no_such_topic.py"')


def test_check_paths_is_on_in_mkdocs_yml() -> None:
    from tools.markdown_fences import snippet_options

    assert snippet_options().get("check_paths") is True
    assert markdown  # the same Markdown library renders the site


NOTEBOOK_PAGES = [page for page in english_pages() + chinese_pages() if page.suffix == ".ipynb"]


@pytest.mark.parametrize("page", NOTEBOOK_PAGES, ids=str)
def test_notebook_links_and_anchors_resolve(build: tuple[Path, str, float], page: Path) -> None:
    """mkdocs --strict does not check links inside notebooks: every #anchor and page link must land."""
    site, _, _ = build
    chinese = page.name.endswith(".zh.ipynb")
    html = built_page(site, translation_of(page) if chinese else page, "zh" if chinese else "en")
    text = html.read_text(encoding="utf-8")
    ids = set(re.findall(r'\sid="([^"]+)"', text))
    assert '<h2 id="">' not in text, f"{html.relative_to(site)} has headings without an anchor"
    for href in re.findall(r'href="([^"]+)"', text):
        if href.startswith(("http:", "https:", "mailto:", "data:", "javascript:")):
            continue
        path, _, anchor = href.partition("#")
        if not path:
            assert anchor in ids, f"{html.relative_to(site)}: #{anchor} points to no heading"
            continue
        target = resolve_href(site, html, path)
        assert target.exists(), f"{html.relative_to(site)}: link {href} points to nothing"


def test_notebook_css_keeps_only_rules_the_page_uses() -> None:
    hook = load_hook("notebooks")
    html = (
        '<style type="text/css">.a{color:red}.b .c{color:blue}@media print{.a{x:1}.z{x:2}}'
        'p{margin:0}.a:not(.z){y:1}</style><div class="a b"><span class="c"></span></div>'
    )
    css = hook.trim_notebook_css(html).split("</style>")[0]
    assert ".a{color:red}" in css and ".b .c{color:blue}" in css and "p{margin:0}" in css
    assert "@media print{.a{x:1}}" in css and ".a:not(.z){y:1}" in css
    assert ".z{x:2}" not in css


def test_search_index_has_no_code_listings(build: tuple[Path, str, float]) -> None:
    site, _, _ = build
    raw = (site / "zh" / "search" / "search_index.json").read_text(encoding="utf-8")
    assert "感知机" in raw, "the index is written as UTF-8, not \\u escapes"
    for root in (site, site / "zh"):
        docs = json.loads((root / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
        assert not [doc["location"] for doc in docs if "<pre" in doc["text"]]
    assert load_hook("search_index").lighten("a <pre>x = 1</pre> In [3]: Copied! b") == "a b"


def test_code_lines_carry_no_anchors_or_spans(build: tuple[Path, str, float]) -> None:
    """Per-line anchors and spans (pymdownx.highlight anchor_linenums, line_spans) were 812 of the
    8109 elements of the CNN page, styled and laid out at load; no page numbers or annotates lines."""
    site, _, _ = build
    html = (site / "architectures" / "cnn" / "index.html").read_text(encoding="utf-8")
    assert html.count('class="language-python highlight"') > 10  # the page still has its code blocks
    assert "__codelineno" not in html and 'id="__span' not in html
