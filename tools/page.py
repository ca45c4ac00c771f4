"""Start a page pair from the template: ``python -m tools.page new SECTION/NAME`` (``make new-page``).

Writes ``docs/<s>/<p>.md`` and ``.zh.md``, ``snippets/<s>/<p>.py`` with its recorded output, and
``tests/<s>/test_<p>.py`` from ``tools/templates/*.tmpl``; adds the page's entry (with its module) to
``docs/roadmap.yml``; then refreshes what is computed from the manifest and committed: the stage
hours on both stages pages, the summary pages' links and recorded outputs, and the stages figure.
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
DERIVED_OUTPUTS = [("snippets.summary", None), ("snippets.summary", "zh"), ("snippets.roadmap.stages", None)]
HOURS = {
    "en": (r"(\*\*Time:\*\* about )([\d.]+)( h of reading)", "- New: [{title}]({link})."),
    "zh": (r"(\*\*时间：\*\* 约 )([\d.]+)( 小时阅读)", "- 新页面：[{title}]({link})。"),
}


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(path.relative_to(ROOT))


def manifest_entry(path: str, module: str, title: str, read: int) -> str:
    return (
        f"      - {{path: {path}, title: {{en: {title}, zh: {title}}}, read: {read}, run: 5, "
        f"requires: [], modules: [{module}]}}"
    )


def starting_read_minutes(stage: str) -> int:
    """Reading minutes that bring the stage to a whole half hour: the stages pages quote each
    stage's hours rounded to the half hour, and the stages output then prints that same number."""
    total = sum(page.read for page in manifest.pages() if page.stage == stage)
    return 30 - total % 30


def add_to_manifest(path: str, module: str, title: str) -> str:
    """Insert the entry after the last page of the same folder, or as a new section at the end.
    Returns the stage id the page is in."""
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    folder = path.split("/")[0]
    same_folder = [i for i, line in enumerate(lines) if line.startswith(f"      - {{path: {folder}/")]
    last = max(same_folder, default=None)
    neighbour = next((page for page in manifest.pages() if page.path.startswith(f"{folder}/")), None)
    read = starting_read_minutes(neighbour.stage if neighbour else "frontiers")
    entry = manifest_entry(path, module, title, read)
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


def stage_hours() -> dict[str, float]:
    """Reading hours per stage, rounded to the half hour as the stages pages quote them."""
    totals = {stage["id"]: 0.0 for stage in manifest.stages()}
    for page in manifest.pages():
        totals[page.stage] += page.read / 60
    return {stage: round(hours * 2) / 2 for stage, hours in totals.items()}


def stage_sections(text: str, language: str) -> dict[str, tuple[int, int]]:
    """Start and end of each stage's ``### title`` section in a page."""
    found = {}
    for stage in manifest.stages():
        match = re.search(rf"^### {re.escape(stage['title'][language])}\n(.*?)(?=^#)", text, re.M | re.S)
        if match:
            found[stage["id"]] = match.span(1)
    return found


def refresh_stage_hours() -> None:
    """Write the manifest's hours per stage into both stages pages."""
    hours = stage_hours()
    for language, name in (("en", "stages.md"), ("zh", "stages.zh.md")):
        page = DOCS / "roadmap" / name
        text = page.read_text(encoding="utf-8")
        for stage, (start, end) in sorted(stage_sections(text, language).items(), key=lambda s: -s[1][0]):

            def quote(match: re.Match[str], h: float = hours[stage]) -> str:
                return f"{match.group(1)}{h:g}{match.group(3)}"

            section = re.sub(HOURS[language][0], quote, text[start:end])
            text = text[:start] + section + text[end:]
        page.write_text(text, encoding="utf-8")


def link_from_summary(path: str, stage: str) -> None:
    """Add a line linking the new page to its stage's section of both summary pages."""
    page = manifest.page(path)
    for language, name in (("en", "summary.md"), ("zh", "summary.zh.md")):
        summary = DOCS / name
        text = summary.read_text(encoding="utf-8")
        start, end = stage_sections(text, language)[stage]
        line = HOURS[language][1].format(title=page.title[language], link=f"{path}.md")
        text = text[:end].rstrip("\n") + f"\n\n{line}\n\n" + text[end:].lstrip("\n")
        summary.write_text(text, encoding="utf-8")
        print(summary.relative_to(ROOT))


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
    stage = add_to_manifest(path, module, title)
    record(module, None)
    link_from_summary(path, stage)
    refresh_stage_hours()
    for derived_module, variant in DERIVED_OUTPUTS:
        record(derived_module, variant)
    from tools import figures

    print(figures.render("stages-hours", figures.registered_figures()["stages-hours"]).relative_to(ROOT))


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
