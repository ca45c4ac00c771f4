"""Mutation testing of a page's snippet modules: are its claim tests able to fail?

A claim test that cannot fail (``assert True`` after the computation, a tolerance so wide that
anything passes) still passes every other gate. Mutation testing finds it: `mutmut`_ changes the
page's code one small edit at a time (``<`` to ``<=``, ``+`` to ``-``, a constant to another) and
runs the page's claim tests against each change. A mutant the tests still pass "survived": the
tests did not notice that the code changed.

    python -m tools.mutation architectures/cnn          # one page (make mutation PAGE=...)
    python -m tools.mutation --changed origin/main      # the pages a branch changed (CI)
    python -m tools.mutation --time-limit 200 PAGE      # score the mutants tested in 200 s

Only mutants in code the claim tests run are scored (mutmut records which tests call which
function); the command-line wrapper (``main``, ``report``: its output is checked by the recorded-output
test) and code only a figure uses are reported as "not run by a claim test".
The page passes when at least :data:`REQUIRED_SCORE` of the scored mutants are killed. Each run
works in ``.mutation/<page>/``, a copy of ``snippets``, ``tests``, ``tools`` and ``docs``.

.. _mutmut: https://mutmut.readthedocs.io/
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tools import manifest
from tools.paths import ROOT

COMMAND_LINE = re.compile(r"\.x_(main|report)__mutmut_\d+$")
"""Mutants of the command-line wrapper (``main``, ``report``): what it prints is checked by the
recorded-output test, not by claim tests, so these are not scored."""
UNTESTED = {"not checked", "skipped", "check was interrupted by user"}
"""mutmut's statuses of mutants it had not tested when the run stopped."""
DEVICE_ARGUMENT = re.compile(r"\bdevice\s*=\s*[^,()]*(\([^()]*\))?[^,()]*,?\s*")
DEVICE_MOVE = re.compile(r"\.to\((?:[^()]*\bdevices?\b[^()]*|None)\)")
DEVICE_ASSIGNMENT = re.compile(r"^(\s*)device = .*$")
"""What a mutant that only moves data between devices changes (``device=device`` to ``device=None``,
``.to(device)`` to ``.to(None)``, ``device = pick_device()`` to ``device = None``)."""
REQUIRED_SCORE = 0.6
"""Share of the scored mutants (those in code a claim test runs) that the claim tests must kill."""
WORKSPACES = ROOT / ".mutation"
COPIED = ["snippets", "tests", "tools", "docs"]
COPIED_FILES = ["requirements.txt", "mkdocs.yml"]
"""Top-level files claim tests read (the resources page checks its versions against requirements.txt)."""
PYPROJECT = """[tool.mutmut]
source_paths = ["snippets"]
only_mutate = {files}
pytest_add_cli_args_test_selection = {tests}
pytest_add_cli_args = ["-p", "no:randomly", "-p", "no:cacheprovider", "-p", "tools.mutation_stats", "-q"]
also_copy = ["tools", "docs", "requirements.txt", "mkdocs.yml"]
# tools.mutation_stats: in the run that records which tests call which function, no test reads
# another's cached experiment, so every test that can catch a mutant is recorded for it.
# Fork each mutant's test run from a server that only collected the tests: mutmut's default forks from
# the process that ran the suite for its statistics, whose warm functools caches (trained models)
# would hide the mutated code from every test that reads them.
process_isolation = "forkserver"

[tool.pytest.ini_options]
addopts = ""
"""


@dataclass
class Result:
    page: str
    killed: int
    survived: list[str]
    timeouts: int
    not_run: int
    seconds: float
    diffs: dict[str, str]
    untested: int = 0
    """Mutants not tested because the run was stopped at its time limit."""
    device_only: int = 0
    """Survivors that only move tensors between devices: the same computation without a GPU."""

    @property
    def scored(self) -> int:
        return self.killed + len(self.survived) + self.timeouts

    @property
    def score(self) -> float:
        # A mutant that makes a test hang was noticed: it counts as killed.
        return (self.killed + self.timeouts) / self.scored if self.scored else 0.0


