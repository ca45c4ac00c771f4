"""Every number in a page's prose is printed by its code, asserted by its tests, or cited.

What is read. Each page (``.md``, and the markdown cells of a notebook page) is masked first, keeping
line numbers: code fences, front matter, headings, HTML comments and tags, maths (``$...$``,
``$$...$$``, ``\\(...\\)``, ``\\[...\\]``), inline code, ``--8<--`` includes, link targets, the text of
links to other sites (the link is the citation) and the References section ("References", "参考文献").
What is left is prose: paragraphs, list items, table rows, admonitions, figure alt texts and
captions. A claim box (``!!! claim``) is read strictly: a citation does not count there, because the
box states what the tests check.

Where a number may come from (the page pair's *sources*, read from both languages):

- printed: a recorded output the page includes (``snippets/**/*.out.txt``), or a notebook page's
  stored cell outputs;
- asserted: a test module that imports one of the page's snippet modules or names the page, or the
  snippet module itself (its defaults and constants);
- shown: a code fence on the page (without its comments), e.g. ``epochs=20``, or a command in
  inline code (``--batch 250``);
- worked out: the same sentence writes the number in its maths ("flags 40 of them, recall is
  $40/50$");
- cited: a link to an external source (``](http``) or a footnote marker ``[^...]`` in the same
  sentence or on the same source line (a table row is one line).

A prose number matches a source number when the source, rounded to the decimals the prose shows,
equals it (``97%`` matches ``0.9712``; ``0.97`` matches ``97.1%``; ``1,797`` matches ``1797``).

Exemptions (not claims, or not checkable):

- integers 0 to 10 written without decimals, ``%`` or ``×``: counts and small ordinals ("2 of 8
  experts", "3 × 3 kernel");
- years 1900 to 2099 written as four bare digits, not followed by ``%`` or ``×``;
- ordinals: ordered-list markers, and numbers after "exercise", "step", "stage", "level", "figure",
  "chapter", "section", "version", "page", "item", "line", "row", "column", "§", "第", "练习", "步",
  "阶段", "级", "图", "章", "节";
- version strings: ``x.y.z``, and ``x.y`` directly after a capitalised or library name
  ("Python 3.13", "TensorFlow 2.21", "torch 2.13");
- numbers that are part of a name (a letter or ``-`` right before them: ``L1``, ``ResNet-50``,
  ``fp16``, ``CIFAR-10``) or followed by a letter that is not a unit of scale (``3D``, ``1st``);
- identifiers: after ``/`` (``2017/745``, ``C-634/21``), after the name of a standard or document
  series (``ISO 26262``, ``UL 4600``, ``SR 11-7``, ``RFC``, ``PEP``), before ``(k)``
  (``510(k)``); days and months of dates (``1 November``, ``11 月``);
- ``PER_PAGE``: a few page-specific entries, each with its reason.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.helpers import DOCS, ROOT, english_pages, page_text, translation_of

_GRID_FULL = "quoted from the pasted `--grid full` run on the page (nine trainings, not recorded: suite time)"
_NLP_FULL = "quoted from the pasted `--full` run on the page (17,356 reviews: minutes of CPU, not recorded)"
PER_PAGE: dict[str, dict[str, str]] = {
    "projects/image-recognition": {number: _GRID_FULL for number in ("0.994", "355", "0.989")},
    "projects/nlp": {number: _NLP_FULL for number in ("13,017", "4,339", "17,566", "0.855", "0.804")},
}
"""``{"section/page": {"number": "why it needs no output, test or citation"}}``, both languages."""

INCLUDE = re.compile(r"""--8<--\s*["']([^"':]+)(?::[^"']*)?["']""")
SNIPPET_IMPORT = re.compile(r"\b(snippets(?:\.\w+)+)")
NUMBER = re.compile(
    r"(?<![\w.])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)*)"
    r"(?:\s*[×x]\s*10(?P<sup>[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)|[eE](?P<exp>[-+]?\d+))?"
)
SOURCE_NUMBER = re.compile(r"(?<![\w.])\d[\d_]*(?:\.\d+)?(?:[eE][-+]?\d+)?|(?<![\w.])\.\d+")
SUPERSCRIPT = str.maketrans("⁻⁺⁰¹²³⁴⁵⁶⁷⁸⁹", "-+0123456789")
ORDINAL_WORDS = re.compile(
    r"(?:exercises?|steps?|stages?|levels?|figures?|fig\.|chapters?|sections?|versions?|pages?|items?"
    r"|lines?|rows?|columns?|parts?|articles?|lectures?|§|第|练习|步|阶段|级|图|章|节|版本)\s*$",
    re.IGNORECASE,
)
LIBRARY = re.compile(
    r"(?:[A-Z][\w.+-]*|torch|pytorch|numpy|pandas|scikit-learn|onnx\w*|jieba|optuna|captum|gymnasium"
    r"|fastapi|mkdocs\S*|python|cuda|transformers|matplotlib|scipy|horovod|deepspeed|v)\s?$"
)
SCALE_UNITS = re.compile(r"\s?[%×倍万亿]|[x×]\b")
CHINESE_SCALE = {"万": 1e4, "亿": 1e8}
CITATION = re.compile(r"\]\(\s*<?https?://|<https?://|\[\^[^\]]+\]")
REFERENCES_HEADING = re.compile(r"^#{1,6}\s+(?:References|参考文献|参考资料)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    line: int
    number: str
    claim_box: bool

    def message(self, page: Path) -> str:
        tests = (
            ", ".join(str(path.relative_to(ROOT)) for path in page_test_modules(page)) or "tests/<section>/"
        )
        if self.claim_box:
            return (
                f"docs/{page}:{self.line}: the number {self.number} in a claim box has no provenance: "
                f"print it in the code or assert it in {tests} (a citation does not count in a claim box)"
            )
        return (
            f"docs/{page}:{self.line}: the number {self.number} has no provenance: print it in the code, "
            f"assert it in {tests}, or cite a source on the same line (a link to the primary source)"
        )


# --- masking: keep offsets and line numbers, blank out what is not prose -------------------------


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def _blank_all(text: str, pattern: re.Pattern[str], group: int = 0) -> str:
    for match in reversed(list(pattern.finditer(text))):
        text = _blank(text, match.start(group), match.end(group))
    return text


FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,}).*?^\1\2[`~]*[ \t]*$", re.MULTILINE | re.DOTALL)
FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
DISPLAY_MATH = re.compile(r"\$\$.*?\$\$|\\\[.*?\\\]", re.DOTALL)
INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\s)[^$\n]+?(?<![\s\\])\$|\\\(.*?\\\)")
INLINE_CODE = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)")
EXTERNAL_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?https?://[^)]*\)|<https?://[^>]+>")
LINK_TARGET = re.compile(r"\]\(([^)]*)\)|^\s*\[[^\]]+\]:\s*\S+.*$", re.MULTILINE)
HTML_TAG = re.compile(r"</?[a-zA-Z][^>\n]*>")
HEADING = re.compile(r"^#{1,6}\s.*$", re.MULTILINE)
INCLUDE_LINE = re.compile(r"^.*--8<--.*$", re.MULTILINE)
CONTAINER_LINE = re.compile(r"^\s*(?:[!?]{3}\+?|===)\s.*$", re.MULTILINE)
LIST_MARKER = re.compile(r"^\s*\d+[.)](?=\s)", re.MULTILINE)


def mask(text: str) -> str:
    """The prose of a page: everything else replaced by spaces, line structure kept."""
    text = _blank_all(text, FENCE)
    text = _blank_all(text, FRONT_MATTER)
    text = _blank_all(text, COMMENT)
    text = _blank_all(text, DISPLAY_MATH)
    text = _blank_all(text, INLINE_CODE)
    text = _blank_all(text, INLINE_MATH)
    text = _blank_all(text, EXTERNAL_LINK)
    text = _blank_all(text, LINK_TARGET)
    text = _blank_all(text, HTML_TAG)
    text = _blank_all(text, INCLUDE_LINE)
    text = _blank_all(text, CONTAINER_LINE)
    text = _blank_all(text, LIST_MARKER)
    lines = text.split("\n")
    in_references = False
    for index, line in enumerate(lines):
        if line.startswith("#"):
            in_references = bool(REFERENCES_HEADING.match(line))
        if in_references or HEADING.match(line):
            lines[index] = " " * len(line)
    return "\n".join(lines)


def claim_box_lines(text: str) -> set[int]:
    """Line numbers (1-based) of the content of ``!!! claim`` boxes."""
    inside: set[int] = set()
    indent: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"^(\s*)!!!\+?\s+claim\b", line)
        if match:
            indent = len(match.group(1))
            continue
        if indent is not None:
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                indent = None
            else:
                inside.add(number)
    return inside


SENTENCE_END = re.compile(
    r"(?<!\be\.g)(?<!\bi\.e)(?<!\bal)(?<!\bvs)(?<!\bcf)(?<!\bEq)(?<!\bFig)[.!?](?=\s)|[。！？；]"
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentences of the masked text: split at sentence ends, blank lines and list items."""
    spans = []
    start = 0
    for match in re.finditer(
        rf"{SENTENCE_END.pattern}|\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)|\n(?=\s*\|)", text
    ):
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


# --- sources -----------------------------------------------------------------------------------


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def pair(page: Path) -> list[Path]:
    return [page, translation_of(page)] if (DOCS / translation_of(page)).exists() else [page]


def page_key(page: Path) -> str:
    """``architectures/cnn.zh.md`` -> ``architectures/cnn``."""
    name = page.as_posix()
    for suffix in (".zh.md", ".zh.ipynb", ".md", ".ipynb"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def snippet_modules(page: Path) -> set[str]:
    """Dotted names of the snippet modules a page pair includes or imports."""
    modules = set()
    for one in pair(page):
        text = page_text(one)
        for include in INCLUDE.findall(text):
            if include.endswith(".py"):
                modules.add(include.removesuffix(".py").replace("/", "."))
        modules.update(SNIPPET_IMPORT.findall(text))
    return {module for module in modules if ROOT.joinpath(*module.split(".")).with_suffix(".py").is_file()}


@cache
def _test_texts() -> dict[Path, str]:
    return {path: _read(path) for path in sorted((ROOT / "tests").rglob("test_*.py"))}


def page_test_modules(page: Path) -> list[Path]:
    """Test modules that import one of the page's snippet modules or name the page."""
    modules = snippet_modules(page)
    key = page_key(page)
    found = []
    for path, text in _test_texts().items():
        if path.name == Path(__file__).name:
            continue
        imported = {name for name in SNIPPET_IMPORT.findall(text)}
        if modules & imported or f"docs/{key}." in text or f'"{key}.md"' in text:
            found.append(path)
    return found


def notebook_outputs(page: Path) -> str:
    if page.suffix != ".ipynb":
        return ""
    parts = []
    for cell in json.loads(_read(DOCS / page)).get("cells", []):
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", [])))
            parts.extend("".join(value) for key, value in output.get("data", {}).items() if "text" in key)
    return "\n".join(parts)


def page_code(page: Path) -> str:
    """The code written on the page itself, without comments: fences, and commands in inline code."""
    code = [m.group(0) for m in INLINE_CODE.finditer(page_text(page)) if "--" in m.group(0)]
    for match in FENCE.finditer(page_text(page)):
        block = match.group(0)
        if re.match(r"\s*(`{3,}|~{3,})\s*\{?\.?(?:text|console|output)", block):
            continue
        code.append(re.sub(r"#.*", "", block))
    return "\n".join(code)


@cache
def source_values(page: Path) -> frozenset[float]:
    texts = []
    for one in pair(page):
        text = page_text(one)
        for include in INCLUDE.findall(text):
            if include.endswith(".out.txt"):
                texts.append(_read(ROOT / include))
        texts.append(notebook_outputs(one))
        texts.append(page_code(one))
    for module in snippet_modules(page):
        texts.append(_read(ROOT.joinpath(*module.split(".")).with_suffix(".py")))
    texts.extend(_read(path) for path in page_test_modules(page))
    values = set()
    for text in texts:
        for token in SOURCE_NUMBER.findall(text):
            try:
                value = float(token.replace("_", ""))
            except ValueError:
                continue
            values.update({value, value * 100, value / 100})
    return frozenset(values)


# --- prose numbers ------------------------------------------------------------------------------


def prose_value(match: re.Match[str], after: str) -> tuple[float, int]:
    """A prose number's value and the decimals it is written with (``11.2 万`` is 112,000)."""
    digits = match.group("num").replace(",", "")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    value = float(digits)
    scale = re.match(r"\s?([万亿])", after)
    if scale:
        value *= CHINESE_SCALE[scale.group(1)]
        decimals = max(0, decimals - (4 if scale.group(1) == "万" else 8))
    exponent = match.group("sup") or match.group("exp")
    if exponent:
        power = int(exponent.translate(SUPERSCRIPT))
        value *= 10.0**power
        decimals -= power  # 5e-5 is written to 5 decimals
    return value, decimals


def exempt(text: str, match: re.Match[str]) -> bool:
    raw = match.group("num")
    before, after = text[: match.start()], text[match.end() :]
    scientific = bool(match.group("sup") or match.group("exp"))
    if re.search(r"[A-Za-z][-‑]?$", before) or re.match(r"[A-Za-wyz]", after):
        return True  # part of a name (L1, ResNet-50, fp16) or 3D / 1st
    standard = re.search(r"\b(?:ISO|IEC|UL|SR|FDA|NISTIR|RFC|PEP|GB)\s$", before)
    if re.search(r"\w/$", before) or standard or re.match(r"\([a-z]\)", after):
        return True  # an identifier: 2017/745, C-634/21, ISO 26262, UL 4600, 510(k)
    if re.match(
        r"\s?[月日]|\s(?:January|February|March|April|May|June|July|August|September|October"
        r"|November|December)\b",
        after,
    ):
        return True  # a date: 1 November 2021, 11 月 1 日
    if raw.count(".") >= 2:
        return True  # version x.y.z
    if "." in raw and LIBRARY.search(before[-40:]):
        return True  # version after a name
    if ORDINAL_WORDS.search(before[-12:]):
        return True
    unit_after = bool(SCALE_UNITS.match(after))
    if not scientific and re.fullmatch(r"\d+", raw) and not unit_after:
        if int(raw) <= 10 or (len(raw) == 4 and 1900 <= int(raw) <= 2099):
            return True
    return False


def matches(value: float, decimals: int, sources: frozenset[float]) -> bool:
    if value == 0:
        return True
    scale = 10.0**decimals
    value = round(value, 12)
    for source in sources:
        if math.isclose(math.floor(abs(source) * scale + 0.5) / scale, value, rel_tol=1e-9):
            return True
        if math.isclose(abs(source), value, rel_tol=1e-9):
            return True
    return False


def worked_example(text: str, sentence: tuple[int, int], number: str) -> bool:
    """The sentence also writes the number in maths: it shows the calculation ("40 of them, $40/50$")."""
    maths = " ".join(m.group(0) for m in INLINE_MATH.finditer(text[sentence[0] : sentence[1]]))
    plain = number.replace(",", "")
    return bool(re.search(rf"(?<![\d.]){re.escape(plain)}(?![\d])", maths.replace("{,}", "")))


def findings(page: Path) -> list[Finding]:
    text = page_text(page)
    masked = mask(text)
    claims = claim_box_lines(text)
    allowed = PER_PAGE.get(page_key(page), {})
    sources = source_values(translation_of(page) if ".zh." in page.name else page)
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    lines = text.split("\n")
    spans = sentence_spans(masked)
    cited_spans = [(m.start(), m.end()) for m in CITATION.finditer(_blank_all(text, FENCE))]
    found = []
    for match in NUMBER.finditer(masked):
        if exempt(masked, match) or match.group("num") in allowed:
            continue
        value, decimals = prose_value(match, masked[match.end() :])
        if matches(value, decimals, sources):
            continue
        sentence = next((s for s in spans if s[0] <= match.start() < s[1]), (0, 0))
        if worked_example(text, sentence, match.group("num")):
            continue
        line = next(i for i in range(len(line_starts) - 1, -1, -1) if line_starts[i] <= match.start()) + 1
        in_box = line in claims
        if not in_box:
            if lines[line - 1].lstrip().startswith("|") and CITATION.search(lines[line - 1]):
                continue  # a table row is one claim: a citation anywhere in the row covers it
            if any(sentence[0] <= start < sentence[1] for start, _ in cited_spans):
                continue
        found.append(Finding(line, match.group(0).strip(), in_box))
    return found


def all_pages() -> list[Path]:
    return sorted({p for page in english_pages() for p in pair(page)})


@pytest.mark.parametrize("page", all_pages(), ids=str)
def test_every_number_is_printed_asserted_or_cited(page: Path) -> None:
    problems = findings(page)
    assert not problems, "\n".join(finding.message(page) for finding in problems)
