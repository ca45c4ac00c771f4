"""Claims of docs/roadmap/stages.md."""

from __future__ import annotations

import copy
import re
from graphlib import CycleError

import numpy as np
import pytest

from snippets.roadmap.stages import (
    backward_requirements,
    graphlib_order,
    hours_per_stage,
    minutes_to_reach,
    pages_in_order,
    prerequisite_closure,
    random_requirements,
    requirements,
    respects_prerequisites,
    stage_dependencies,
    topological_order,
)
from tests.helpers import DOCS, seeds
from tools import derived, manifest

ROADMAP = manifest.data()


def test_stage_hours_are_computed_from_the_data_file() -> None:
    totals = hours_per_stage(ROADMAP)
    assert list(totals) == [stage["id"] for stage in ROADMAP["stages"]]
    all_minutes = sum(page["read"] for page in pages_in_order(ROADMAP))
    assert sum(total["read_hours"] for total in totals.values()) == pytest.approx(all_minutes / 60)
    assert sum(total["pages"] for total in totals.values()) == len(pages_in_order(ROADMAP))
    # Editing one page's minutes moves its stage total, and only that one.
    edited = copy.deepcopy(ROADMAP)
    first_core_section = next(s for s in edited["sections"] if s["stage"] == "core")
    first_core_section["pages"][0]["read"] += 60
    after = hours_per_stage(edited)
    for stage, total in totals.items():
        expected = total["read_hours"] + (1.0 if stage == "core" else 0.0)
        assert after[stage]["read_hours"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("page", "language", "pattern"),
    [
        ("stages.md", "en", r"\*\*Time:\*\* about ([\d.]+) h of reading"),
        ("stages.zh.md", "zh", r"\*\*时间：\*\* 约 ([\d.]+) 小时阅读"),
    ],
)
def test_hours_quoted_on_the_page_match_the_data(page: str, language: str, pattern: str) -> None:
    """The page writes a marker per stage; the build fills it from the data (tools.derived): the
    marker must sit in its own stage's section, and the filled page quotes the data's hours."""
    source = (DOCS / "roadmap" / page).read_text(encoding="utf-8")
    text = derived.fill_markers(source, "roadmap/stages.md", language)
    totals = hours_per_stage(ROADMAP)
    for stage in ROADMAP["stages"]:
        title = stage["title"][language]
        section = re.search(rf"^### {re.escape(title)}\n(.*?)(?=^#)", text, re.MULTILINE | re.DOTALL)
        assert section, f"docs/roadmap/{page} has no section '### {title}'"
        quoted = re.search(pattern, section.group(1))
        assert quoted, f"docs/roadmap/{page}, {title}: no reading time"
        marker = f"<!-- stage-hours: {stage['id']} -->"
        in_source = re.search(rf"^### {re.escape(title)}\n(.*?)(?=^#)", source, re.MULTILINE | re.DOTALL)
        assert source.count(marker) == 1 and marker in in_source.group(1), (
            f"docs/roadmap/{page}, {title}: write the time as {marker}, once, in this section"
        )
        expected = round(totals[stage["id"]]["read_hours"] * 2) / 2
        assert float(quoted.group(1)) == expected, (
            f"docs/roadmap/{page}, {title}: the page says {quoted.group(1)} h, "
            f"roadmap.yml gives {expected:g} h"
        )


def test_no_page_requires_a_page_of_a_later_stage() -> None:
    assert backward_requirements(ROADMAP) == []
    # The check is able to fail: a foundations page that requires a frontier page is found.
    broken = copy.deepcopy(ROADMAP)
    foundations = next(s for s in broken["sections"] if s["stage"] == "foundations")
    foundations["pages"][0]["requires"].append("frontiers/meta-learning")
    assert backward_requirements(broken) == [(foundations["pages"][0]["path"], "frontiers/meta-learning")]


def test_site_order_lists_every_page_after_its_prerequisites() -> None:
    listed = [page["path"] for page in pages_in_order(ROADMAP)]
    requires = requirements(ROADMAP)
    assert respects_prerequisites(listed, requires)
    assert not respects_prerequisites(listed[::-1], requires)


def test_roadmap_orders_agree_with_graphlib() -> None:
    requires = requirements(ROADMAP)
    ours, theirs = topological_order(requires), graphlib_order(requires)
    assert sorted(ours) == sorted(theirs) == sorted(requires)
    assert respects_prerequisites(ours, requires) and respects_prerequisites(theirs, requires)


@pytest.mark.parametrize("seed", seeds(3))
def test_topological_sort_matches_graphlib_on_random_graphs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(20):
        requires = random_requirements(int(rng.integers(2, 30)), rng, cycle=False)
        ours, theirs = topological_order(requires), graphlib_order(requires)
        assert sorted(ours) == sorted(theirs)
        assert respects_prerequisites(ours, requires) and respects_prerequisites(theirs, requires)
        cyclic = random_requirements(int(rng.integers(2, 30)), rng, cycle=True)
        with pytest.raises(ValueError, match="cycle"):
            topological_order(cyclic)
        with pytest.raises(CycleError):
            graphlib_order(cyclic)


def test_minutes_to_reach_count_every_prerequisite_once() -> None:
    requires = requirements(ROADMAP)
    minutes = {page["path"]: page["read"] for page in pages_in_order(ROADMAP)}
    # MLP needs the perceptron, linear algebra and calculus; calculus needs linear algebra again.
    assert prerequisite_closure("neural-networks/mlp", requires) == {
        "neural-networks/mlp",
        "neural-networks/perceptron",
        "foundations/linear-algebra",
        "foundations/calculus",
    }
    for page, required_pages in requires.items():
        for required in required_pages:
            assert minutes_to_reach(page, ROADMAP) >= minutes_to_reach(required, ROADMAP) + minutes[page]


def test_no_stage_depends_on_a_later_stage() -> None:
    order = [stage["id"] for stage in ROADMAP["stages"]]
    for stage, needed in stage_dependencies(ROADMAP).items():
        assert all(order.index(other) < order.index(stage) for other in needed), (stage, needed)
    assert stage_dependencies(ROADMAP)["core"] == ["foundations"]