def workspace(page: manifest.Page) -> Path:
    """A fresh copy of what the page's claim tests import, with a mutmut configuration for the page."""
    folder = WORKSPACES / page.path.replace("/", "--")
    shutil.rmtree(folder, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        shutil.copytree(ROOT / name, folder / name, ignore=ignore)
    for name in COPIED_FILES:
        shutil.copy2(ROOT / name, folder / name)
    files = [str(manifest.module_file(module).relative_to(ROOT)) for module in page.modules]
    tests = [*page.tests, *helper_tests(page)]
    (folder / "pyproject.toml").write_text(
        PYPROJECT.format(files=json.dumps(files), tests=json.dumps(tests)), encoding="utf-8"
    )
    return folder


def helper_tests(page: manifest.Page) -> list[str]:
    """The tests of ``tests/test_page_helpers.py`` that check the page's own copies of the shared
    helpers (``pick_device``, ``one_thread``, ``seed_everything``), as pytest node ids."""
    from tests import test_page_helpers as helpers

    node_ids = []
    for test, name in helpers.TESTS.items():
        defining = helpers.modules_defining(name)
        node_ids += [
            f"tests/test_page_helpers.py::{test}[{module}]" for module in page.modules if module in defining
        ]
    return node_ids


def mutmut(folder: Path, *arguments: str, log: Path | None = None, time_limit: float | None = None) -> bool:
    """Run mutmut in the workspace with its progress output in ``log``; False when it was stopped
    at ``time_limit`` seconds (the mutants it tested by then keep their results)."""
    command = [str(Path(sys.executable).with_name("mutmut")), *arguments]
    with (log or Path(os.devnull)).open("w") as out:
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=_environment(folder),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a stop reaches every forked mutant
        )
        try:
            process.wait(timeout=time_limit)
            return True
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
            return False


def mutmut_output(folder: Path, *arguments: str) -> str:
    """What a quick mutmut command (``results``, ``show``) prints."""
    command = [str(Path(sys.executable).with_name("mutmut")), *arguments]
    result = subprocess.run(command, cwd=folder, env=_environment(folder), capture_output=True, text=True)
    return result.stdout


def _environment(folder: Path) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(folder)}


def mutation_test(
    path: str, workers: int, show: int, rescore: bool = False, time_limit: float | None = None
) -> Result:
    """Mutate one page's modules and run its claim tests against every mutant (``rescore``: read
    the results of the last run in the page's workspace instead; ``time_limit``: stop after that
    many seconds and score the mutants tested by then)."""
    page = manifest.page(path)
    if not page.modules:
        raise SystemExit(f"{path} has no snippet modules to mutate")
    started = time.perf_counter()
    if rescore:
        folder = WORKSPACES / page.path.replace("/", "--")
    else:
        folder = workspace(page)
        log = folder / "mutmut-run.log"
        mutmut(folder, "run", "--max-children", str(workers), log=log, time_limit=time_limit)
    seconds = time.perf_counter() - started
    run_log = (folder / "mutmut-run.log").read_text(encoding="utf-8", errors="replace")
    if "failed to collect stats" in run_log:
        raise SystemExit(
            f"{path}: its claim tests fail on the unchanged code in {folder.relative_to(ROOT)}, so no mutant "
            f"was tested; run them there: cd {folder.relative_to(ROOT)} && PYTHONPATH=. python -m pytest "
            + " ".join(page.tests)
        )
    statuses: dict[str, str] = {}
    for line in mutmut_output(folder, "results", "--all", "true").splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            statuses[name] = "no tests" if COMMAND_LINE.search(name) else status
    if not statuses:
        raise SystemExit(f"{path}: mutmut produced no results; the end of its log:\n{run_log[-2000:]}")
    survived = sorted(name for name, status in statuses.items() if status == "survived")
    diffs = {name: mutmut_output(folder, "show", name) for name in survived}
    device_only = [name for name in survived if moves_devices_only(diffs[name])]
    survived = [name for name in survived if name not in device_only]
    diffs = {name: diffs[name] for name in survived[:show]}
    return Result(
        page=path,
        killed=sum(status == "killed" for status in statuses.values()),
        survived=survived,
        timeouts=sum(status == "timeout" for status in statuses.values()),
        not_run=sum(status == "no tests" for status in statuses.values()),
        untested=sum(status in UNTESTED for status in statuses.values()),
        device_only=len(device_only),
        seconds=seconds,
        diffs=diffs,
    )


