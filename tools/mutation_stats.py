"""pytest plugin for mutation testing (tools/mutation.py): in mutmut's statistics run, no test
reads another test's cached results.

mutmut runs the claim tests once to record which tests call which function, then tests each
mutant against only the tests recorded for its function. Claim tests cache expensive
experiments (``@cache def trained(seed)``): in one run only the first test that asks for a result
calls the page code, so the others were never recorded and never ran against a mutant that
they would have caught. Here every ``functools`` cache of the test and snippet modules is
emptied before each test of the statistics run (mutmut sets ``MUTANT_UNDER_TEST=stats``);
mutant runs keep their caches, and each starts from a fresh process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest


def clear_caches(prefixes: tuple[str, ...] = ("tests", "snippets")) -> int:
    """Empty the ``functools`` caches defined at module level in those packages; return how many."""
    cleared = 0
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(prefixes):
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == name:
                clear()
                cleared += 1
    return cleared


@pytest.fixture(autouse=True)
def _each_test_calls_the_page_code_itself() -> Iterator[None]:
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        clear_caches()
    yield
