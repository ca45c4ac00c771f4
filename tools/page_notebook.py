"""A page's code as a reader copies it, and the page as a notebook.

- :func:`page_cells` reads a Markdown page as the built site shows it (``--8<--`` includes
  expanded) and splits it into cells: each runnable Python fence a code cell, the prose between
  them a Markdown cell. Content tabs keep their alternatives in page order, each under its tab
  title; admonitions (claim boxes, exercises and their solutions) become Markdown with their title
  in bold; maths is left as written; relative links and figures point at the published site.
- :func:`page_notebook` makes the notebook (nbformat v4, no outputs) whose first cell is a
  commented ``%pip install`` line with the pinned versions of the packages the page imports.
  The MkDocs hook ``docs/overrides/hooks/page_notebooks.py`` writes one next to every page with
  Python code, in the page's language; notebooks are generated, never edited.
- :func:`run_outside` runs code as a reader would: in an empty temporary folder, with the
  repository not importable (``python -I``: no ``PYTHONPATH``, no current folder on ``sys.path``).
"""

from __future__ import annotations

import ast
import hashlib
import os
import posixpath
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import markdown
import nbformat
from markdown_it import MarkdownIt

from tools.markdown_fences import PYTHON_LANGS, fence_language, snippet_options, unwrap_containers
from tools.paths import ROOT

FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
CONTAINER = re.compile(r'^(\s*)(===[+!]?|!!!|\?\?\?\+?)\s+([\w-]*)\s*(?:"([^"]*)")?\s*$')
LINK = re.compile(r"(!?\[[^\]\n]*\]\()([^)\s]+)(\))")
LABELS = {
    "en": {
        "pip": "Install the pinned packages this page uses (remove the '# ' to run it):",
        "source": "Generated from the page {url}: run the cells from top to bottom.",
    },
    "zh": {
        "pip": "安装本页用到的固定版本依赖（去掉行首的 '# ' 后运行）：",
        "source": "本 Notebook 由页面 {url} 生成：请从上到下依次运行各单元。",
    },
}


def expand_includes(text: str, options: dict | None = None) -> str:
    """Replace ``--8<--`` includes as the site build does (options as in mkdocs.yml by default)."""
    if options is None:
        options = snippet_options()
    else:
        options = dict(options)
        options["base_path"] = [str(ROOT / base) for base in options.get("base_path", ["."])]
    md = markdown.Markdown(extensions=["pymdownx.snippets"], extension_configs={"pymdownx.snippets": options})
    return "\n".join(md.preprocessors["snippet"].run(text.split("\n")))


@dataclass(frozen=True)
class Cell:
    kind: str  # "markdown" or "code"
    text: str


def is_python(token) -> bool:
    lang, options = fence_language(token)
    return lang in PYTHON_LANGS and "notest" not in options


def container_title(line: str) -> list[str]:
    """A tab's or admonition's first line as the notebook shows it: its title in bold."""
    match = CONTAINER.match(line)
    title = match.group(4) if match else ""
    if match and title is None:  # an admonition without a title shows its type, as Material does
        title = match.group(3).replace("-", " ").capitalize()
    return ["", f"**{title}**" if title else "", ""]


def titled_containers(text: str) -> str:
    """Dedent tabs and admonitions like the page-code runner, keeping each title as a bold line."""
    return unwrap_containers(text, container_title)


def absolute_links(markdown: str, source: str, language: str, site_url: str) -> str:
    """Relative links and figures of ``docs/<source>`` as addresses on the published site."""
    base = site_url.rstrip("/") + "/"

    def replace(match: re.Match[str]) -> str:
        target = match.group(2)
        if re.match(r"^[a-z]+:|^#|^/", target):
            return match.group(0)
        path, _, anchor = target.partition("#")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(source), path))
        if resolved.endswith((".md", ".ipynb")):
            page = re.sub(r"(\.zh)?\.(md|ipynb)$", "", resolved)
            page = "" if page == "index" else page.removesuffix("/index") + "/"
            prefix = "zh/" if language == "zh" else ""
            resolved = prefix + page
        url = base + resolved + (f"#{anchor}" if anchor else "")
        return f"{match.group(1)}{url}{match.group(3)}"

    return LINK.sub(replace, markdown)


