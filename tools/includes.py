"""Check every ``--8<--`` include of the pages before anything else runs.

pymdownx.snippets reports a missing file or section as "Snippet section 'x' could not be
located", without the page or line, and in ``make test`` that one mistake used to surface as
dozens of errors (every test that needs the build or the page's code). This module finds each
broken include once and names it: ``docs/a/b.md:12: --8<-- "snippets/a/b.py:scratch": ...``.
The pytest plugin stops the run with those lines before collection; the build hook
(``docs/overrides/hooks/roadmap.py``) stops ``mkdocs build`` with them.

    python -m tools.includes          # check every page; exit 1 and one line per broken include
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from tools.paths import DOCS, ROOT

INLINE = re.compile(r"""--8<--\s*["']([^"']+)["']""")
BLOCK_LINE = re.compile(r"^\s*(snippets/\S+)\s*$")
BLOCK_MARK = re.compile(r"^\s*--8<--\s*$")
if TYPE_CHECKING:
    import pytest

SECTION = re.compile(r"--8<-- \[(start|end):([\w-]+)\]")


def page_includes(text: str) -> Iterable[tuple[int, str]]:
    """``(line number, target)`` for each include of a page, inline or in a ``--8<--`` block."""
    in_block = False
    for number, line in enumerate(text.splitlines(), start=1):
        if BLOCK_MARK.match(line):
            in_block = not in_block
            continue
        if in_block and (m := BLOCK_LINE.match(line)):
            yield number, m.group(1)
        for target in INLINE.findall(line):
            yield number, target


@cache
def sections(path: Path) -> frozenset[str]:
    """The section names a file marks with both ``--8<-- [start:name]`` and ``[end:name]``."""
    marks = SECTION.findall(path.read_text(encoding="utf-8"))
    starts = {name for kind, name in marks if kind == "start"}
    ends = {name for kind, name in marks if kind == "end"}
    return frozenset(starts & ends)


def problem(target: str) -> str | None:
    """Why an include target cannot be included, or None when it can."""
    file, _, section = target.partition(":")
    path = ROOT / file
    if not path.is_file():
        return f"no file {file}"
    if section and not re.fullmatch(r"-?\d*(:-?\d*)?", section) and section not in sections(path):
        known = ", ".join(sorted(sections(path))) or "none"
        return f"{file} has no section {section!r} (its sections: {known})"
    return None


def broken_includes(pages: Iterable[Path] | None = None) -> list[str]:
    """One line per include that cannot be resolved, naming the page, its line, the include and why."""
    found = []
    for page in sorted(pages if pages is not None else DOCS.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        for number, target in page_includes(text):
            if reason := problem(target):
                name = page.relative_to(ROOT) if page.is_relative_to(ROOT) else page
                found.append(f"{name}:{number}: --8<-- {target!r}: {reason}")
    return found


def pages_to_check(config: pytest.Config) -> list[Path] | None:
    """The pages a test run covers: those of ``--page``, the Markdown files named on the command
    line, or every page (None) when the run names no files."""
    import pytest

    selected = config.getoption("page", default=None) or []
    if selected:
        from tools import manifest

        try:
            return [DOCS / source for path in selected for source in manifest.page(path).sources()]
        except KeyError as error:  # a page not in the manifest: one line, not a traceback
            raise pytest.UsageError(f"{error.args[0]}: add its entry (see CONTRIBUTING.md)") from None
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        named = [Path(arg.split("::")[0]).resolve() for arg in config.args]
        return [path for path in named if path.suffix == ".md" and path.is_file()]
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    """Write the files derived from the manifest (``tools.derived``), then stop the test run at
    once, with one line per broken include, before collection."""
    import pytest

    from tools import derived

    if hasattr(session.config, "workerinput"):
        return  # the controller has done it before starting the workers
    derived.refresh()
    broken = broken_includes(pages_to_check(session.config))
    if broken:
        pytest.exit("broken includes (fix these first):\n" + "\n".join(broken), returncode=1)


def main() -> int:
    broken = broken_includes()
    for line in broken:
        print(line, file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
