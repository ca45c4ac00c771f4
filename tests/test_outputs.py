"""The output a page shows is what its snippet prints today (default seed).

Numbers may drift slightly between CPUs and library builds, so each number is compared
with a tolerance; every other character must match exactly.
Refresh a file with ``python -m tools.outputs <module>`` after changing its code.
A variant file ``<topic>.<variant>.out.txt`` (``summary.zh.out.txt``) is compared with
``main(VARIANTS[variant])`` (``main(["--language", "zh"])``); refresh it with
``python -m tools.outputs <module>:<variant>``.

The test calls each module's ``main([])`` inside the test worker, with output captured at the
file-descriptor level (so processes a snippet starts are captured too): a fresh interpreter per
module would spend most of the suite's time importing torch again.
"""

from __future__ import annotations

import importlib
import math
import re

import pytest

from snippets.common import DEFAULT_SEED, SEED_VARIABLE
from tools import derived
from tools.outputs import arguments, output_path, recorded_outputs

# A version string (2.13.0) is one token and must match exactly; other numbers get a tolerance.
VERSION = re.compile(r"\d+\.\d+\.\d+(?:\.?(?:post|dev|rc|a|b)\d+)?")
NUMBER = re.compile(rf"{VERSION.pattern}|[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
REL, ABS = 0.05, 0.011  # default tolerance: rounding and small differences between CPUs


def close(expected: str, actual: str, rel: float = REL, abs_: float = ABS) -> bool:
    if VERSION.match(expected) or VERSION.match(actual):
        return expected == actual
    a, b = float(expected), float(actual)
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def line_tolerance(line: str, tolerances: dict[str, float]) -> float:
    """The relative tolerance for one recorded line: a module's ``OUTPUT_TOLERANCE`` entry whose
    key starts the line (measured spread across CPUs), else the default."""
    for prefix, rel in tolerances.items():
        if line.startswith(prefix):
            return rel
    return REL


def mismatch(expected: str, actual: str, tolerances: dict[str, float] | None = None) -> str | None:
    """Describe the first difference between two outputs, or return None if they agree.

    Text must match exactly. Numbers agree within the line's tolerance; ``math.inf`` marks a
    machine-dependent line whose numbers are not compared (its page says so, its tests check it).
    """
    expected_lines, actual_lines = expected.splitlines(), actual.splitlines()
    if len(expected_lines) != len(actual_lines):
        return f"{len(expected_lines)} lines recorded, {len(actual_lines)} printed"
    for number, (want, got) in enumerate(zip(expected_lines, actual_lines, strict=True), start=1):
        if NUMBER.sub("#", want) != NUMBER.sub("#", got):
            return f"line {number}: recorded {want!r}, printed {got!r}"
        rel = line_tolerance(want, tolerances or {})
        if math.isinf(rel):
            continue
        for x, y in zip(NUMBER.findall(want), NUMBER.findall(got), strict=True):
            if not close(x, y, rel=rel):
                return f"line {number}: recorded {x}, printed {y}\n  recorded: {want}\n  printed:  {got}"
    return None


def test_mismatch_spots_changed_numbers_and_text() -> None:
    assert mismatch("acc 0.97\n", "acc 0.971\n") is None
    assert mismatch("acc 0.97\n", "acc 0.60\n") is not None
    assert mismatch("acc 0.97\n", "loss 0.97\n") is not None
    assert mismatch("a\n", "a\nb\n") is not None
    assert mismatch("optuna 5.0.0\n", "optuna 5.1.0\n") is not None  # versions match exactly
    assert mismatch("gap 0.367\n", "gap 0.387\n") is not None
    assert mismatch("gap 0.367\n", "gap 0.387\n", {"gap": 0.1}) is None
    assert mismatch("gap 0.367\n", "gap 0.587\n", {"gap": 0.1}) is not None
    assert mismatch("3/8 modes\n", "6/8 modes\n", {"3/8": math.inf}) is None
    assert mismatch("3/8 modes\n", "6/8 bins\n", {"3/8": math.inf}) is not None


def test_chinese_summary_output_is_recorded_in_chinese() -> None:
    assert ("snippets.summary", "zh") in recorded_outputs()
    assert "基础阶段" in output_path("snippets.summary", "zh").read_text(encoding="utf-8")


# Outputs that print the manifest are written by tools.derived at the start of every run, so
# comparing them with the code could not fail: they are left out here.
COMPARED = [output for output in recorded_outputs() if output not in derived.OUTPUTS]


@pytest.mark.parametrize(
    ("module", "variant"),
    COMPARED,
    ids=[module + (f":{variant}" if variant else "") for module, variant in COMPARED],
)
def test_recorded_output_matches(
    module: str, variant: str | None, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SEED_VARIABLE, str(DEFAULT_SEED))
    main = importlib.import_module(module).main
    capfd.readouterr()
    code = main(arguments(variant))
    printed, errors = capfd.readouterr()
    command = " ".join([f"python -m {module}", *arguments(variant)])
    assert code in (0, None), f"{command} failed:\n{errors}"
    path = output_path(module, variant)
    recorded = path.read_text(encoding="utf-8")
    tolerances = getattr(importlib.import_module(module), "OUTPUT_TOLERANCE", {})
    stale = [prefix for prefix in tolerances if not any(x.startswith(prefix) for x in recorded.splitlines())]
    assert not stale, f"{module}.OUTPUT_TOLERANCE names no recorded line: {stale}"
    problem = mismatch(recorded, printed, tolerances)
    target = module + (f":{variant}" if variant else "")
    assert problem is None, f"{path.name} is out of date ({problem}); run python -m tools.outputs {target}"
