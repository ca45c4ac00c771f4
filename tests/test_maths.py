"""Maths is rendered at build time (docs/overrides/hooks/maths.py): no page is left with raw TeX,
notebooks included, every formula keeps its MathML for screen readers, and no page loads maths
JavaScript."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from tests.helpers import load_hook

pytestmark = pytest.mark.site

# What a reader sees or hears: text outside code and outside KaTeX's MathML, plus image
# descriptions and tooltips (alt, title, aria-label).
HIDDEN = re.compile(r"<(script|style|pre|code|math|textarea|svg)\b.*?</\1>", re.DOTALL | re.IGNORECASE)
ATTRIBUTES = re.compile(r'\s(?:alt|title|aria-label)="([^"]*)"')
TAG = re.compile(r"<[^>]+>")
RAW_TEX = re.compile(
    r"\\[()\[\]]"  # arithmatex's delimiters
    r"|\\(?:frac|mathbf|mathcal|mathrm|operatorname|sum|prod|int|approx|alpha|beta|theta|sigma|lambda|"
    r"cdot|left|right|top|text|begin|end|sqrt|log|exp|partial|nabla|mid|in|le|ge|times|hat|bar)\b"
    r"|\$\$"  # notebooks' display maths
    r"|\$[^$\s<][^$<]{0,200}?\$"  # notebooks' inline maths
)


def seen_text(page_html: str) -> str:
    text = HIDDEN.sub(" ", page_html)
    return html.unescape(" ".join([TAG.sub(" ", text), *ATTRIBUTES.findall(text)]))


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_no_page_has_raw_tex(build: tuple[Path, str, float]) -> None:
    site, _, _ = build
    raw = []
    for page in pages(site):
        text = seen_text(page.read_text(encoding="utf-8"))
        raw += [
            f"{page.relative_to(site)}: ...{text[max(m.start() - 40, 0) : m.end() + 20]!r}"
            for m in RAW_TEX.finditer(text)
        ]
    assert not raw, "raw TeX left on built pages (not rendered by KaTeX):\n" + "\n".join(raw[:20])


def test_maths_is_rendered_with_mathml_and_no_script(build: tuple[Path, str, float]) -> None:
    site, _, _ = build
    with_maths = 0
    for page in pages(site):
        text = page.read_text(encoding="utf-8")
        where = page.relative_to(site)
        assert "katex.min.js" not in text and "auto-render" not in text, f"{where} loads maths JavaScript"
        rendered = text.count('<span class="katex">')
        if rendered:
            with_maths += 1
            assert text.count('<span class="katex-mathml"><math') == rendered, (
                f"{where}: a formula lacks MathML"
            )
            assert "assets/vendor/katex/katex.min.css" in text, f"{where}: maths without KaTeX's stylesheet"
        assert "katex-error" not in text, f"{where}: a formula KaTeX could not parse"
    assert with_maths >= 40, f"only {with_maths} pages with rendered maths"
    for notebook in ("projects/image-recognition", "zh/projects/nlp"):
        assert '<span class="katex">' in (site / notebook / "index.html").read_text(encoding="utf-8")


def test_notebook_maths_is_found_as_auto_render_finds_it() -> None:
    hook = load_hook("maths")
    assert hook.split_maths("a $x_1$ and $$\\frac{a}{b}$$ b") == [
        "a ",
        ("x_1", False),
        " and ",
        ("\\frac{a}{b}", True),
        " b",
    ]
    # braces and backslashes hide delimiters, entities are TeX again, an unclosed $ stays text
    assert hook.split_maths("$\\text{\\$5 {$}}$ &amp; $a &lt; b$ costs $3") == [
        "",
        ("\\text{\\$5 {$}}", False),
        " &amp; ",
        ("a < b", False),
        " costs $3",
    ]
    cell = '<div class="jp-RenderedMarkdown"><p>$a$</p><pre>$b$</pre></div><p>$c$</p>'
    runs = [cell[start:end] for start, end in hook.text_runs(cell, only_markdown_cells=True)]
    assert runs == ["$a$"]


def test_rendering_matches_katex_and_reports_errors(caplog: pytest.LogCaptureFixture) -> None:
    hook = load_hook("maths")
    out = hook.render_arithmatex('<p><span class="arithmatex">\\(x^2 &lt; 1\\)</span></p>', "test.md")
    assert out.startswith('<p><span class="arithmatex"><span class="katex"><span class="katex-mathml"><math')
    assert '<annotation encoding="application/x-tex">x^2 &lt; 1</annotation>' in out
    display = hook.render_arithmatex('<div class="arithmatex">\\[\\sum_i a_i\\]</div>', "test.md")
    assert '<span class="katex-display">' in display
    with caplog.at_level("WARNING"):
        hook.render_arithmatex('<span class="arithmatex">\\(\\frac{1}\\)</span>', "broken.md")
    assert "broken.md: KaTeX cannot render" in caplog.text
