"""Lighthouse scores of the built site (``make audit``): home and heaviest page, both languages.

Usage: python -m tools.lighthouse SITE_DIR LIGHTHOUSE_BIN
Serves SITE_DIR on a local port and runs Lighthouse with the local Chromium; nothing else
is contacted. Prints one line per page with the four category scores. The performance score
varies from run to run on a shared machine, so each page is audited LIGHTHOUSE_RUNS times
(default 3) and the run with the median performance score is reported, as Lighthouse's own
documentation recommends.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tools.local_server import serve

RUNS = int(os.environ.get("LIGHTHOUSE_RUNS", "3"))
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGETS = {"performance": 95, "accessibility": 100, "best-practices": 100, "seo": 100}
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


def heaviest_page(site: Path, language: str) -> str:
    """The page whose HTML plus images is largest, as a URL path."""
    root = site / "zh" if language == "zh" else site
    best, best_size = "/", -1
    for html in root.rglob("index.html"):
        if language == "en" and html.relative_to(site).parts[0] == "zh":
            continue
        size = html.stat().st_size
        if size > best_size:
            best, best_size = "/" + str(html.parent.relative_to(site)).replace(".", "").strip("/") + "/", size
    return best.replace("//", "/")


def audit(url: str, lighthouse: str, chrome: str) -> tuple[dict[str, int], list[str]]:
    result = subprocess.run(
        [
            lighthouse,
            url,
            "--quiet",
            f"--chrome-flags={CHROME_FLAGS}",
            "--output=json",
            "--output-path=stdout",
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
    scores = {name: round(100 * (report["categories"][name]["score"] or 0)) for name in CATEGORIES}
    return scores, failed_audits(report)


def failed_audits(report: dict) -> list[str]:
    """Titles of the weighted audits that did not get full marks, so a miss says what to fix."""
    failed = []
    for name in CATEGORIES:
        for ref in report["categories"][name]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref.get("weight", 0) > 0 and audit.get("score") is not None and audit["score"] < 1:
                failed.append(f"{name}: {audit['title']} ({audit.get('displayValue', audit['score'])})")
    return failed


def main() -> int:
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m tools.lighthouse SITE_DIR LIGHTHOUSE_BIN")
    site, lighthouse = Path(sys.argv[1]), sys.argv[2]
    chrome = os.environ.get("CHROME_PATH") or shutil.which("chromium")
    if not chrome:
        raise SystemExit("Chromium not found: install it (apt-get install chromium) or set CHROME_PATH")
    with serve(site) as base:
        report(base, site, lighthouse, chrome)
    return 0


def report(base: str, site: Path, lighthouse: str, chrome: str) -> None:
    pages = ["/", "/zh/", heaviest_page(site, "en"), heaviest_page(site, "zh")]
    print(f"{'page':45} " + " ".join(f"{name:>14}" for name in CATEGORIES))
    for path in dict.fromkeys(pages):
        runs = sorted(
            (audit(base + path, lighthouse, chrome) for _ in range(RUNS)), key=lambda r: r[0]["performance"]
        )
        scores, failed = runs[len(runs) // 2]
        marks = " ".join(f"{scores[n]:>12}{'  ' if scores[n] >= TARGETS[n] else ' !'}" for n in CATEGORIES)
        print(f"{path:45} {marks}")
        for line in failed:
            print(f"    {line}")
    print(f"median of {RUNS} runs per page; targets: performance >= 95, accessibility 100,")
    print("best-practices 100, seo 100 ('!' marks a miss)")


if __name__ == "__main__":
    raise SystemExit(main())
