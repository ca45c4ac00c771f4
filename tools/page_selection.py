"""A pytest plugin: ``--page architectures/cnn`` keeps only the tests of one page (``make test-page``).

A test belongs to the page when its file is one of the page's claim test files or page sources
(the Markdown fences of both languages, run by pytest-markdown-docs), or when it is a parametrized
site test whose parameter is the page's path, one of its source files (parity, provenance,
glossary, Chinese maths, notebooks), one of its modules (recorded outputs, command lines) or one of
its figures. Tests that need the full site build are left to ``make test``.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

import pytest

from tools import manifest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--page",
        action="append",
        default=[],
        metavar="SECTION/NAME",
        help="run only the tests of this page of docs/roadmap.yml (repeatable)",
    )


def figure_names(module: str) -> list[str]:
    """The figures a snippet module registers in its ``FIGURES`` dict."""
    return list(getattr(importlib.import_module(module), "FIGURES", {}))


def page_keys(path: str) -> tuple[set[str], set[str]]:
    """(files, parameter values) that mark a test as one of the page's."""
    page = manifest.page(path)
    sources = page.sources()
    files = set(page.tests) | {f"docs/{source}" for source in sources}
    values = {page.path, *sources, *page.modules}
    for module in page.modules:
        values.update(figure_names(module))
    return files, values


def belongs(item: pytest.Item, files: set[str], values: set[str]) -> bool:
    if "build" in getattr(item, "fixturenames", ()):
        return False  # the whole-site build: make test
    if item.nodeid.split("::")[0] in files:
        return True
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return False
    for value in callspec.params.values():
        text = value.path if isinstance(value, manifest.Page) else value
        if isinstance(text, str | Path) and str(text) in values:
            return True
    return False


@cache
def own_files(wanted: tuple[str, ...]) -> frozenset[str]:
    """The claim-test and page-source files (relative to the root) of the pages asked for."""
    return frozenset(file for path in wanted for file in page_keys(path)[0])


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With ``--page``, skip other pages' Markdown and claim-test files at collection: collecting
    them costs time (their includes are expanded, their modules imported), and an unfinished page
    elsewhere must not stop this page's loop."""
    wanted = tuple(config.getoption("page"))
    path = collection_path.resolve()
    if not wanted or path.is_dir() or not path.is_relative_to(manifest.ROOT):
        return None
    try:
        own = own_files(wanted)
    except KeyError:
        return None  # an unknown page: pytest_collection_modifyitems reports it
    relative = path.relative_to(manifest.ROOT).as_posix()
    parts = relative.split("/")
    is_page = parts[0] == "docs" and relative.endswith((".md", ".ipynb"))
    is_claim_test = parts[0] == "tests" and len(parts) == 3 and parts[2].startswith("test_")
    if is_page or is_claim_test:
        return relative not in own
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("page")
    if not wanted:
        return
    files: set[str] = set()
    values: set[str] = set()
    for path in wanted:
        try:
            page_files, page_values = page_keys(path)
        except KeyError as error:
            raise pytest.UsageError(str(error.args[0])) from None
        files |= page_files
        values |= page_values
    keep = [item for item in items if belongs(item, files, values)]
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep
