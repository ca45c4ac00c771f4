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
