"""MkDocs hook: maths rendered at build time with the site's own KaTeX, so pages ship no maths JavaScript.

Rendering formulas in the reader's browser cost long pages one to three seconds of main-thread
time on a phone (KaTeX itself, then the layout that inserting thousands of elements forces).
Here the vendored ``katex.min.js`` runs once per build in an embedded V8 (``mini-racer`` from
PyPI, no Node.js or system package), and each page carries the finished HTML: the visual
KaTeX markup plus MathML, which screen readers read. Pages with maths only load
``katex.min.css`` (``docs/overrides/main.html``) and the fonts their formulas use, which this hook
preloads.

- Markdown pages: ``pymdownx.arithmatex`` (generic mode) writes ``\\(...\\)`` and ``\\[...\\]`` inside
  ``.arithmatex`` elements; their content is replaced by KaTeX's output.
- Headings with maths: MkDocs strips the markup from table-of-contents titles and leaves
  ``\\(...\\)`` there; it is rendered too.
- Notebook pages: markdown cells keep ``$...$`` and ``$$...$$``; they are found the way KaTeX's
  auto-render finds them in the browser (same delimiters, braces and backslashes skipped), in
  the text of ``.jp-RenderedMarkdown`` cells outside code.

This runs on the finished page (``on_post_page``), after the search plugin has indexed the page
text, so the search index keeps the TeX source and not KaTeX's markup. A formula KaTeX cannot
parse is a warning, which fails ``mkdocs build --strict``.
"""

from __future__ import annotations

import html
import json
import re
from functools import cache

from hook_support import is_notebook, paths
from mkdocs.plugins import event_priority, get_plugin_logger

KATEX = paths.DOCS / "assets" / "vendor" / "katex" / "katex.min.js"
log = get_plugin_logger("maths")

RENDER_ALL = """
function renderAll(items) {
  return JSON.stringify(items.map(([tex, display]) => {
    try {
      return [katex.renderToString(tex, {displayMode: display, throwOnError: true}), null];
    } catch (error) {
      return [katex.renderToString(tex, {displayMode: display, throwOnError: false}), String(error)];
    }
  }));
}
"""

ARITHMATEX = re.compile(r'<(span|div) class="arithmatex">(.*?)</\1>', re.DOTALL)
TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^>]*?)(/?)>")
SKIPPED = {"code", "pre", "script", "style", "textarea", "title", "option", "noscript", "svg", "math"}
INLINE_TEX = re.compile(r"\\\((.+?)\\\)", re.DOTALL)
MARKDOWN_CELL = re.compile(r'class="[^"]*\bjp-RenderedMarkdown\b')
DELIMITERS = (("$$", True), ("$", False))  # the order auto-render tries them


@cache
def engine():
    from py_mini_racer import MiniRacer

    context = MiniRacer()
    context.eval(KATEX.read_text(encoding="utf-8"))
    context.eval(RENDER_ALL)
    return context


_rendered: dict[tuple[str, bool], str] = {}


def render(formulas: list[tuple[str, bool]], where: str) -> dict[tuple[str, bool], str]:
    """KaTeX HTML (with MathML) for each ``(tex, display)``; one call into V8 per page, cached per build."""
    missing = list(dict.fromkeys(f for f in formulas if f not in _rendered))
    if missing:
        results = json.loads(engine().call("renderAll", missing))
        for formula, (markup, error) in zip(missing, results, strict=True):
            if error:
                log.warning("%s: KaTeX cannot render %r: %s", where, formula[0], error)
            _rendered[formula] = markup
    return _rendered


def render_arithmatex(output: str, where: str) -> str:
    """Replace the TeX inside pymdownx.arithmatex's elements with KaTeX's output."""

    def formula(match: re.Match[str]) -> tuple[str, bool]:
        source = html.unescape(match.group(2)).strip()
        return source[2:-2], source.startswith("\\[")

    matches = list(ARITHMATEX.finditer(output))
    if not matches:
        return output
    done = render([formula(m) for m in matches], where)
    return ARITHMATEX.sub(
        lambda m: f'<{m.group(1)} class="arithmatex">{done[formula(m)]}</{m.group(1)}>', output
    )


def end_of_maths(delimiter: str, text: str, start: int) -> int:
    """Where ``delimiter`` closes the formula that starts at ``start`` (auto-render's findEndOfMath)."""
    index, braces = start, 0
    while index < len(text):
        if braces <= 0 and text.startswith(delimiter, index):
            return index
        character = text[index]
        if character == "\\":
            index += 1
        elif character == "{":
            braces += 1
        elif character == "}":
            braces -= 1
        index += 1
    return -1


def split_maths(text: str) -> list[str | tuple[str, bool]]:
    """A text node as plain text pieces and ``(tex, display)`` formulas, like auto-render splits it."""
    pieces: list[str | tuple[str, bool]] = []
    while True:
        index = text.find("$")
        if index < 0:
            break
        delimiter, display = DELIMITERS[0] if text.startswith("$$", index) else DELIMITERS[1]
        end = end_of_maths(delimiter, text, index + len(delimiter))
        if end < 0:
            break
        pieces += [text[:index], (html.unescape(text[index + len(delimiter) : end]), display)]
        text = text[end + len(delimiter) :]
    return [*pieces, text]


