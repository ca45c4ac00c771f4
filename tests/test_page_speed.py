"""What long pages do to stay fast on a phone keeps every reader feature (issue 14).

Code blocks get their copy button when they come near the screen (Material's content.lazy),
figures are lazy and sized, and maths arrives rendered: the tests check that
readers still get all of it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import load_hook
from tests.test_browser import CHROMIUM, CHROMIUM_FLAGS, Watched, browser, server, watched  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.site,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium not found: install it or set CHROME_PATH"),
]


def test_copy_buttons_tooltips_and_anchors_on_a_long_page(watched: Watched) -> None:  # noqa: F811
    watched.open("/architectures/cnn/")
    page = watched.page
    last = page.locator("article.md-typeset > .highlight").last  # not inside a closed tab or details
    for _ in range(10):  # blocks above render as they pass, so the target moves: scroll as a reader does
        last.scroll_into_view_if_needed()
        page.wait_for_timeout(200)
        if last.locator(".md-code__button").count():
            break
    assert last.locator(".md-code__button").count() == 1, "the last code block got no copy button"
    assert page.evaluate("document.querySelectorAll('script[src*=katex]').length") == 0
    abbr = page.locator(".md-typeset abbr").first
    abbr.scroll_into_view_if_needed()
    abbr.hover()
    page.locator(".md-tooltip2--active").first.wait_for(state="visible")
    watched.open("/architectures/cnn/#references")
    top = page.evaluate("document.getElementById('references').getBoundingClientRect().top")
    assert 0 <= top < 200, f"the anchor should be at the top of the screen, not at {top}px"


def test_figures_are_sized_and_lazy(build: tuple[Path, str, float]) -> None:
    """No figure is on a phone's first screen, so every figure is lazy; each is sized, so nothing
    moves when it arrives."""
    site, _, _ = build
    html = (site / "zh" / "architectures" / "diffusion" / "index.html").read_text(encoding="utf-8")
    html += (site / "architectures" / "cnn" / "index.html").read_text(encoding="utf-8")
    figures = re.findall(r"<img\b[^>]*assets/figures/[^>]*>", html)
    assert len(figures) >= 3
    assert all(re.search(r'\bwidth="\d+" height="\d+"', tag) for tag in figures)
    assert all('loading="lazy"' in tag for tag in figures), figures


def toggle_palette_to(page, scheme: str) -> str:
    """Click the palette toggle until the colour scheme is ``scheme`` (it cycles: system preference,
    light, dark); return the scheme it ends on."""
    current = ""
    for _ in range(3):
        page.locator("form[data-md-component=palette] label:visible").first.click()
        page.wait_for_timeout(100)
        current = page.evaluate("document.body.getAttribute('data-md-color-scheme')")
        if current == scheme:
            break
    return current


def test_palette_starts_without_restyling_and_still_switches(watched: Watched) -> None:  # noqa: F811
    """Material's palette no longer rewrites <body>'s colour attributes nor inserts the colour-scheme
    meta at start-up (each restyled the whole page); the light/dark toggle works as before."""
    page = watched.page
    page.add_init_script(
        """new MutationObserver(records => { for (const r of records) if (r.target === document.body)
             (window.__changes ||= []).push(r.attributeName + '=' + r.target.getAttribute(r.attributeName)) })
           .observe(document, {attributes: true, subtree: true, attributeFilter: ['data-md-color-scheme',
             'data-md-color-primary', 'data-md-color-accent', 'data-md-color-switching']})"""
    )
    watched.open("/architectures/cnn/")
    assert page.evaluate("window.__changes || []") == []
    # not even an empty one: inserting <meta name="color-scheme"> restyles every element in Chromium
    assert page.evaluate("document.querySelectorAll('meta[name=color-scheme]').length") == 0
    scheme_meta = "document.querySelector('meta[name=color-scheme]')?.getAttribute('content') ?? null"
    for wanted, meta in [("slate", "dark"), ("default", "light")]:
        assert toggle_palette_to(page, wanted) == wanted
        assert page.evaluate(scheme_meta) == meta
    assert "data-md-color-switching=" in page.evaluate("window.__changes")  # no transitions while switching
    toggle_palette_to(page, "slate")
    watched.open("/architectures/cnn/")  # a reader who chose dark: the held meta is inserted at start-up
    assert page.evaluate(scheme_meta) == "dark"


def test_only_blocks_below_the_fold_skip_layout(watched: Watched) -> None:  # noqa: F811
    """content-visibility: auto spares the start-up layout of long pages (code, tabs, admonitions,
    formulas, figures, tables); running text always renders (colour-contrast checks and
    find-in-page read it), and so does the first screen."""
    watched.open("/architectures/cnn/")
    skipped = watched.page.evaluate(
        """[...document.querySelectorAll('article.md-typeset > *')]
             .filter(e => getComputedStyle(e).contentVisibility === 'auto')
             .map(e => [e.tagName.toLowerCase() + '.' + [...e.classList].join('.'),
                        [...e.parentNode.children].indexOf(e)])"""
    )
    assert len(skipped) >= 10, "the long page should skip most of its code blocks and formulas"
    assert all(index >= 9 for _, index in skipped), f"blocks on the first screen were skipped: {skipped}"
    kinds = {name.split(".")[0] for name, _ in skipped}
    assert kinds <= {"div", "figure"}, f"running text was skipped: {kinds}"


def test_the_404_page_loads_material_after_the_first_frame_too(
    build: tuple[Path, str, float],
    watched: Watched,  # noqa: F811
) -> None:
    """The 404 page is built from a template, not a page, and gets the same loader."""
    site, _, _ = build
    html = (site / "404.html").read_text(encoding="utf-8")
    assert not load_hook("startup").BUNDLE.search(html), "404.html loads the bundle as a plain script"
    watched.open("/404.html")
    watched.page.wait_for_function("typeof window.component$ !== 'undefined'")  # Material ran


def last_node(cdp, selector: str) -> int:
    """The DevTools node id of the last element that matches ``selector``."""
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    matches = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": selector})["nodeIds"]
    assert matches, f"nothing matches {selector}"
    return matches[-1]


SKIPPED_FOR_READERS = {
    "a display formula far down": "article.md-typeset > .arithmatex math",
    "the last tabbed code": "article.md-typeset > .tabbed-set .tabbed-block:first-child pre code",
    "an inline formula's MathML copy": "article.md-typeset > p .katex-mathml math",
}


def test_skipped_blocks_stay_readable_by_screen_readers(browser, server: str) -> None:  # noqa: F811
    """A block whose layout is skipped is still in the accessibility tree while a screen reader
    runs (Chromium's full accessibility mode), so skipping costs a screen-reader user nothing."""
    reader = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_FLAGS, "--force-renderer-accessibility"]
    )
    try:
        page = reader.new_page(viewport={"width": 412, "height": 823})
        page.goto(server + "/zh/architectures/diffusion/")
        cdp = page.context.new_cdp_session(page)
        for what, selector in SKIPPED_FOR_READERS.items():
            rendered = page.evaluate(
                "s => [...document.querySelectorAll(s)].pop().checkVisibility({contentVisibilityAuto: true})",
                selector,
            )
            assert not rendered, f"{what} should have its layout skipped at start-up"
            node = cdp.send(
                "Accessibility.getPartialAXTree",
                {"nodeId": last_node(cdp, selector), "fetchRelatives": False},
            )
            exposed = node["nodes"][0]
            assert not exposed["ignored"], (
                f"{what} is hidden from screen readers: {exposed.get('ignoredReasons')}"
            )
    finally:
        reader.close()


