"""Test against the newest releases: the unpinned requirement list, and the report of a run.

Used by ``make test-latest`` and by the scheduled workflow ``.github/workflows/latest.yml``:

* ``python -m tools.latest_report requirements --keep torch`` prints every name in
  ``requirements.txt`` without its pin, except the packages named by ``--keep`` (held at their pin)
  and ``--installed`` (held at the version already installed, e.g. torch from the CPU wheel index).
  ``requirements.txt`` is a ``pip freeze`` of the whole set, so the list holds the direct
  dependencies and their dependencies alike; installed into an empty environment with no pins,
  pip resolves each of them to its newest release that fits the others, which is what a reader
  who installs the direct dependencies today gets. No second list is kept by hand.
* ``python -m tools.latest_report report --log pytest.log`` compares the installed versions with
  the pins and groups the failing tests of the log (pytest's ``-ra`` summary) by page. It writes
  Markdown to standard output, to ``--out`` and, in GitHub Actions, to ``$GITHUB_STEP_SUMMARY``,
  and exits 0 unless a test other than the pin checks (``PIN_CHECKS``) failed.

Standard library only: it runs in a fresh environment before anything else is installed.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

from tools.paths import DOCS, ROOT

REQUIREMENTS = ROOT / "requirements.txt"

# The packages whose releases most often change what a page shows; always listed in the report.
HEADLINE = (
    "torch",
    "scikit-learn",
    "numpy",
    "scipy",
    "optuna",
    "gymnasium",
    "captum",
    "onnx",
    "onnxruntime",
    "keras",
    "pandas",
    "matplotlib",
    "fastapi",
    "mkdocs",
    "mkdocs-material",
    "pymdown-extensions",
    "mkdocs-jupyter",
    "mkdocs-static-i18n",
    "pytest",
)

# Tests that compare the installed versions with the pins: under newer releases they fail by
# design (they say which recommended library moved), so they are listed apart and do not make the
# run fail.
PIN_CHECKS = (
    "tests/test_resources.py::test_every_recommended_library_is_pinned_and_installed_at_that_version",
    "tests/test_outputs.py::test_recorded_output_matches[snippets.resources]",
)

PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")
SUMMARY_LINE = re.compile(r"^(FAILED|ERROR) (\S+)(?: - (.*))?$")
TOTALS_LINE = re.compile(r"^=+ (.*\d+ (?:passed|failed|error|errors|skipped).*) =+$")


def normalize(name: str) -> str:
    """PEP 503 name: ``Jinja2`` and ``jinja2``, ``ml_dtypes`` and ``ml-dtypes`` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path = REQUIREMENTS) -> dict[str, tuple[str, str]]:
    """``normalized name -> (name as written, pinned version)`` for every ``name==version`` line."""
    pins: dict[str, tuple[str, str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            pins[normalize(match.group(1))] = (match.group(1), match.group(2))
    return pins


def split_names(values: Iterable[str]) -> set[str]:
    """``["torch captum", "optuna"]`` (spaces or commas) -> normalized names."""
    return {normalize(name) for value in values for name in re.split(r"[\s,]+", value) if name}


def installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def unpinned_requirements(pins: dict[str, tuple[str, str]], keep: set[str], installed: set[str]) -> list[str]:
    """One requirement per pinned package: bare name, or held at its pin / its installed version."""
    unknown = sorted((keep | installed) - set(pins))
    if unknown:
        raise SystemExit(f"not in requirements.txt: {', '.join(unknown)}")
    lines = []
    for key, (name, version) in pins.items():
        if key in installed:
            current = installed_version(name)
            if current is None:
                raise SystemExit(f"--installed {name}: it is not installed in {sys.prefix}")
            lines.append(f"{name}=={current}")
        elif key in keep:
            lines.append(f"{name}=={version}")
        else:
            lines.append(name)
    return lines


def page_of(nodeid: str) -> str:
    """The page a test belongs to, e.g. ``architectures/gan``; site-wide tests keep their file name.

    ``docs/<section>/<page>(.zh).md::...``, ``tests/<section>/test_<topic>.py::...`` and parametrized
    site tests whose id names a page (``[architectures/gan.md]``) or a module
    (``[snippets.architectures.gan]``) all map to the page path; ``_`` in a folder or module name
    stands for ``-`` in the page path.
    """
    path, _, rest = nodeid.partition("::")
    match = re.fullmatch(r"docs/(.+?)(?:\.zh)?\.(?:md|ipynb)", path)
    if match:
        return match.group(1)
    match = re.fullmatch(r"tests/([^/]+)/test_(\w+)\.py", path)
    if match:
        return _page_from_parts(match.group(1), match.group(2))
    param = re.search(r"\[(.*)\]$", rest)
    if param:
        inner = param.group(1)
        match = re.fullmatch(r"(.+?)(?:\.zh)?\.(?:md|ipynb)", inner)
        if match:
            return match.group(1)
        match = re.fullmatch(r"snippets\.(\w+)\.(\w+)", inner)
        if match:
            return _page_from_parts(match.group(1), match.group(2))
    return f"site-wide: {path}"


def _page_from_parts(section: str, topic: str) -> str:
    for candidate in (f"{section}/{topic}", f"{section}/{topic}".replace("_", "-")):
        if any((DOCS / f"{candidate}{suffix}").exists() for suffix in (".md", ".ipynb")):
            return candidate
    return f"{section.replace('_', '-')}/{topic.replace('_', '-')} (module without a page of that name)"


def parse_log(text: str) -> tuple[dict[str, list[tuple[str, str]]], str]:
    """Failing tests grouped by page (``nodeid``, short message), and pytest's closing totals."""
    by_page: dict[str, list[tuple[str, str]]] = {}
    totals = "no pytest totals found in the log"
    for raw in text.splitlines():
        line = raw.rstrip()
        match = SUMMARY_LINE.match(line)
        if match:
            kind, nodeid, message = match.groups()
            label = f"{message or ''}".strip() if kind == "FAILED" else f"error: {message or ''}".strip()
            by_page.setdefault(page_of(nodeid), []).append((nodeid, label))
            continue
        match = TOTALS_LINE.match(line)
        if match:
            totals = match.group(1)
    return by_page, totals


def same_release(installed: str, pinned: str) -> bool:
    """``2.13.0+cpu`` is the release ``2.13.0``: the local label names the build, not the version."""
    return installed.split("+")[0] == pinned.split("+")[0]


def version_rows(pins: dict[str, tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Markdown table rows: the headline packages, then every other package whose version changed."""

    def row(key: str) -> str:
        name, pinned = pins.get(key, (key, "not pinned"))
        current = installed_version(name) or "not installed"
        mark = "" if same_release(current, pinned) else " (changed)"
        return f"| {name} | {pinned} | {current}{mark} |"

    headline = [row(normalize(name)) for name in HEADLINE if normalize(name) in pins]
    headline_keys = {normalize(name) for name in HEADLINE}
    changed = [
        row(key)
        for key, (name, pinned) in sorted(pins.items())
        if key not in headline_keys and not same_release(installed_version(name) or "", pinned)
    ]
    return headline, changed


def split_pin_checks(
    by_page: dict[str, list[tuple[str, str]]],
) -> tuple[dict[str, list[tuple[str, str]]], list[tuple[str, str]]]:
    """Failures that mean breakage, by page, and the failures of the pin checks (expected)."""
    broken: dict[str, list[tuple[str, str]]] = {}
    expected: list[tuple[str, str]] = []
    for page, tests in by_page.items():
        for nodeid, message in tests:
            if nodeid in PIN_CHECKS:
                expected.append((nodeid, message))
            else:
                broken.setdefault(page, []).append((nodeid, message))
    return broken, expected


def run_status(log_text: str, pytest_status: int) -> int:
    """0 when pytest passed or only the pin checks failed; pytest's status otherwise."""
    if pytest_status != 1:
        return pytest_status
    broken, _ = split_pin_checks(parse_log(log_text)[0])
    return 1 if broken else 0


def render_report(log_text: str, pins: dict[str, tuple[str, str]], kept: Sequence[str]) -> str:
    by_page, totals = parse_log(log_text)
    by_page, expected = split_pin_checks(by_page)
    headline, changed = version_rows(pins)
    header = ["| package | pinned | tested |", "|---|---|---|"]
    version = ".".join(str(part) for part in sys.version_info[:3])
    lines = [
        "## The suite against the newest releases",
        "",
        f"Python {version}. pytest: {totals}.",
    ]
    if kept:
        lines.append(f"Held at their pin: {', '.join(kept)}.")
    lines += ["", *header, *headline, ""]
    if changed:
        lines += [
            f"<details><summary>{len(changed)} other packages differ from their pin</summary>",
            "",
            *header,
            *changed,
            "",
            "</details>",
            "",
        ]
    if expected:
        lines.append("Failed as expected (they compare the installed versions with the pins):")
        lines += [f"- `{nodeid}`: {message}" if message else f"- `{nodeid}`" for nodeid, message in expected]
        lines.append("")
    if not by_page:
        lines.append("No other test failed.")
        return "\n".join(lines) + "\n"
    count = sum(len(tests) for tests in by_page.values())
    tests_word = "test" if count == 1 else "tests"
    pages_word = "page" if len(by_page) == 1 else "pages"
    lines += [f"### {count} failing {tests_word} on {len(by_page)} {pages_word}", ""]
    for page in sorted(by_page):
        lines.append(f"- **{page}**")
        for nodeid, message in by_page[page]:
            detail = f": {message}" if message else ""
            lines.append(f"  - `{nodeid}`{detail}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.latest_report", description=__doc__.split("\n")[0])
    parser.add_argument("--requirements", type=Path, default=REQUIREMENTS)
    commands = parser.add_subparsers(dest="command", required=True)
    unpinned = commands.add_parser("requirements", help="print the unpinned requirement list")
    unpinned.add_argument("--keep", action="append", default=[], help="names held at their pin")
    unpinned.add_argument(
        "--installed", action="append", default=[], help="names held at the version installed now"
    )
    report = commands.add_parser("report", help="versions and failing tests by page, as Markdown")
    report.add_argument("--log", type=Path, required=True, help="the output of the pytest run")
    report.add_argument("--keep", action="append", default=[], help="names that were held at their pin")
    report.add_argument("--out", type=Path, help="also write the report to this file")
    report.add_argument(
        "--pytest-status",
        type=int,
        default=0,
        help="pytest's exit status: the report exits 0 when only the pin checks failed, else with it",
    )
    args = parser.parse_args(argv)

    pins = read_pins(args.requirements)
    if args.command == "requirements":
        print("\n".join(unpinned_requirements(pins, split_names(args.keep), split_names(args.installed))))
        return 0
    kept = sorted(pins[key][0] for key in split_names(args.keep) if key in pins)
    log_text = args.log.read_text(encoding="utf-8", errors="replace")
    text = render_report(log_text, pins, kept)
    sys.stdout.write(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(text)
    return run_status(log_text, args.pytest_status)


if __name__ == "__main__":
    raise SystemExit(main())
