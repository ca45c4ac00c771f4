"""Notebook pages run from top to bottom without errors (in both languages)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.helpers import DOCS, ROOT, chinese_pages, english_pages

NOTEBOOKS = [page for page in english_pages() + chinese_pages() if page.suffix == ".ipynb"]


@pytest.mark.parametrize("page", NOTEBOOKS, ids=str)
def test_notebook_runs(page: Path) -> None:
    notebook = nbformat.read(DOCS / page, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},  # run from the repository root, like the snippets
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors, f"docs/{page}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