def test_tabs_below_the_fold_switch(watched: Watched) -> None:  # noqa: F811
    """Tabbed code far down the page switches tabs like any other once the reader gets there."""
    watched.open("/zh/architectures/diffusion/")
    tabs = watched.page.locator("article.md-typeset > .tabbed-set").last
    tabs.scroll_into_view_if_needed()
    tabs.locator(".tabbed-labels > label").nth(1).click()
    second, first = tabs.locator(".tabbed-block").nth(1), tabs.locator(".tabbed-block").nth(0)
    second.wait_for(state="visible")
    assert first.is_hidden(), "the first tab should be hidden once the second is chosen"
    assert second.bounding_box()["height"] > 50, "the second tab's code should be laid out"


SCROLL_THROUGH = """async () => {
  for (let y = 0; y <= document.documentElement.scrollHeight; y += innerHeight / 2) {
    scrollTo(0, y);
    await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  }
}"""


MATHS_PAGES = ["/optimization/gradient-descent/", "/zh/foundations/probability-statistics/"]


@pytest.mark.parametrize("path", MATHS_PAGES)
def test_every_katex_font_a_page_uses_is_preloaded(watched: Watched, path: str) -> None:  # noqa: F811
    """A KaTeX font found only during layout arrives later and restyles every element set in it;
    the maths hook preloads the fonts the page's formulas use. Read to the end, the page has
    fetched no font that its head did not ask for."""
    watched.open(path)
    page = watched.page
    page.evaluate(SCROLL_THROUGH)
    page.wait_for_timeout(300)
    fetched = page.evaluate(
        """performance.getEntriesByType('resource').filter(e => e.name.endsWith('.woff2'))
             .map(e => [e.name.split('/').pop(), e.initiatorType])"""
    )
    used = page.evaluate("[...document.fonts].filter(f => f.status === 'loaded').length")
    assert used >= 3, f"{path}: the formulas should use several KaTeX fonts, {used} loaded"
    late = [name for name, initiator in fetched if initiator != "link"]
    assert not late, f"{path}: fonts found only by the stylesheet, not preloaded: {late}"


