"""The include check names the page, the line, the include and what is wrong, once."""

from __future__ import annotations

from pathlib import Path

from tools.includes import broken_includes, page_includes, problem
from tests.helpers import DOCS


def test_every_include_resolves() -> None:
    broken = broken_includes()
    assert not broken, "\n".join(broken)


def test_page_includes_finds_inline_and_block_includes_with_their_lines() -> None:
    text = 'a\n```python\n--8<-- "snippets/x.py:one"\n```\n--8<--\nsnippets/y.out.txt\n--8<--\n'
    assert list(page_includes(text)) == [(3, "snippets/x.py:one"), (6, "snippets/y.out.txt")]


def test_problem_names_a_missing_file_or_section_and_the_sections_there_are() -> None:
    assert problem("snippets/no_such_module.py") == "no file snippets/no_such_module.py"
    message = problem("snippets/roadmap/index.py:no-such-section")
    assert message is not None and "has no section 'no-such-section'" in message
    assert "probe" in message  # one of the file's real sections, to pick from
    assert problem("snippets/roadmap/index.py:probe") is None
    assert problem("snippets/roadmap/index.py:3:5") is None  # a line range


def test_a_broken_include_is_reported_once_with_page_and_line(tmp_path: Path) -> None:
    page = DOCS / "roadmap" / "index.md"
    lines = page.read_text(encoding="utf-8").splitlines()
    number = next(n for n, line in enumerate(lines, 1) if "snippets/roadmap/index.py:probe" in line)
    copy = tmp_path / "index.md"
    copy.write_text(page.read_text(encoding="utf-8").replace(":probe", ":prob"), encoding="utf-8")
    [line] = broken_includes([copy])
    assert line.startswith(f"{copy}:{number}: --8<-- 'snippets/roadmap/index.py:prob': ")