def page_cells(text: str, snippet_options: dict | None = None) -> list[Cell]:
    """The page's prose and runnable Python fences, in page order, as notebook cells."""
    expanded = expand_includes(FRONT_MATTER.sub("", text), snippet_options)
    lines = titled_containers(expanded).split("\n")
    cells: list[Cell] = []
    prose: list[str] = []

    def flush() -> None:
        chunk = "\n".join(prose).strip("\n")
        chunk = re.sub(r"\n{3,}", "\n\n", chunk)
        if chunk.strip():
            cells.append(Cell("markdown", chunk))
        prose.clear()

    position = 0
    for token in MarkdownIt("commonmark").parse("\n".join(lines)):
        if token.type != "fence" or not token.map or not is_python(token):
            continue
        start, end = token.map
        prose.extend(lines[position:start])
        flush()
        cells.append(Cell("code", token.content.rstrip("\n")))
        position = end
    prose.extend(lines[position:])
    flush()
    return cells


def page_script(text: str, snippet_options: dict | None = None) -> str:
    """Every runnable Python fence of the page, in order: what a reader pastes into one file."""
    return "\n".join(cell.text for cell in page_cells(text, snippet_options) if cell.kind == "code")


@cache
def pins() -> dict[str, str]:
    """``requirements.txt`` as {normalized distribution name: pinned requirement}."""
    found = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name = line.split("==")[0].strip()
            found[normalized(name)] = line
    return found


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_packages(code: str) -> set[str]:
    """Top-level names of the third-party modules ``code`` imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name != "__future__"}


@cache
def distributions() -> dict[str, list[str]]:
    return packages_distributions()


def pinned_requirements(code: str) -> list[str]:
    """The pinned distributions that provide the modules ``code`` imports, sorted."""
    distributions_of = distributions()
    wanted = set()
    for module in imported_packages(code):
        for distribution in distributions_of.get(module, [module]):
            if normalized(distribution) in pins():
                wanted.add(pins()[normalized(distribution)])
    return sorted(wanted, key=str.lower)


def page_notebook(
    text: str,
    source: str,
    language: str,
    site_url: str = "http://127.0.0.1:8000/",
    snippet_options: dict | None = None,
) -> nbformat.NotebookNode:
    """The notebook of page ``docs/<source>`` (Markdown text ``text``) in ``language``."""
    from tools import derived

    text = derived.fill_markers(text, source.replace(".zh.", "."), language)
    cells = page_cells(text, snippet_options)
    code = "\n".join(cell.text for cell in cells if cell.kind == "code")
    labels = LABELS[language]
    page_url = absolute_links(f"[x]({posixpath.basename(source)})", source, language, site_url)[4:-1]
    install = " ".join(pinned_requirements(code))
    notebook_cells = [
        nbformat.v4.new_code_cell(f"# {labels['pip']}\n# %pip install {install}", id="pip-install"),
        nbformat.v4.new_markdown_cell(labels["source"].format(url=f"<{page_url}>"), id="source"),
    ]
    for number, cell in enumerate(cells):
        if cell.kind == "code":
            notebook_cells.append(nbformat.v4.new_code_cell(cell.text, id=f"cell-{number}"))
        else:
            markdown = absolute_links(cell.text, source, language, site_url)
            notebook_cells.append(nbformat.v4.new_markdown_cell(markdown, id=f"cell-{number}"))
    return nbformat.v4.new_notebook(
        cells=notebook_cells,
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )


def outside_environment() -> dict[str, str]:
    """The environment of a reader's shell: no PYTHONPATH, plots drawn off-screen."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env["MPLBACKEND"] = "Agg"
    return env


# The one data file page code reads by name (the roadmap and summary pages compute from the site's
# own page list): copied to the same relative path, as a reader running that code keeps it.
DATA_FILES = ("docs/roadmap.yml",)


