"""``make audit`` (tools/lighthouse.py): every page of both languages, the targets of issue 14."""

from __future__ import annotations

from pathlib import Path

from tools import lighthouse
from tools.lighthouse import Result


def result(path: str, performance: int, **others: int) -> Result:
    scores = {"performance": performance, "accessibility": 100, "best-practices": 100, "seo": 100}
    scores.update({name.replace("_", "-"): value for name, value in others.items()})
    return Result(path=path, scores=scores, tbt=0.0, lcp=0.0, dom=0)


def test_every_built_page_is_audited_home_pages_first(tmp_path: Path) -> None:
    for page in ["index.html", "zh/index.html", "a/b/index.html", "zh/a/b/index.html", "assets/x/index.html"]:
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / page).write_text("<html></html>")
    (tmp_path / "404.html").write_text("")
    assert lighthouse.site_pages(tmp_path) == ["/", "/zh/", "/a/b/", "/zh/a/b/"]


def test_targets_per_page_and_median() -> None:
    good = [result(f"/{n}/", 96) for n in range(5)]
    assert lighthouse.misses(good) == []
    assert lighthouse.misses([*good[:4], result("/slow/", 89)]) == ["/slow/: performance 89 < 90"]
    assert lighthouse.misses([result(f"/{n}/", 92) for n in range(3)]) == ["median performance 92 < 95"]
    assert lighthouse.misses([*good[:4], result("/a/", 99, seo=92)]) == ["/a/: seo 92 < 100"]


def test_the_median_of_three_runs_is_kept_and_the_table_is_sorted() -> None:
    kept = lighthouse.median_run([result("/p/", 70), result("/p/", 90), result("/p/", 80)])
    assert kept.scores["performance"] == 80 and kept.runs == 3
    rows = lighthouse.table([result("/b/", 99), result("/a/", 91)]).splitlines()[2:]
    assert rows[0].startswith("| /a/ | 91 ") and rows[1].startswith("| /b/ | 99 ")
