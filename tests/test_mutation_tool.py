"""tools/mutation.py: scoring and reporting (the mutmut runs themselves are `make mutation`)."""

from __future__ import annotations

import tomllib

import pytest

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


def test_claim_tests_call_page_code_inside_tests_not_at_import() -> None:
    """Mutation testing forks each mutant from a process that has already imported the test
    modules: a value a test module computes from page code at import time (``DATA = load()``)
    was computed before the mutant existed, so the tests that read it cannot catch it."""
    import ast

    from tools.paths import ROOT

    offenders = []
    for page in manifest.pages():
        for test in page.tests:
            tree = ast.parse((ROOT / test).read_text(encoding="utf-8"))
            from_page = {
                alias.asname or alias.name
                for node in tree.body
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("snippets.")
                for alias in node.names
            }
            for node in tree.body:
                if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                    called = {
                        call.func.id
                        for call in ast.walk(node.value)
                        if isinstance(call, ast.Call)
                        and isinstance(call.func, ast.Name)
                        and not call.func.id[0].isupper()  # a class such as a config dataclass
                    }
                    if called & from_page:
                        offenders.append(
                            f"{test}:{node.lineno} calls {', '.join(sorted(called & from_page))}"
                        )
    assert not offenders, "compute these inside the tests (a @cache function):\n" + "\n".join(offenders)


def test_statistics_run_empties_module_caches_so_every_caller_is_recorded() -> None:
    import sys
    import types
    from functools import cache

    from tools.mutation_stats import clear_caches

    module = types.ModuleType("tests.cached_experiment")
    calls = []

    @cache
    def trained(seed: int) -> int:
        calls.append(seed)
        return seed

    trained.__module__ = module.__name__
    module.trained = trained
    sys.modules[module.__name__] = module
    try:
        trained(1)
        trained(1)
        assert calls == [1]
        assert clear_caches() >= 1
        trained(1)
        assert calls == [1, 1]  # after clearing, the next test calls the page code again
    finally:
        del sys.modules[module.__name__]


@pytest.mark.parametrize(
    ("old", "new", "device_only"),
    [
        ("    device = pick_device()", "    device = None", True),
        (
            "    x = torch.tensor(a, dtype=torch.float32, device=device)",
            "    x = torch.tensor(a, dtype=torch.float32, )",
            True,
        ),
        ("    model = make().to(device)", "    model = make().to(None)", True),
        ("    h = stage(chunk.to(self.devices[0]))", "    h = stage(chunk.to(self.devices[1]))", True),
        (
            "    x = torch.tensor(a, dtype=torch.float32, device=device)",
            "    x = torch.tensor(a, dtype=None, device=device)",
            False,
        ),
        ("    keep = (r >= p).to(x.dtype)", "    keep = (r >= p).to(None)", False),
        ("    y = (t + 1) / 2  # device", "    y = (t + 1) / 3  # device", False),
    ],
)
def test_mutants_that_only_move_data_between_devices_are_told_apart(
    old: str, new: str, device_only: bool
) -> None:
    from tools.mutation import moves_devices_only

    diff = f"--- a.py\n+++ a.py\n@@ -1 +1 @@\n-{old}\n+{new}\n"
    assert moves_devices_only(diff) is device_only
