"""A study plan computed from docs/roadmap.yml: the stages in order, with reading time.

Run ``python -m snippets.summary`` to print it.
"""

from __future__ import annotations

import argparse

# --8<-- [start:plan]
from pathlib import Path

import yaml

ROADMAP = Path("docs") / "roadmap.yml"  # relative to the repository root, where you run the code


def study_plan(language: str = "en", data: dict | None = None) -> list[tuple[str, list[str], float]]:
    """(stage title, page titles, hours to read and run) for each stage, in roadmap order.
    ``data`` is the parsed roadmap; by default it is read from ROADMAP."""
    if data is None:
        data = yaml.safe_load(ROADMAP.read_text(encoding="utf-8"))
    plan: dict[str, tuple[list[str], float]] = {
        stage["title"][language]: ([], 0.0) for stage in data["stages"]
    }
    stage_titles = {stage["id"]: stage["title"][language] for stage in data["stages"]}
    for section in data["sections"]:
        title = stage_titles[section["stage"]]
        pages, hours = plan[title]
        for page in section["pages"]:
            pages.append(page["title"][language])
            hours += (page["read"] * 60 + page["run"]) / 3600
        plan[title] = (pages, hours)
    return [(title, pages, hours) for title, (pages, hours) in plan.items()]


# --8<-- [end:plan]


LINES = {
    "en": (
        "{title}: {pages} pages, {hours:.1f} h",
        "total: {hours:.1f} h of reading and running, before exercises",
    ),
    "zh": ("{title}：{pages} 页，{hours:.1f} 小时", "合计：{hours:.1f} 小时的阅读与运行时间，不含练习"),
}


def report(args: argparse.Namespace) -> None:
    from tools import manifest  # the project's one loader of docs/roadmap.yml

    stage_line, total_line = LINES[args.language]
    total = 0.0
    for title, pages, hours in study_plan(args.language, manifest.data()):
        total += hours
        print(stage_line.format(title=title, pages=len(pages), hours=hours))
    print(total_line.format(hours=total))


def main(argv: list[str] | None = None) -> int:
    from snippets.common import make_parser, run_cli

    parser = make_parser("python -m snippets.summary", "Print the study plan from docs/roadmap.yml.")
    parser.add_argument("--language", choices=["en", "zh"], default="en", help="titles in this language")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
