"""The notebook of every page (generated at build time by docs/overrides/hooks/page_notebooks.py).

Each page's notebook is valid nbformat v4, has one code cell per Python fence the page-code test
runs, a first cell with the pinned pip line, no outputs, and the tab titles of the page. The
notebooks of three pages (Chinese CNN, English adaptive optimizers, English perceptron: tabs in
both languages) run from top to bottom with nbclient in an empty folder outside the repository,
and print the numbers the page shows.
"""

from __future__ import annotations

import re
import tempfile

import nbformat
import pytest
from markdown_it import MarkdownIt
from nbclient import NotebookClient

from tests.helpers import DOCS, chinese_pages, english_pages
from tests.test_outputs import NUMBER, mismatch
from tools import manifest
from tools.markdown_fences import expand_includes, fence_language, unwrap_containers
from tools.page_notebook import is_python, outside_environment, page_notebook, pins

PAGES = [page for page in english_pages() + chinese_pages() if page.suffix == ".md"]
EXECUTED = ["architectures/cnn.zh.md", "optimization/adaptive-optimizers.md", "neural-networks/perceptron.md"]
TAB = re.compile(r'^\s*===[+!]?\s+"([^"]+)"', re.MULTILINE)


def notebook_of(source: str) -> nbformat.NotebookNode:
    language = "zh" if source.endswith(".zh.md") else "en"
    return page_notebook((DOCS / source).read_text(encoding="utf-8"), source, language)


def runnable_fences(text: str) -> int:
    """Python fences as the page-code runner counts them (its own expansion and unwrapping)."""
    tokens = MarkdownIt("commonmark").parse(unwrap_containers(expand_includes(text)))
    return sum(1 for token in tokens if token.type == "fence" and is_python(token))


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_notebook_has_the_pages_code_and_prose(page) -> None:
    source = str(page)
    text = (DOCS / page).read_text(encoding="utf-8")
    notebook = notebook_of(source)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    code = [cell for cell in notebook.cells[1:] if cell.cell_type == "code"]
    assert len(code) == runnable_fences(text), f"docs/{source}: one code cell per Python fence"
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    first = notebook.cells[0]
    assert first.cell_type == "code" and all(line.startswith("#") for line in first.source.splitlines())
    if code:
        installs = first.source.splitlines()[-1].removeprefix("# %pip install ").split()
        assert all(requirement in pins().values() for requirement in installs)
        source_code = "\n".join(cell.source for cell in code)
        if re.search(r"^\s*(import torch|from torch)", source_code, re.MULTILINE):
            assert any(requirement.startswith("torch==") for requirement in installs)
    prose = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    for title in TAB.findall(text):
        assert f"**{title}**" in prose, f"docs/{source}: tab {title!r} lost"
    assert text.count("$$") == prose.count("$$"), f"docs/{source}: display maths changed"
    assert "--8<--" not in prose
    assert not re.search(
        r"^\s*(from|import) snippets\b", "\n".join(cell.source for cell in code), re.MULTILINE
    )


def test_fence_language_reads_brace_options() -> None:
    token = MarkdownIt("commonmark").parse("```{.python notest}\nx = 1\n```\n")[0]
    assert fence_language(token) == ("python", {"notest"}) and not is_python(token)


def printed(notebook: nbformat.NotebookNode) -> str:
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") == "stream" and output.get("name") == "stdout"
    )


def recorded_blocks(source: str) -> list[str]:
    """The recorded outputs the page includes, in page order."""
    text = (DOCS / source).read_text(encoding="utf-8")
    paths = re.findall(r'--8<-- "(snippets/[^"]+\.out\.txt)"', text)
    return [(manifest.ROOT / path).read_text(encoding="utf-8") for path in paths]


@pytest.mark.parametrize("source", EXECUTED)
def test_notebook_runs_outside_the_repository(source: str) -> None:
    notebook = notebook_of(source)
    guard = "import importlib.util\nassert importlib.util.find_spec('snippets') is None\n"
    notebook.cells.insert(1, nbformat.v4.new_code_cell(guard, id="guard"))
    with tempfile.TemporaryDirectory(prefix="page-notebook-") as folder:
        client = NotebookClient(
            notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": folder}}
        )
        client.execute(env=outside_environment())
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") == "error"
    ]
    assert not errors, f"{source}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    # Where the page's code prints a line of a recorded output the page shows, the numbers agree.
    printed_lines = {NUMBER.sub("#", line): line for line in printed(notebook).splitlines()}
    for recorded in recorded_blocks(source):
        for line in recorded.splitlines():
            shown = printed_lines.get(NUMBER.sub("#", line))
            if shown is not None and line.strip():
                assert mismatch(line, shown) is None, f"{source}: {mismatch(line, shown)}"
