"""The stages of the roadmap, computed from docs/roadmap.yml: hours per stage and prerequisite order.

Run ``python -m snippets.roadmap.stages --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:load]
from collections import defaultdict
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import numpy as np
import yaml

ROADMAP_FILE = Path("docs") / "roadmap.yml"  # relative to the repository root, where you run the code


def load_roadmap(path: Path = ROADMAP_FILE) -> dict:
    """The data file that also drives the site's navigation."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def pages_in_order(roadmap: dict) -> list[dict]:
    """Every page entry, each with its section's stage added, in the order the site lists them."""
    return [
        {**page, "stage": section["stage"]} for section in roadmap["sections"] for page in section["pages"]
    ]


def requirements(roadmap: dict) -> dict[str, list[str]]:
    """page path -> the paths of the pages it requires."""
    return {page["path"]: list(page["requires"]) for page in pages_in_order(roadmap)}


# --8<-- [end:load]

from snippets.common import make_parser, positive_float, run_cli  # noqa: E402
from tools import manifest  # noqa: E402  (the project's one loader of docs/roadmap.yml)


# --8<-- [start:hours]
def hours_per_stage(roadmap: dict) -> dict[str, dict[str, float]]:
    """For each stage, in roadmap order: number of pages, reading hours and running minutes."""
    totals: dict[str, dict[str, float]] = {
        stage["id"]: {"pages": 0, "read_hours": 0.0, "run_minutes": 0.0} for stage in roadmap["stages"]
    }
    for page in pages_in_order(roadmap):
        totals[page["stage"]]["pages"] += 1
        totals[page["stage"]]["read_hours"] += page["read"] / 60
        totals[page["stage"]]["run_minutes"] += page["run"] / 60
    return totals


# --8<-- [end:hours]


# --8<-- [start:scratch]
def backward_requirements(roadmap: dict) -> list[tuple[str, str]]:
    """Pairs (page, required page) where the required page belongs to a LATER stage."""
    rank = {stage["id"]: number for number, stage in enumerate(roadmap["stages"])}
    stage_of = {page["path"]: page["stage"] for page in pages_in_order(roadmap)}
    return [
        (page, required)
        for page, required_pages in requirements(roadmap).items()
        for required in required_pages
        if rank[stage_of[required]] > rank[stage_of[page]]
    ]


def topological_order(requires: dict[str, list[str]]) -> list[str]:
    """Kahn's algorithm: repeatedly take a page whose prerequisites are all taken."""
    waiting = {page: len(set(required)) for page, required in requires.items()}
    unlocks: dict[str, list[str]] = defaultdict(list)
    for page, required_pages in requires.items():
        for required in set(required_pages):
            unlocks[required].append(page)
            waiting.setdefault(required, 0)
    ready = [page for page, count in waiting.items() if count == 0]
    order = []
    while ready:
        page = ready.pop(0)
        order.append(page)
        for later in unlocks[page]:
            waiting[later] -= 1
            if waiting[later] == 0:
                ready.append(later)
    if len(order) < len(waiting):
        raise ValueError("the prerequisites contain a cycle")
    return order


def respects_prerequisites(order: list[str], requires: dict[str, list[str]]) -> bool:
    """True when every page comes after all the pages it requires."""
    position = {page: number for number, page in enumerate(order)}
    return all(
        position[required] < position[page]
        for page, required_pages in requires.items()
        for required in required_pages
    )


# --8<-- [end:scratch]


# --8<-- [start:graphlib]
def graphlib_order(requires: dict[str, list[str]]) -> list[str]:
    """The same job done by the standard library; raises graphlib.CycleError on a cycle."""
    return list(TopologicalSorter(requires).static_order())


# --8<-- [end:graphlib]


# --8<-- [start:solution-reach]
def prerequisite_closure(page: str, requires: dict[str, list[str]]) -> set[str]:
    """The page and everything it needs, directly or indirectly."""
    needed, stack = set(), [page]
    while stack:
        current = stack.pop()
        if current not in needed:
            needed.add(current)
            stack.extend(requires.get(current, []))
    return needed


def minutes_to_reach(page: str, roadmap: dict) -> int:
    """Reading minutes of a page plus all of its direct and indirect prerequisites."""
    minutes = {entry["path"]: entry["read"] for entry in pages_in_order(roadmap)}
    return sum(minutes[needed] for needed in prerequisite_closure(page, requirements(roadmap)))


# --8<-- [end:solution-reach]


