"""No English words inside ``\\text{}`` in the maths of a Chinese page.

A formula on a ``.zh.md`` / ``.zh.ipynb`` page writes its words in Chinese (``\\text{惩罚项}``, not
``\\text{penalty}``). Words of two or more Latin letters inside ``\\text{...}`` (also ``\\textrm``,
``\\textit``, ``\\textsf``, ``\\textbf``) fail, except the proper names, abbreviations and notation in
``ALLOWED``, which Chinese texts write in Latin letters too. A code identifier goes in ``\\texttt{}``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import chinese_pages, page_text

ALLOWED = {
    # metrics and standard abbreviations, written the same in Chinese texts
    "TP",
    "FP",
    "TN",
    "FN",
    "TPR",
    "FPR",
    "AUC",
    "ROC",
    "AP",
    "MSE",
    "MAE",
    "KL",
    "DP",
    "EO",
    "IG",
    "BN",
    "SGD",
    "Adam",
    "ReLU",
    "GELU",
    "softmax",
    "sigmoid",
    "tanh",
    "logit",
    "logits",
    "CLS",
    "BOS",
    "EOS",
    "PAD",
    "UNK",
    "GPU",
    "CPU",
    "FLOP",
    "FLOPs",
    "VaR",
    "IoU",
    "mAP",
    "recall",
    "precision",  # metric names used as subscripts, as in the English literature
    "in",
    "out",
    "val",
    "max",
    "min",
    "clip",
    "train",
    "test",  # conventional subscripts
    "RMSE",
    "CV",
    "avg",
    "mat",  # abbreviations: root mean squared error, cross-validation, average, matrix
    "data",
    "model",  # p_data, p_model, d_model: the notation of the GAN and Transformer papers
    "Bernoulli",  # a proper name
}
MATH = re.compile(r"\$\$.*?\$\$|(?<![\\$])\$[^$\n]+?\$|\\\(.*?\\\)|\\\[.*?\\\]", re.DOTALL)
TEXT = re.compile(r"\\text(?:rm|it|sf|bf)?\{([^{}]*)\}")
WORD = re.compile(r"[A-Za-z]{2,}")


def english_words(text: str) -> list[str]:
    words = []
    for maths in MATH.findall(text):
        for content in TEXT.findall(maths):
            words += [word for word in WORD.findall(content) if word not in ALLOWED]
    return words


def test_english_words_are_found() -> None:
    assert english_words(r"$L_1\text{-penalised}$ and $\text{惩罚项}$") == ["penalised"]
    assert english_words(r"$\text{recall}_c$") == []


@pytest.mark.parametrize("page", chinese_pages(), ids=str)
def test_no_english_inside_text_in_chinese_maths(page: Path) -> None:
    found = english_words(page_text(page))
    assert not found, (
        f"docs/{page}: English inside \\text{{}} in maths: {sorted(set(found))}; write it in Chinese, "
        "or add a proper name or abbreviation to ALLOWED in tests/test_chinese_maths.py"
    )