def run_outside(script: str, timeout: float = 600, name: str = "page.py") -> subprocess.CompletedProcess:
    """Run ``script`` with this Python in an empty temporary folder, the repository not importable."""
    with tempfile.TemporaryDirectory(prefix="page-code-") as folder:
        for data in DATA_FILES:
            if Path(data).name in script:
                (Path(folder) / data).parent.mkdir(parents=True, exist_ok=True)
                (Path(folder) / data).write_bytes((ROOT / data).read_bytes())
        path = Path(folder) / name
        path.write_text(script, encoding="utf-8")
        return subprocess.run(
            [sys.executable, "-I", name],
            cwd=folder,
            env=outside_environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def passed_marker(script: str) -> Path | None:
    """Where this test run notes that code passed, keyed by its syntax tree (comments, which differ
    between the English and Chinese page, do not count) and the settings that change results; None
    outside a pytest-xdist run."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run:
        return None
    settings = "|".join(os.environ.get(name, "") for name in ("SNIPPETS_SEED", "ATEN_CPU_CAPABILITY"))
    key = hashlib.sha256(f"{settings}|{ast.dump(ast.parse(script))}".encode()).hexdigest()[:32]
    folder = Path(tempfile.gettempdir()) / f"page-code-{run}"
    folder.mkdir(exist_ok=True)
    return folder / key


SCRIPT_LINE = re.compile(r'(File "[^"]*page\.py", line (\d+))')


def current_page() -> str:
    """The page the running pytest item belongs to (``docs/a/b.md``), or "" outside pytest."""
    return os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[0]


def page_location(script: str, line: int, origins: list[tuple[int, int, str]]) -> str:
    """Where line ``line`` of a page's script comes from: the page's file and line, and for an
    included snippet the snippet file's line too."""
    starts = [origin for origin in origins if origin[0] <= line]
    if not starts:
        return ""
    script_start, page_line, included = starts[-1]
    page = current_page() or "the page"
    if not included:
        return f"{page}:{page_line + line - script_start}"
    code = script.splitlines()[line - 1].strip() if line <= len(script.splitlines()) else ""
    where = f"{page}:{page_line} (the fence that includes {included}"
    snippet = ROOT / included
    if code and snippet.is_file():
        hits = [
            n
            for n, text in enumerate(snippet.read_text(encoding="utf-8").splitlines(), 1)
            if text.strip() == code
        ]
        if len(hits) == 1:
            where += f", its line {hits[0]}"
    return where + ")"


def locate_errors(stderr: str, script: str, origins: list[tuple[int, int, str]]) -> str:
    """Add the page's file and line to each ``File "page.py", line N`` of a traceback."""

    def annotate(match: re.Match[str]) -> str:
        location = page_location(script, int(match.group(2)), origins)
        return f"{match.group(1)} [{location}]" if location else match.group(1)

    return SCRIPT_LINE.sub(annotate, stderr)


def check_outside(
    script: str, timeout: float = 600, origins: list[tuple[int, int, str]] | None = None
) -> None:
    """Run a page's code outside the repository; fail with the end of its error output, each line
    of the page's script named by the page's file and line (``origins``: see
    ``tools.markdown_fences.fence_origins``).

    Both languages of a page show the same code with other comments: in one test run, code that
    already passed (or is running in another worker) is run once.
    """
    marker = passed_marker(script)
    lock = marker.with_suffix(".running") if marker else None
    if lock is not None:
        try:
            os.close(os.open(lock, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            deadline = time.monotonic() + timeout
            while lock.exists() and time.monotonic() < deadline:
                time.sleep(0.5)
            lock = None
        if marker.exists():
            print("the same code passed on the other language's page in this run")
            return
    try:
        result = run_outside(script, timeout=timeout)
        sys.stdout.write(result.stdout)
        if result.returncode != 0:
            stderr = locate_errors(result.stderr, script, origins or [])
            tail = "\n".join(stderr.strip().splitlines()[-25:])
            raise AssertionError(
                f"page code failed outside the repository (exit {result.returncode}):\n{tail}"
            )
        if marker is not None:
            marker.touch()
    finally:
        if lock is not None:
            lock.unlink(missing_ok=True)