# --8<-- [start:solution-stages]
def stage_dependencies(roadmap: dict) -> dict[str, list[str]]:
    """For each stage, the other stages whose pages its pages require (in roadmap order)."""
    stage_of = {page["path"]: page["stage"] for page in pages_in_order(roadmap)}
    needed: dict[str, set[str]] = {stage["id"]: set() for stage in roadmap["stages"]}
    for page, required_pages in requirements(roadmap).items():
        needed[stage_of[page]].update(stage_of[required] for required in required_pages)
    order = [stage["id"] for stage in roadmap["stages"]]
    return {stage: [s for s in order if s in needed[stage] and s != stage] for stage in order}


# --8<-- [end:solution-stages]


def random_requirements(n_pages: int, rng: np.random.Generator, cycle: bool) -> dict[str, list[str]]:
    """A random prerequisite graph: each page may require earlier pages; optionally close a cycle."""
    requires = {f"p{i}": [f"p{j}" for j in range(i) if rng.random() < 0.3] for i in range(n_pages)}
    if cycle:
        requires["p0"].append(f"p{n_pages - 1}")
        requires[f"p{n_pages - 1}"].append("p0")
    return requires


def plot_stage_hours():
    """Horizontal bars: reading hours per stage, read from docs/roadmap.yml."""
    import matplotlib.pyplot as plt

    roadmap = manifest.data()
    totals = hours_per_stage(roadmap)
    ids = list(totals)[::-1]  # first stage at the top
    hours = [totals[stage]["read_hours"] for stage in ids]
    fig, ax = plt.subplots(figsize=(7, 3.4))
    bars = ax.barh(ids, hours, color="#5c6bc0")
    for bar, stage in zip(bars, ids, strict=True):
        pages = int(totals[stage]["pages"])
        ax.text(
            bar.get_width() + 0.1,
            bar.get_y() + bar.get_height() / 2,
            f"{bar.get_width():.1f} h, {pages} pages",
            va="center",
            fontsize=9,
        )
    ax.set_xlabel("reading time (h)")
    ax.set_xlim(0, max(hours) * 1.35)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


FIGURES = {"stages-hours": plot_stage_hours}


def report(args: argparse.Namespace) -> None:
    """Print the hours per stage and check the prerequisite order."""
    roadmap = manifest.data()
    titles = {stage["id"]: stage["title"]["en"] for stage in roadmap["stages"]}
    depends = stage_dependencies(roadmap)
    print(f"{'stage':<27}{'pages':>6}{'read h':>7}{'run min':>8}{'study h':>8}{'weeks':>6}  needs")
    for stage, total in hours_per_stage(roadmap).items():
        study = total["read_hours"] * args.practice_factor
        print(
            f"{titles[stage]:<27}{int(total['pages']):>6}{total['read_hours']:>7.1f}"
            f"{total['run_minutes']:>8.1f}{study:>8.1f}{study / args.hours_per_week:>6.1f}  "
            + (", ".join(depends[stage]) or "-")
        )
    print(f"study h = read h x {args.practice_factor:g}; weeks at {args.hours_per_week:g} h per week")
    requires = requirements(roadmap)
    listed = [page["path"] for page in pages_in_order(roadmap)]
    print(f"pages requiring a later stage: {len(backward_requirements(roadmap))}")
    print(f"site order lists every page after its prerequisites: {respects_prerequisites(listed, requires)}")
    ours, theirs = topological_order(requires), graphlib_order(requires)
    print(
        f"our topological order is valid: {respects_prerequisites(ours, requires)}; "
        f"graphlib's is valid: {respects_prerequisites(theirs, requires)}"
    )
    try:
        graphlib_order({**requires, "roadmap/index": ["roadmap/stages"]})
    except CycleError:
        print("with roadmap/index -> roadmap/stages added, graphlib reports a cycle")
    longest = max(listed, key=lambda page: minutes_to_reach(page, roadmap))
    print(f"longest way in: {longest}, {minutes_to_reach(longest, roadmap)} min with its prerequisites")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.roadmap.stages",
        "Hours per stage and prerequisite checks, computed from docs/roadmap.yml.",
    )
    parser.add_argument(
        "--practice-factor",
        type=positive_float,
        default=3.0,
        help="study hours per hour of reading, for exercises and experiments (default: 3)",
    )
    parser.add_argument(
        "--hours-per-week", type=positive_float, default=5.0, help="study hours per week (default: 5)"
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
