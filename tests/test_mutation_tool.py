"""tools/mutation.py: scoring and reporting (the mutmut runs themselves are `make mutation`)."""

from __future__ import annotations

import tomllib

from tools import manifest
from tools.mutation import PYPROJECT, REQUIRED_SCORE, Result, report


def result(killed: int, survived: list[str], timeouts: int = 0) -> Result:
    return Result("a/b", killed, survived, timeouts, not_run=7, seconds=12.0, diffs={})


def test_score_counts_only_mutants_a_claim_test_runs() -> None:
    assert result(6, ["m.x__mutmut_1", "m.x__mutmut_2"]).score == 0.75
    assert result(5, ["m.x__mutmut_1"], timeouts=2).score == 7 / 8  # a hang was noticed
    assert result(0, []).score == 0.0  # nothing scored: no test ran the code, which is a failure


def test_report_names_the_verdict_and_every_survivor() -> None:
    weak = report(result(1, ["snippets.a.b.x_fit__mutmut_3"]))
    assert "50%" in weak and "FAILS" in weak and "snippets.a.b.x_fit__mutmut_3" in weak
    strong = report(result(9, []))
    assert "passes" in strong and f"{REQUIRED_SCORE:.0%}" in strong


def test_configuration_mutates_only_the_page_modules_and_runs_only_its_tests() -> None:
    page = manifest.page("neural-networks/perceptron")
    files = [f"snippets/{m.split('.', 1)[1].replace('.', '/')}.py" for m in page.modules]
    text = PYPROJECT.format(files=str(files).replace("'", '"'), tests=str(list(page.tests)).replace("'", '"'))
    config = tomllib.loads(text)["tool"]["mutmut"]
    assert config["only_mutate"] == ["snippets/neural_networks/perceptron.py"]
    assert config["pytest_add_cli_args_test_selection"] == ["tests/neural_networks/test_perceptron.py"]


def test_command_line_mutants_are_not_scored() -> None:
    from tools.mutation import COMMAND_LINE

    assert COMMAND_LINE.search("snippets.llm.retrieval.x_report__mutmut_12")
    assert COMMAND_LINE.search("snippets.llm.retrieval.x_main__mutmut_3")
    assert not COMMAND_LINE.search("snippets.llm.retrieval.x_reporting_table__mutmut_3")
    assert not COMMAND_LINE.search("snippets.llm.retrieval.xǁBM25ǁscores__mutmut_2")


def test_a_run_stopped_at_its_time_limit_says_how_many_mutants_were_not_tested() -> None:
    stopped = Result("a/b", 3, ["m.x__mutmut_1"], 0, not_run=0, seconds=200.0, diffs={}, untested=40)
    assert stopped.score == 0.75  # of the tested mutants only
    assert "40 mutants not tested" in report(stopped)
    assert "not tested" not in report(result(3, []))


def test_a_page_is_also_mutation_tested_by_the_checks_of_its_helper_copies() -> None:
    from tests.test_page_helpers import TESTS
    from tools.mutation import helper_tests

    node_ids = helper_tests(manifest.page("roadmap/index"))
    assert (
        "tests/test_page_helpers.py::test_pick_device_is_cuda_exactly_when_cuda_is_available[snippets.roadmap.index]"
        in node_ids
    )
    assert len(node_ids) == 2  # pick_device and one_thread; the page seeds with snippets.common
    assert all(node_id.split("::")[1].split("[")[0] in TESTS for node_id in node_ids)
