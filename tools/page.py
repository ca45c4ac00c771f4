"""Start a page pair from the template: ``python -m tools.page new SECTION/NAME`` (``make new-page``).

Writes ``docs/<s>/<p>.md`` and ``.zh.md``, ``snippets/<s>/<p>.py`` with its recorded output, and
``tests/<s>/test_<p>.py`` from ``tools/templates/*.tmpl`` and adds the page's entry (with its module)
to ``docs/roadmap.yml``. Nothing else: what is computed from the manifest (the summary's links, the
stages pages' hours, their outputs and figure) is made at build time (``tools.derived``).
The result passes ``make test``; edit the titles, times and text from there.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from tools import manifest, outputs
from tools.paths import DOCS, MANIFEST, ROOT

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGE_PATH = re.compile(r"^[a-z][a-z0-9-]*/[a-z][a-z0-9-]*$")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(path.relative_to(ROOT))


def manifest_entry(path: str, module: str, title: str, read: int) -> str:
    return (
        f"      - {{path: {path}, title: {{en: {title}, zh: {title}}}, read: {read}, run: 5, "
        f"requires: [], modules: [{module}]}}"
    )


def add_to_manifest(path: str, module: str, title: str) -> str:
    """Insert the entry after the last page of the same folder, or as a new section at the end.
    Returns the stage id the page is in."""
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    folder = path.split("/")[0]
    same_folder = [i for i, line in enumerate(lines) if line.startswith(f"      - {{path: {folder}/")]
    last = max(same_folder, default=None)
    entry = manifest_entry(path, module, title, read=20)  # minutes: set the page's real reading time
    if last is None:
        name = folder.replace("-", " ").capitalize()
        lines += [f"  - title: {{en: {name}, zh: {name}}}", "    stage: frontiers", "    pages:", entry]
    else:
        lines.insert(last + 1, entry)
    MANIFEST.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(MANIFEST.relative_to(ROOT))
    manifest.data.cache_clear()
    manifest.pages.cache_clear()
    return manifest.page(path).stage


def record(module: str, variant: str | None) -> None:
    result = outputs.capture(module, outputs.arguments(variant))
    if result.returncode != 0:
        raise SystemExit(f"{module} failed:\n{result.stderr}")
    write(outputs.output_path(module, variant), result.stdout)


def new_page(path: str) -> None:
    """Write a page pair, its snippet, test, output and manifest entry from the template."""
    if not PAGE_PATH.match(path):
        raise SystemExit(f"expected SECTION/NAME in lower case with '-' between words, got {path!r}")
    if any(entry.path == path for entry in manifest.pages()):
        raise SystemExit(f"{path} is already in docs/roadmap.yml")
    module = manifest.derived_module(path)
    section, name = module.split(".")[1:]
    title = path.split("/")[1].replace("-", " ").capitalize()
    fields = {"path": path, "section": section, "module": name, "title_en": title, "title_zh": title}
    targets = {
        DOCS / f"{path}.md": "page.md.tmpl",
        DOCS / f"{path}.zh.md": "page.zh.md.tmpl",
        manifest.module_file(module): "snippet.py.tmpl",
        ROOT / manifest.claim_test_file(module): "test.py.tmpl",
    }
    clashes = [str(target.relative_to(ROOT)) for target in targets if target.exists()]
    if clashes:
        raise SystemExit(f"these files exist already: {clashes}")
    for package in (ROOT / "snippets" / section, ROOT / "tests" / section):
        if not (package / "__init__.py").exists():
            write(package / "__init__.py", "")
    for target, template in targets.items():
        write(target, (TEMPLATES / template).read_text(encoding="utf-8").format(**fields))
    add_to_manifest(path, module, title)
    record(module, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.page", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("new", help="start a page pair from the template")
    new.add_argument("path", metavar="SECTION/NAME", help="e.g. optimization/line-search")
    args = parser.parse_args(argv)
    new_page(args.path)
    print(f"next: edit the files above, then `make test-page PAGE={args.path}`", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