def wait_for_material_to_mount(page) -> None:
    """Wait until Material has mounted its components: it adds the scroll buttons of tabbed code
    (the pages these tests open have tabs) then, and only after its script has loaded."""
    page.locator(".tabbed-control").first.wait_for(state="attached")


TABLE_LOOK = [
    "display", "width", "font-size", "background-color", "border-top", "border-left", "border-radius",
    "overflow-x", "margin-top",
]  # fmt: skip
CELL_LOOK = [
    "padding-top", "padding-left", "font-weight", "vertical-align", "text-align", "border-top", "min-width",
]  # fmt: skip


def test_tables_arrive_in_materials_wrapper_and_stay_put(watched: Watched) -> None:  # noqa: F811
    """The build wraps each table (hooks/startup.py), so Material finds no class-less table to take
    out of the page and put back at start-up: no table element is removed after the page starts,
    and each table sits in exactly one scroll wrapper."""
    page = watched.page
    page.add_init_script(
        """new MutationObserver(records => { for (const r of records) for (const n of r.removedNodes)
             if (n.nodeName === 'TABLE' || (n.querySelector && n.querySelector('table')))
               (window.__tablesMoved ||= []).push(n.nodeName) })
           .observe(document, {childList: true, subtree: true})"""
    )
    watched.open("/zh/neural-networks/activations/")
    wait_for_material_to_mount(page)
    assert page.evaluate("window.__tablesMoved || []") == []
    chains = page.evaluate(
        """[...document.querySelectorAll('article table')].map(t =>
             [t, t.parentElement, t.parentElement.parentElement, t.parentElement.parentElement.parentElement]
               .map(e => e.className).join(' < '))"""
    )
    assert chains, "the page should have a table"
    expected = "wrapped < md-typeset__table < md-typeset__scrollwrap < md-content__inner md-typeset"
    assert set(chains) == {expected}, chains


