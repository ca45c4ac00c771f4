"""Lighthouse on every page of the built site, both languages (``make audit``).

Usage: python -m tools.lighthouse SITE_DIR LIGHTHOUSE_BIN [--pages /a/,/zh/b/] [--out FILE]

Serves SITE_DIR on a local port and runs Lighthouse 12 (mobile defaults: simulated slow 4G and a
4x slower CPU) with the local Chromium; nothing else is contacted. Every page is audited once,
then the five with the lowest performance score twice more, and the run with the median score
of the three is kept. The table is sorted by performance, worst first.

The performance score scales with the host's speed and load (the same build scored 34-47 on one
machine and 74-77 on another): the home pages' scores of the same run are printed as the
reference, together with the machine's load average. Compare pages within one run.

Fails (exit 1) when a page scores below 90 for performance, when the median page is below 95,
or when any page misses 100 for accessibility, best practices or SEO.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tools.local_server import serve

CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
PAGE_TARGET = {"performance": 90, "accessibility": 100, "best-practices": 100, "seo": 100}
MEDIAN_PERFORMANCE = 95
SLOWEST = 5  # audited three times: the median run is kept
RUNS_FOR_SLOWEST = 3
HOME_PAGES = ("/", "/zh/")
CHROME_FLAGS = " ".join(
    [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
)


@dataclass
class Result:
    path: str
    scores: dict[str, int]
    tbt: float  # total blocking time, ms
    lcp: float  # largest contentful paint, ms
    dom: int  # DOM elements
    failed: list[str] = field(default_factory=list)
    runs: int = 1


def site_pages(site: Path) -> list[str]:
    """URL path of every page in the built site (both languages), home pages first."""
    pages = []
    for html in site.rglob("index.html"):
        parts = html.relative_to(site).parts
        if parts[0] in {"assets", "search"}:
            continue
        pages.append("/" + "/".join(parts[:-1]) + ("/" if len(parts) > 1 else ""))
    return sorted(pages, key=lambda p: (p not in HOME_PAGES, p))


def audit(url: str, lighthouse: str, chrome: str) -> Result:
    result = subprocess.run(
        [
            lighthouse,
            url,
            "--quiet",
            f"--chrome-flags={CHROME_FLAGS}",
            "--output=json",
            "--output-path=stdout",
            "--disable-full-page-screenshot",
            f"--only-categories={','.join(CATEGORIES)}",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "CHROME_PATH": chrome},
        timeout=300,
    )
    if result.returncode != 0:
        raise SystemExit(f"lighthouse failed on {url}:\n{result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    audits = report["audits"]
    return Result(
        path=url,
        scores={name: round(100 * (report["categories"][name]["score"] or 0)) for name in CATEGORIES},
        tbt=audits["total-blocking-time"]["numericValue"],
        lcp=audits["largest-contentful-paint"]["numericValue"],
        dom=int(audits["dom-size"].get("numericValue") or 0),
        failed=failed_audits(report),
    )


def failed_audits(report: dict) -> list[str]:
    """Titles of the weighted audits that did not get full marks, so a miss says what to fix."""
    failed = []
    for name in CATEGORIES:
        for ref in report["categories"][name]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref.get("weight", 0) > 0 and audit.get("score") is not None and audit["score"] < 1:
                failed.append(f"{name}: {audit['title']} ({audit.get('displayValue', audit['score'])})")
    return failed


def median_run(runs: list[Result]) -> Result:
    ordered = sorted(runs, key=lambda r: r.scores["performance"])
    kept = ordered[len(ordered) // 2]
    kept.runs = len(runs)
    return kept


def misses(results: list[Result]) -> list[str]:
    """Every target the results miss, as sentences."""
    problems = []
    for result in results:
        for name, target in PAGE_TARGET.items():
            if result.scores[name] < target:
                problems.append(f"{result.path}: {name} {result.scores[name]} < {target}")
    median = statistics.median(r.scores["performance"] for r in results) if results else 0
    if median < MEDIAN_PERFORMANCE:
        problems.append(f"median performance {median:g} < {MEDIAN_PERFORMANCE}")
    return problems


def table(results: list[Result]) -> str:
    """A Markdown table, worst performance first."""
    lines = [
        "| page | performance | accessibility | best practices | SEO | TBT ms | LCP s | DOM | runs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(results, key=lambda r: (r.scores["performance"], r.path)):
        s = r.scores
        lines.append(
            f"| {r.path} | {s['performance']} | {s['accessibility']} | {s['best-practices']} | {s['seo']} "
            f"| {r.tbt:.0f} | {r.lcp / 1000:.1f} | {r.dom} | {r.runs} |"
        )
    return "\n".join(lines)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


def run(base: str, pages: list[str], lighthouse: str, chrome: str) -> list[Result]:
    results = {}
    for number, path in enumerate(pages, 1):
        results[path] = audit(base + path, lighthouse, chrome)
        results[path].path = path
        print(
            f"[{number}/{len(pages)}] {path}: {results[path].scores['performance']}",
            file=sys.stderr,
            flush=True,
        )
    slowest = sorted(results.values(), key=lambda r: r.scores["performance"])[:SLOWEST]
    for first in slowest:
        again = [audit(base + first.path, lighthouse, chrome) for _ in range(RUNS_FOR_SLOWEST - 1)]
        for result in again:
            result.path = first.path
        results[first.path] = median_run([first, *again])
    return list(results.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("lighthouse")
    parser.add_argument("--pages", help="comma-separated URL paths (default: every page)")
    parser.add_argument("--out", type=Path, help="also write the report (Markdown) here")
    args = parser.parse_args(argv)
    chrome = os.environ.get("CHROME_PATH") or shutil.which("chromium")
    if not chrome:
        raise SystemExit("Chromium not found: install it (apt-get install chromium) or set CHROME_PATH")
    pages = args.pages.split(",") if args.pages else site_pages(args.site)
    started = load()
    with serve(args.site) as base:
        results = run(base, pages, args.lighthouse, chrome)
    by_path = {r.path: r for r in results}
    reference = ", ".join(
        f"{home} {by_path[home].scores['performance']}" for home in HOME_PAGES if home in by_path
    )
    median = statistics.median(r.scores["performance"] for r in results)
    report = [
        f"Lighthouse 12 (mobile), {len(results)} pages; the {SLOWEST} lowest run {RUNS_FOR_SLOWEST} times "
        "(median run kept).",
        f"Reference, same run: home pages {reference or 'not audited'}; median page {median:g}.",
        f"Machine: {started} at the start, {load()} at the end.",
        "",
        table(results),
    ]
    problems = misses(results)
    details = [
        f"- {r.path}: {line}" for r in results for line in r.failed if not line.startswith("performance")
    ]
    if details:
        report += ["", "Accessibility, best-practices and SEO audits that missed:", *details]
    report += ["", "Targets: every page performance >= 90, median >= 95, the other three 100."]
    report += [f"MISSED: {p}" for p in problems] or ["All targets met."]
    text = "\n".join(report)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
