"""A pytest plugin that prints the project's budgets at the end of ``make test`` (``-p tools.budgets``).

Claim tests are counted from the manifest: a passed test counts as a claim when its file is one of
the test files a page of ``docs/roadmap.yml`` owns.
"""

from __future__ import annotations

import time

import pytest

from tools.manifest import chinese_pages, english_pages, pages
from tools.paths import ROOT

SUITE_BUDGET_SECONDS = 600
BUILD_BUDGET_SECONDS = 30
_started = time.perf_counter()


def claim_files() -> dict[str, str]:
    """Test file (relative to the root) -> the page whose claims it checks."""
    return {test: page.path for page in pages() for test in page.tests}


def pytest_sessionstart(session: pytest.Session) -> None:
    global _started
    _started = time.perf_counter()
    (ROOT / ".build-seconds").unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter, exitstatus: int) -> None:
    passed = terminalreporter.stats.get("passed", [])
    page_scripts = [r for r in passed if r.nodeid.startswith("docs/")]
    owners = claim_files()
    claims = [r for r in passed if r.nodeid.split("::")[0] in owners]
    claim_pages = {owners[r.nodeid.split("::")[0]] for r in claims}
    build_file = ROOT / ".build-seconds"
    build = build_file.read_text().strip() if build_file.exists() else "not run"
    wall = time.perf_counter() - _started
    write = terminalreporter.write_line
    terminalreporter.section("budgets")
    write(f"suite wall time      {wall:6.1f} s   (budget {SUITE_BUDGET_SECONDS} s on 2 cores)")
    write(f"mkdocs build         {build:>6} s   (budget {BUILD_BUDGET_SECONDS} s)")
    write(f"pages                {len(english_pages())} English, {len(chinese_pages())} Chinese")
    write(f"page code executed   {len(page_scripts)} pages passed")
    write(f"claim tests passed   {len(claims)} (of {len(claim_pages)} pages, counted from docs/roadmap.yml)")
    write(f"slowest areas        {_by_page(terminalreporter)}  (test time, summed)")


def _by_page(terminalreporter) -> str:
    """The five most expensive areas (tests/<section>/test_<topic> and docs/<section>/<page>), summed."""
    totals: dict[str, float] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call" or not hasattr(report, "duration"):
                continue
            path = report.nodeid.split("::")[0]
            topic = path.removeprefix("tests/").removeprefix("docs/").removesuffix(".py").removesuffix(".md")
            topic = topic.removesuffix(".zh").replace("/test_", "/")
            totals[topic] = totals.get(topic, 0.0) + report.duration
    top = sorted(totals.items(), key=lambda item: -item[1])[:5]
    return ", ".join(f"{name} {seconds:.0f} s" for name, seconds in top)
