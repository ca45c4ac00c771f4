"""The one loader of ``docs/roadmap.yml``, the manifest of the site's pages.

Everything that needs the page list (MkDocs hooks, the summary and stages pages' command lines, the
tests, the budget report) asks this module. It reads the file once, checks its structure and
prerequisite graph, and answers with :class:`Page` entries. ``ROOT`` and ``DOCS`` come from
:mod:`tools.paths` (the one place the root is computed).

A page owns the snippet modules its entry lists under ``modules`` (dotted names). By the naming rule
``docs/<s>/<p>.md`` <-> ``snippets/<s>/<p>.py`` <-> ``tests/<s>/test_<p>.py`` (``-`` becomes ``_``),
the tests of module ``snippets.<s>.<m>`` are ``tests/<s>/test_<m>.py``; an entry states any
exception with ``tests`` (a list of test files relative to the root).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import yaml

from tools.paths import DOCS, MANIFEST, ROOT

LANGUAGES = ("en", "zh")
PAGE_SUFFIXES = (".md", ".ipynb")
PAGE_KEYS = {"path", "title", "read", "run", "requires", "modules", "tests"}


class ManifestError(ValueError):
    """docs/roadmap.yml breaks one of its rules; the message names the entry."""


@dataclass(frozen=True)
class Page:
    """One page entry of the manifest, with its section's stage."""

    path: str
    title: dict[str, str]
    stage: str
    section: dict[str, str]
    read: int
    run: int
    requires: tuple[str, ...]
    modules: tuple[str, ...]
    declared_tests: tuple[str, ...]

    @property
    def source(self) -> str | None:
        """The English source file (Markdown or notebook) relative to docs/, or None while planned."""
        for suffix in PAGE_SUFFIXES:
            if (DOCS / f"{self.path}{suffix}").is_file():
                return f"{self.path}{suffix}"
        return None

    @property
    def exists(self) -> bool:
        return self.source is not None

    def sources(self) -> list[str]:
        """Both languages' source files relative to docs/ (existing ones)."""
        if self.source is None:
            return []
        stem, suffix = self.source.rsplit(".", 1)
        return [name for name in (self.source, f"{stem}.zh.{suffix}") if (DOCS / name).is_file()]

    @property
    def tests(self) -> tuple[str, ...]:
        """The page's claim test files relative to the root: declared, else one per module."""
        if self.declared_tests:
            return self.declared_tests
        return tuple(claim_test_file(module) for module in self.modules)

    def outputs(self) -> list[Path]:
        """The recorded outputs of the page's modules (plain and variants)."""
        found = []
        for module in self.modules:
            path = module_file(module)
            found += sorted(path.parent.glob(f"{path.stem}.out.txt"))
            found += sorted(path.parent.glob(f"{path.stem}.*.out.txt"))
        return found


def module_file(module: str) -> Path:
    """``snippets.a.b`` -> ``ROOT/snippets/a/b.py``."""
    return ROOT.joinpath(*module.split(".")).with_suffix(".py")


def claim_test_file(module: str) -> str:
    """``snippets.a.b`` -> ``tests/a/test_b.py``; ``snippets.b`` -> ``tests/test_b.py``."""
    *folders, name = module.split(".")[1:]
    return "/".join(["tests", *folders, f"test_{name}.py"])


def derived_module(path: str) -> str:
    """The module the naming rule gives a page: ``optimization/adaptive-optimizers`` ->
    ``snippets.optimization.adaptive_optimizers``."""
    return "snippets." + path.replace("-", "_").replace("/", ".")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ManifestError(f"docs/roadmap.yml: {message}")


def _page(entry: dict, section: dict, stages: set[str]) -> Page:
    path = entry.get("path", "?")
    _require(set(entry) <= PAGE_KEYS, f"{path}: unknown keys {sorted(set(entry) - PAGE_KEYS)}")
    _require(isinstance(entry.get("path"), str), f"a page entry has no path: {entry}")
    _require(set(entry.get("title", {})) == set(LANGUAGES), f"{path}: titles need en and zh")
    _require(isinstance(entry.get("read"), int) and entry["read"] > 0, f"{path}: read must be minutes > 0")
    _require(isinstance(entry.get("run"), int) and entry["run"] >= 0, f"{path}: run must be seconds >= 0")
    _require(isinstance(entry.get("requires"), list), f"{path}: requires must be a list")
    _require(section.get("stage") in stages, f"{path}: unknown stage {section.get('stage')!r}")
    modules = tuple(entry.get("modules", []))
    _require(all(m.startswith("snippets.") for m in modules), f"{path}: modules are snippets.<...> names")
    return Page(
        path=entry["path"],
        title=dict(entry["title"]),
        stage=section["stage"],
        section=dict(section["title"]),
        read=entry["read"],
        run=entry["run"],
        requires=tuple(entry["requires"]),
        modules=modules,
        declared_tests=tuple(entry.get("tests", [])),
    )


def validate(data: dict) -> list[Page]:
    """Check the manifest's structure and prerequisite graph; return its pages in site order."""
    _require(isinstance(data.get("stages"), list) and data["stages"], "needs a list of stages")
    stages = {stage["id"] for stage in data["stages"]}
    pages = [_page(entry, section, stages) for section in data["sections"] for entry in section["pages"]]
    by_path = {page.path: page for page in pages}
    _require(len(by_path) == len(pages), "a page path is listed twice")
    for language in LANGUAGES:
        titles = [page.title[language] for page in pages]
        _require(len(titles) == len(set(titles)), f"duplicate {language} titles")
    for page in pages:
        unknown = [required for required in page.requires if required not in by_path]
        _require(not unknown, f"{page.path} requires unknown pages {unknown}")
    try:
        TopologicalSorter({page.path: page.requires for page in pages}).prepare()
    except CycleError as error:
        raise ManifestError(f"docs/roadmap.yml: prerequisite cycle {' -> '.join(error.args[1])}") from None
    return pages


@cache
def data() -> dict:
    """The manifest as parsed YAML (checked by :func:`validate`)."""
    raw = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    validate(raw)
    return raw


@cache
def pages() -> tuple[Page, ...]:
    """Every page entry, in the order the site lists them."""
    return tuple(validate(data()))


def page(path: str) -> Page:
    """The entry of one page (``architectures/cnn``); KeyError names the unknown path."""
    for entry in pages():
        if entry.path == path:
            return entry
    raise KeyError(f"{path} is not in docs/roadmap.yml")


def stages() -> list[dict]:
    """The stages, in order: ``{"id": ..., "title": {"en": ..., "zh": ...}}``."""
    return data()["stages"]


def sections() -> list[dict]:
    """The sections as written in the manifest (title, stage, page entries)."""
    return data()["sections"]


def page_for_module(module: str) -> Page | None:
    """The page that owns a snippet module, or None."""
    return next((entry for entry in pages() if module in entry.modules), None)


def _page_files(chinese: bool) -> list[Path]:
    found = []
    for suffix in PAGE_SUFFIXES:
        for path in DOCS.rglob(f"*{suffix}"):
            if "overrides" in path.parts or ".ipynb_checkpoints" in path.parts:
                continue
            if path.name.endswith(f".zh{suffix}") == chinese:
                found.append(path.relative_to(DOCS))
    return sorted(found)


def english_pages() -> list[Path]:
    """Every English page file (``page.md`` or ``page.ipynb``) in docs/, relative to docs/."""
    return _page_files(chinese=False)


def chinese_pages() -> list[Path]:
    """Every Chinese page file (``page.zh.md`` or ``page.zh.ipynb``) in docs/, relative to docs/."""
    return _page_files(chinese=True)