def text_runs(output: str, only_markdown_cells: bool):
    """Yield ``(start, end)`` of each run of text outside code (and, for notebooks, inside markdown cells)."""
    divs: list[bool] = []  # open <div>s: is it a markdown cell?
    skipped, position = 0, 0
    for tag in TAG.finditer(output):
        inside = any(divs) or not only_markdown_cells
        if inside and not skipped and tag.start() > position:
            yield position, tag.start()
        closing, name, empty = tag.group(1), tag.group(2).lower(), tag.group(4)
        if name == "div" and not empty:
            if closing:
                if divs:
                    divs.pop()
            else:
                divs.append(bool(MARKDOWN_CELL.search(tag.group(3))))
        elif name in SKIPPED and not empty:
            skipped = max(skipped - 1, 0) if closing else skipped + 1
        position = tag.end()


def render_runs(output: str, where: str, only_markdown_cells: bool, split) -> str:
    """Render the formulas ``split`` finds in the text runs of ``output``."""
    runs = [(start, end, split(output[start:end])) for start, end in text_runs(output, only_markdown_cells)]
    runs = [run for run in runs if len(run[2]) > 1]
    if not runs:
        return output
    done = render([piece for *_, pieces in runs for piece in pieces if isinstance(piece, tuple)], where)
    parts, position = [], 0
    for start, end, pieces in runs:
        parts.append(output[position:start])
        parts += [done[piece] if isinstance(piece, tuple) else piece for piece in pieces]
        position = end
    return "".join([*parts, output[position:]])


def split_inline_tex(text: str) -> list[str | tuple[str, bool]]:
    r"""Text with ``\(...\)`` outside arithmatex's elements (MkDocs keeps it in table-of-contents titles)."""
    pieces: list[str | tuple[str, bool]] = []
    position = 0
    for match in INLINE_TEX.finditer(text):
        pieces += [text[position : match.start()], (html.unescape(match.group(1)), False)]
        position = match.end()
    return [*pieces, text[position:]]


KATEX_CSS = KATEX.with_name("katex.min.css")
FONT_FACE = re.compile(r"@font-face\{([^}]*)\}")
FONT_RULE = re.compile(r"([^{}]+)\{([^{}]*font-family:KaTeX_[^{}]*)\}")
COMPOUND = re.compile(r"\.katex ((?:\.[\w-]+)+)")
CLASSES = re.compile(r'class="([^"]*)"')
STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]*)katex\.min\.css">')


def declarations(block: str) -> dict[str, str]:
    pairs = (part.split(":", 1) for part in block.split(";") if ":" in part)
    return {name.strip(): value.strip().strip('"') for name, value in pairs}


@cache
def class_fonts() -> list[tuple[frozenset[str], str]]:
    """(classes, font file) for each rule of katex.min.css that gives elements with all of those
    classes a KaTeX font, e.g. ({"delimsizing", "size1"}, "KaTeX_Size1-Regular.woff2")."""
    css = KATEX_CSS.read_text(encoding="utf-8")
    files = {}
    for block in FONT_FACE.findall(css):
        face = declarations(block)
        key = (face["font-family"], face.get("font-weight", "400"), face.get("font-style", "normal"))
        files[key] = re.search(r"fonts/([\w-]+\.woff2)", face["src"]).group(1)
    fonts = []
    for selectors, block in FONT_RULE.findall(css):
        rule = declarations(block)
        weight = rule.get("font-weight", "400")
        key = (rule["font-family"], "700" if weight == "bold" else weight, rule.get("font-style", "normal"))
        for selector in selectors.split(","):
            match = COMPOUND.fullmatch(selector.strip())
            if match and key in files:  # descendant rules (".mult .delim-size1>span") are left out
                fonts.append((frozenset(match.group(1).strip(".").split(".")), files[key]))
    return fonts


def fonts_used(output: str) -> list[str]:
    """The KaTeX font files the page's formulas are set in: KaTeX_Main (the base font) and the
    font of every KaTeX class combination the page uses."""
    used = {"KaTeX_Main-Regular.woff2"}
    for value in set(CLASSES.findall(output)):
        classes = set(value.split())
        used.update(font for needed, font in class_fonts() if needed <= classes)
    return sorted(used)


def with_font_preloads(output: str) -> str:
    """KaTeX's fonts are ``font-display: block`` and found only while the first layout runs; each
    one that arrives afterwards makes Chromium restyle every element that uses it (seen in a trace
    as "Fonts" invalidations after start-up). The page asks for the fonts it uses at once."""
    link = STYLESHEET.search(output)
    if not link:
        return output
    preloads = "".join(
        f'<link rel="preload" href="{link.group(1)}fonts/{name}" as="font" type="font/woff2" crossorigin>'
        for name in fonts_used(output)
    )
    return output[: link.end()] + preloads + output[link.end() :]


@event_priority(50)  # before the notebook hook trims the notebook stylesheet
def on_post_page(output: str, page, config) -> str:
    where = page.file.src_uri
    if is_notebook(page.file):
        output = render_runs(output, where, True, split_maths)
    output = render_arithmatex(output, where)
    if "\\(" in output:
        output = render_runs(output, where, False, split_inline_tex)
    return with_font_preloads(output)