@pytest.mark.parametrize("scheme", ["default", "slate"])
def test_wrapped_tables_look_like_materials_tables(watched: Watched, scheme: str) -> None:  # noqa: F811
    """A wrapped table and the same table without its class, which Material's own table rules
    style, have the same computed look, cell by cell (a Material upgrade that changes its
    table style fails here rather than leaving two looks)."""
    page = watched.page
    watched.open("/foundations/probability-statistics/")
    wait_for_material_to_mount(page)  # it wraps no table after this, so the copy below stays as it is
    assert toggle_palette_to(page, scheme) == scheme
    looks = page.evaluate(
        """([tableLook, cellLook]) => {
             const wrapper = document.querySelector('article .md-typeset__scrollwrap');
             const copy = wrapper.cloneNode(true);
             copy.querySelector('table').removeAttribute('class');
             wrapper.after(copy);
             const look = (el, props) => props.map(p => p + ': ' + getComputedStyle(el)[p]);
             const all = w => [look(w.querySelector('table'), tableLook),
                               ...[...w.querySelectorAll('th, td')].map(c => look(c, cellLook))];
             return [all(wrapper), all(copy)] }""",
        [TABLE_LOOK, CELL_LOOK],
    )
    wrapped, material = looks
    assert len(wrapped) > 2
    assert wrapped == material


def test_material_starts_without_changing_the_root_once_the_body_exists(watched: Watched) -> None:  # noqa: F811
    """Any class or attribute change on <html> restyles every element, so the changes Material makes
    at start-up ("js", the focus-visible polyfill's class and attribute) are made in <head>, before
    <body> exists; Material's script loads after the first frame, and Material still starts."""
    page = watched.page
    page.add_init_script(
        """new MutationObserver(records => { for (const r of records)
             if (r.target === document.documentElement && document.body
                 && r.oldValue !== r.target.getAttribute(r.attributeName))
               (window.__rootChanges ||= []).push(r.attributeName + ': ' + r.oldValue) })
           .observe(document, {attributes: true, attributeOldValue: true, subtree: true});
           (function tick() { requestAnimationFrame(() => {
             if (document.body && document.body.children.length) window.__firstFrame = performance.now();
             else tick() }) })()"""
    )
    watched.open("/optimization/gradient-descent/")
    page.locator("[data-md-component=search-query]").wait_for(state="attached")
    assert page.evaluate("window.__rootChanges || []") == []
    assert page.evaluate("document.documentElement.className.split(' ').sort()") == ["js", "js-focus-visible"]
    bundle_requested, first_frame = page.evaluate(
        """[performance.getEntriesByType('resource').find(e => e.name.includes('/bundle.')).startTime,
            window.__firstFrame]"""
    )
    assert bundle_requested >= first_frame, "Material's script should load after the first frame with content"
    wait_for_material_to_mount(page)


def test_progress_widget_is_filled_in_before_domcontentloaded(watched: Watched) -> None:  # noqa: F811
    """progress.js fills in the page's progress buttons as soon as it runs (it comes after them),
    not in a DOMContentLoaded listener, whose task also holds the page's first style and layout."""
    page = watched.page
    page.add_init_script(
        """document.addEventListener('DOMContentLoaded', () => {
             window.__buttons ??= document.querySelectorAll('.progress-widget button').length })"""
    )
    watched.open("/zh/llm/fine-tuning/")
    assert page.evaluate("window.__buttons") == 3


def test_only_class_less_tables_are_wrapped_and_keep_their_attributes() -> None:
    """Tables with a class (code line numbers, notebook data frames) are not Material's to wrap,
    so the build leaves them alone; a wrapped table keeps its own attributes and rows."""
    wrapped_tables = load_hook("startup").wrapped_tables
    html = '<table style="x"><tr><td>1</td></tr></table><p>a</p><table class="highlighttable"></table>'
    assert wrapped_tables(html) == (
        '<div class="md-typeset__scrollwrap"><div class="md-typeset__table">'
        '<table class="wrapped" style="x"><tr><td>1</td></tr></table></div></div>'
        '<p>a</p><table class="highlighttable"></table>'
    )
