"""docs/roadmap.yml declares what each page owns: its modules and tests exist, and they name each other."""

from __future__ import annotations

import ast
import copy
import pkgutil

import pytest

import snippets
from tools.manifest import (
    ManifestError,
    data,
    derived_module,
    module_file,
    page_for_module,
    pages,
    claim_test_file,
    validate,
)
from tools.paths import ROOT

SHARED_MODULES = {"snippets.common"}  # helpers every page may use; owned by no page
OWNED = [page for page in pages() if page.modules]


def snippet_modules() -> list[str]:
    """Every non-package module of the snippets package."""
    return sorted(
        info.name
        for info in pkgutil.walk_packages(snippets.__path__, prefix="snippets.")
        if not info.ispkg and info.name not in SHARED_MODULES
    )


def imported_modules(module: str) -> set[str]:
    """The dotted names a module imports (``import a.b`` and ``from a.b import c``)."""
    tree = ast.parse(module_file(module).read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def page_test_files() -> list[str]:
    """Every claim test module: tests/<section>/test_*.py, and tests/test_<p>.py for top-level pages."""
    found = {str(path.relative_to(ROOT)) for path in (ROOT / "tests").glob("*/test_*.py")}
    return sorted(found | {test for page in pages() for test in page.tests})


@pytest.mark.parametrize("page", OWNED, ids=[page.path for page in OWNED])
def test_modules_and_tests_exist_and_follow_the_naming_rule(page) -> None:
    for module in page.modules:
        assert module_file(module).is_file(), f"docs/roadmap.yml, {page.path}: no file for {module}"
    for test in page.tests:
        assert (ROOT / test).is_file(), f"docs/roadmap.yml, {page.path}: no test file {test}"
    assert page.modules[0] == derived_module(page.path), (
        f"docs/roadmap.yml, {page.path}: its first module should be {derived_module(page.path)}"
    )


def test_every_snippet_module_belongs_to_one_page() -> None:
    owners = {module: [p.path for p in pages() if module in p.modules] for module in snippet_modules()}
    unowned = [module for module, paths in owners.items() if not paths]
    shared = {module: paths for module, paths in owners.items() if len(paths) > 1}
    assert not unowned, f"add these modules to their page's entry in docs/roadmap.yml: {unowned}"
    assert not shared, f"a module belongs to one page: {shared}"


@pytest.mark.parametrize("page", OWNED, ids=[page.path for page in OWNED])
def test_every_page_module_has_its_test(page) -> None:
    texts = {test: (ROOT / test).read_text(encoding="utf-8") for test in page.tests}
    tested_modules = {module for module in page.modules if any(module in text for text in texts.values())}
    # a worker module (the torchrun script) is tested through the page module that launches it
    launchers = [module_file(module).read_text(encoding="utf-8") for module in tested_modules]
    for module in page.modules:
        own = claim_test_file(module)
        tested = own in texts or module in tested_modules or any(module in text for text in launchers)
        assert tested, f"{module} ({page.path}) has no test: write {own} or name it in the page's tests"


@pytest.mark.parametrize("test", page_test_files())
def test_every_test_module_names_its_page(test: str) -> None:
    owners = [page for page in pages() if test in page.tests]
    assert owners, f"{test} belongs to no page's tests in docs/roadmap.yml"
    docstring = ast.get_docstring(ast.parse((ROOT / test).read_text(encoding="utf-8"))) or ""
    named = [page.source for page in owners if page.source and f"docs/{page.source}" in docstring]
    assert named, f"{test}: its docstring should name its page, e.g. 'Claims of docs/{owners[0].source}.'"


def test_no_page_module_imports_another_pages_module() -> None:
    for module in snippet_modules():
        owner = page_for_module(module)
        imported = imported_modules(module)
        foreign = {name for name in imported if name.startswith("snippets.") and name not in SHARED_MODULES}
        foreign = {name for name in foreign if page_for_module(name) is not owner}
        assert not foreign, f"{module} imports another page's module: {sorted(foreign)}"


def test_the_loader_rejects_a_broken_manifest() -> None:
    validate(data())  # the real file is valid
    broken = copy.deepcopy(data())
    first, second = broken["sections"][1]["pages"][:2]
    first["requires"], second["requires"] = [second["path"]], [first["path"]]
    with pytest.raises(ManifestError, match="cycle"):
        validate(broken)
    unknown = copy.deepcopy(data())
    unknown["sections"][0]["pages"][0]["requires"] = ["no/such-page"]
    with pytest.raises(ManifestError, match="unknown pages"):
        validate(unknown)
    typo = copy.deepcopy(data())
    typo["sections"][0]["pages"][0]["modules_"] = []
    with pytest.raises(ManifestError, match="unknown keys"):
        validate(typo)
