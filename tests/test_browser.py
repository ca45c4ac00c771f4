"""The built site in a real browser (headless Chromium): language switch, search, maths,
tabs, figures, progress that survives a reload, no console errors, no third-party requests.

Skipped, with a message, where Chromium is not installed (`make test` installs it on
Debian-like systems).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tools.local_server import serve

CHROMIUM = os.environ.get("CHROME_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.site,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Chromium not found: install it (apt-get install chromium) or set CHROME_PATH",
    ),
]
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def server(build: tuple[Path, str, float]) -> Iterator[str]:
    site, _, _ = build
    with serve(site) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


class Watched:
    """A browser page that records console errors and every host it requests."""

    def __init__(self, browser, base: str) -> None:
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.base = base
        self.errors: list[str] = []
        self.hosts: set[str] = set()
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", lambda request: self.hosts.add(urlparse(request.url).netloc))
        self.page.on(
            "response",
            lambda response: (
                response.status >= 400 and self.errors.append(f"{response.status} {response.url}")
            ),
        )

    def open(self, path: str) -> None:
        self.page.goto(self.base + path, wait_until="networkidle")

    def check_clean(self) -> None:
        local = urlparse(self.base).netloc
        assert self.hosts <= {local, ""}, f"requests to other hosts: {sorted(self.hosts - {local, ''})}"
        assert not self.errors, f"console errors: {self.errors}"
        self.context.close()


@pytest.fixture
def watched(browser, server: str) -> Iterator[Watched]:
    page = Watched(browser, server)
    yield page
    page.check_clean()


@pytest.mark.parametrize(("path", "lang"), [("/", "en"), ("/zh/", "zh")])
def test_home_pages_and_map(watched: Watched, path: str, lang: str) -> None:
    watched.open(path)
    assert watched.page.locator("html").get_attribute("lang") == lang
    links = watched.page.locator(".roadmap-map a")
    if watched.page.locator(".roadmap-map").count():
        assert links.count() >= 2
        first = links.first.get_attribute("href")
        watched.open(path + first.lstrip("./") if not first.startswith("/") else first)
        assert watched.page.locator("h1").count() == 1


def test_maths_tabs_and_figure_render(watched: Watched) -> None:
    watched.open("/neural-networks/perceptron/")
    page = watched.page
    page.locator(".arithmatex .katex").first.wait_for(state="attached")
    assert page.locator(".arithmatex .katex").count() > 5, "KaTeX did not render the formulas"
    page.locator(".tabbed-labels label", has_text="PyTorch").first.click()
    assert page.locator(".tabbed-block:visible code", has_text="def train_neuron").count() == 1
    figure = page.locator('img[src*="perceptron-boundaries"]')
    assert figure.evaluate("img => img.complete && img.naturalWidth > 0")
    assert figure.get_attribute("alt")


def test_language_switch_keeps_the_page(watched: Watched) -> None:
    watched.open("/neural-networks/perceptron/")
    href = watched.page.locator('a.md-select__link[hreflang="zh"]').get_attribute("href")
    watched.page.goto(
        watched.page.url.rsplit("/neural-networks", 1)[0] + "/neural-networks/perceptron/" + href,
        wait_until="networkidle",
    )
    assert watched.page.url.endswith("/zh/neural-networks/perceptron/")
    assert watched.page.locator("h1").inner_text().strip().removesuffix("¶") == "感知机"
    back = watched.page.locator('a.md-select__link[hreflang="en"]').get_attribute("href")
    watched.page.goto(watched.page.url + back, wait_until="networkidle")
    assert watched.page.url.endswith("/neural-networks/perceptron/") and "/zh/" not in watched.page.url


@pytest.mark.parametrize(
    ("path", "query", "target"),
    [
        ("/zh/", "感知机", "zh/neural-networks/perceptron/"),
        ("/", "perceptron", "neural-networks/perceptron/"),
    ],
)
def test_search_finds_the_page(watched: Watched, path: str, query: str, target: str) -> None:
    watched.open(path)
    page = watched.page
    search = page.locator("input.md-search__input")
    search.click()
    search.press_sequentially(query)
    search.press("End")  # a real key-up: Material reads the query on keyboard events, as with an IME
    result = page.locator(f'.md-search-result__item a[href*="{target}"]').first
    result.wait_for(state="attached")
    result.click()
    page.wait_for_load_state("networkidle")
    assert page.url.split("?")[0].split("#")[0].endswith("/" + target)


def test_search_index_loads_only_when_the_reader_searches(watched: Watched) -> None:
    """Material fetches and parses the whole index on every page; ours waits for the search box."""
    requested: list[str] = []
    watched.page.on("request", lambda request: requested.append(request.url))
    watched.open("/architectures/cnn/")
    watched.page.wait_for_timeout(500)
    assert not [url for url in requested if "search_index.json" in url], "the index loaded before any search"
    search = watched.page.locator("input.md-search__input")
    search.click()
    search.press_sequentially("dropout")
    search.press("End")
    watched.page.locator('.md-search-result__item a[href*="regularization/dropout"]').first.wait_for(
        state="attached"
    )
    assert [url for url in requested if url.endswith("/search/search_index.json")]


def test_progress_survives_reload_and_shows_on_the_map(watched: Watched) -> None:
    watched.open("/neural-networks/perceptron/")
    page = watched.page
    done = page.locator(".progress-widget button[data-state=done]")
    done.click()
    assert done.get_attribute("aria-pressed") == "true"
    page.reload(wait_until="networkidle")
    assert page.locator(".progress-widget button[data-state=done]").get_attribute("aria-pressed") == "true"
    watched.open("/")
    if page.locator(".roadmap-map").count():
        node = page.locator('.roadmap-map__node[data-page="neural-networks/perceptron"]')
        assert "progress--done" in (node.get_attribute("class") or "")
        assert node.locator(".roadmap-map__status").inner_text().strip() == "Done"


# The map at a desktop and a phone width: screenshots (both languages) go to screenshots/ (ignored).
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
MAP_GEOMETRY = """() => {
  const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const map = document.querySelector(".roadmap-map");
  const nodes = [...map.querySelectorAll(".roadmap-map__node[data-page]")].map((node) => ({
    page: node.dataset.page, box: box(node), tag: node.tagName, name: node.textContent.trim(),
    requires: (node.dataset.requires || "").split(" ").filter(Boolean),
  }));
  const edges = [...map.querySelectorAll(".roadmap-map__edge")].map((edge) => {
    const length = edge.getTotalLength(), matrix = edge.getScreenCTM(), points = [];
    for (let s = 0; s <= length; s += 2) {
      const p = edge.getPointAtLength(s).matrixTransform(matrix);
      points.push([p.x, p.y]);
    }
    return { from: edge.dataset.from, to: edge.dataset.to, points };
  });
  return {
    map: box(map), column: box(map.parentElement), viewport: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth, mapScroll: [map.scrollWidth, map.clientWidth],
    nodes, edges,
  };
}"""


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize(("path", "lang"), [("/", "en"), ("/zh/", "zh")])
def test_map_fits_the_screen_and_edges_avoid_the_boxes(
    browser, server: str, path: str, lang: str, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        page.goto(server + path, wait_until="networkidle")
        page.locator(".roadmap-map__edge").first.wait_for(state="attached")
        geometry = page.evaluate(MAP_GEOMETRY)
        SCREENSHOTS.mkdir(exist_ok=True)
        page.add_style_tag(content=".md-header { visibility: hidden; }")  # not over the map in the shot
        page.locator(".roadmap-map").screenshot(path=SCREENSHOTS / f"map-{lang}-{width}.png")
    finally:
        context.close()
    viewport, (left, _, right, _) = geometry["viewport"], geometry["map"]
    assert geometry["scrollWidth"] <= viewport, "the page scrolls sideways"
    assert geometry["mapScroll"][0] <= geometry["mapScroll"][1], "the map scrolls sideways"
    assert right <= geometry["column"][2] + 0.5 and left >= geometry["column"][0] - 0.5
    outside = [n["page"] for n in geometry["nodes"] if n["box"][0] < 0 or n["box"][2] > viewport]
    assert not outside, f"map nodes outside the {width} px viewport: {outside}"
    nodes = {n["page"]: n for n in geometry["nodes"]}
    for node in nodes.values():
        assert node["tag"] == "A" and node["name"], f"{node['page']} is not a named link"
    expected = {(required, n["page"]) for n in nodes.values() for required in n["requires"]}
    drawn = {(e["from"], e["to"]) for e in geometry["edges"]}
    assert drawn == expected, "edges are exactly the direct prerequisites"
    crossings = [
        (edge["from"], edge["to"], page_name)
        for edge in geometry["edges"]
        for page_name, node in nodes.items()
        if any(
            node["box"][0] + 1 < x < node["box"][2] - 1 and node["box"][1] + 1 < y < node["box"][3] - 1
            for x, y in edge["points"]
        )
    ]
    assert not crossings, f"edges crossing boxes at {width} px: {crossings[:5]}"


def test_map_is_keyboard_reachable_and_shows_prerequisites(watched: Watched) -> None:
    watched.open("/")
    page = watched.page
    page.locator(".roadmap-map__edge").first.wait_for(state="attached")
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('roadmap-map__node')"):
            break
    else:
        pytest.fail("Tab never reached a box of the map")
    page.locator('.roadmap-map__node[data-page="neural-networks/mlp"]').focus()
    on = page.locator(".roadmap-map__edge--on[data-to='neural-networks/mlp']")
    assert on.count() == 2, "focusing a box brings out the edges from its prerequisites"
    described = page.locator("#roadmap-needs-neural-networks-mlp").inner_text()
    assert "Perceptron" in described and "Calculus" in described


FIRST_RESULT_IS = "t => document.querySelector('.md-search-result__item > a')?.pathname === t"


@pytest.mark.parametrize(
    ("path", "query", "target"),
    [
        ("/zh/", "反向传播", "/zh/neural-networks/mlp/"),
        ("/zh/", "学习率", "/zh/optimization/learning-rate-schedules/"),
        ("/", "backpropagation", "/neural-networks/mlp/"),
        ("/", "attention", "/architectures/transformer/"),
    ],
)
def test_search_box_puts_the_teaching_page_first(
    watched: Watched, path: str, query: str, target: str
) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    watched.open(path)
    page = watched.page
    search = page.locator("input.md-search__input")
    search.click()
    search.press_sequentially(query)
    search.press("End")
    page.locator(".md-search-result__item a").first.wait_for(state="attached")
    try:  # results of the partial queries typed on the way come first: wait for the whole query's
        page.wait_for_function(FIRST_RESULT_IS, arg=target, timeout=10_000)
    except PlaywrightTimeoutError:
        pass  # the assertion below says what came first
    hrefs = page.locator(".md-search-result__item > a").evaluate_all("links => links.map(a => a.pathname)")
    assert hrefs[0] == target, f"{query!r}: first result {hrefs[0]}, expected {target}"
    assert all(href.startswith("/zh/") == path.startswith("/zh/") for href in hrefs), hrefs