def moves_devices_only(diff: str) -> bool:
    """True when the mutant (``mutmut show`` output) only changes which device a tensor or layer is
    on: without a second device the code computes the same, so no test on a CPU-only machine can
    catch it. Such survivors are counted apart and not scored."""

    def plain(line: str) -> str:
        line = DEVICE_ASSIGNMENT.sub(r"\1device = ?", line[1:])
        line = DEVICE_MOVE.sub(".to(?)", DEVICE_ARGUMENT.sub("", line))
        return re.sub(r",\s*\)", ")", line).strip()

    removed = [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    changed = removed and len(removed) == len(added)
    return bool(changed) and all(
        plain(old) == plain(new) and "device" in old for old, new in zip(removed, added, strict=True)
    )


def changed_pages(base: str) -> list[str]:
    """The pages whose snippet modules or claim tests differ from ``base`` (a git revision)."""
    diff = subprocess.run(
        ["git", "diff", "--name-only", f"{base}...HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    changed = set(diff.stdout.split())
    pages = []
    for page in manifest.pages():
        files = {str(manifest.module_file(m).relative_to(ROOT)) for m in page.modules} | set(page.tests)
        if page.modules and files & changed:
            pages.append(page.path)
    return pages


def report(result: Result) -> str:
    verdict = "passes" if result.score >= REQUIRED_SCORE else "FAILS"
    lines = [
        f"{result.page}: mutation score {result.score:.0%} ({result.killed + result.timeouts} of "
        f"{result.scored} mutants killed; {result.not_run + result.device_only} not scored: command line, "
        f"figures, code no claim test runs, device moves), "
        f"{verdict} (required: {REQUIRED_SCORE:.0%}); {result.seconds:.0f} s",
    ]
    if result.untested:
        lines.append(
            f"  stopped at the time limit: {result.untested} mutants not tested, the score is of the rest"
        )
    if result.survived:
        lines.append(f"  surviving mutants ({len(result.survived)}): the claim tests pass with these changes")
        for name in result.survived:
            lines.append(f"    {name}")
        for name, diff in result.diffs.items():
            lines.append(f"  --- {name}\n" + "\n".join("    " + line for line in diff.strip().splitlines()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutation", description=__doc__.split("\n")[0])
    parser.add_argument("pages", nargs="*", metavar="SECTION/NAME", help="pages of docs/roadmap.yml")
    parser.add_argument("--changed", metavar="REV", help="the pages whose code or tests changed since REV")
    parser.add_argument("--workers", type=int, default=2, help="mutants tested at once (default: 2)")
    parser.add_argument("--show", type=int, default=5, help="surviving mutants shown as diffs (default: 5)")
    parser.add_argument("--json", type=Path, help="also write the scores to this file")
    parser.add_argument("--rescore", action="store_true", help="score the last run again (no mutmut run)")
    parser.add_argument(
        "--time-limit",
        type=float,
        metavar="SECONDS",
        help="stop each page after this long and score what was tested",
    )
    args = parser.parse_args(argv)
    known = {page.path for page in manifest.pages()}
    unknown = [path for path in args.pages if path not in known]
    if unknown:
        parser.error(f"not pages of docs/roadmap.yml: {', '.join(unknown)}")
    pages = list(args.pages) + (changed_pages(args.changed) if args.changed else [])
    if not pages:
        print("no page to mutation-test")
        return 0
    results = []
    for path in dict.fromkeys(pages):
        result = mutation_test(path, args.workers, args.show, args.rescore, args.time_limit)
        print(report(result), flush=True)
        results.append(result)
    if args.json:
        scores = {
            r.page: {
                "score": round(r.score, 3),
                "killed": r.killed + r.timeouts,
                "scored": r.scored,
                "survived": r.survived,
                "not_run": r.not_run,
                "untested": r.untested,
                "device_only": r.device_only,
                "seconds": round(r.seconds),
            }
            for r in results
        }
        args.json.write_text(json.dumps(scores, indent=1) + "\n", encoding="utf-8")
    return 0 if all(r.score >= REQUIRED_SCORE for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
