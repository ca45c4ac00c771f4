"""Recall-oriented screening on the Wisconsin breast cancer data: a PyTorch MLP next to logistic
regression, with the decision threshold chosen on a validation split to reach a target recall.

Run ``python -m snippets.applications.healthcare --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import numpy as np
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_score, recall_score, roc_auc_score, roc_curve
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


SIZE_WORDS = ("radius", "perimeter", "area")


def screening_splits(seed: int = 0, test_scale: float = 1.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """569 biopsies, 30 features each; label 1 = malignant. Stratified 60/20/20 split.

    The features are standardised with the mean and spread of the training part only.
    ``test_scale`` multiplies the size features (radius, perimeter, area) of the test part,
    to mimic a clinic whose measurements run larger or smaller (a dataset shift).
    """
    data = load_breast_cancer()
    x, y = data.data, 1 - data.target  # scikit-learn codes malignant as 0: flip it
    x_train, x_rest, y_train, y_rest = train_test_split(x, y, test_size=0.4, stratify=y, random_state=seed)
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=seed
    )
    size = [i for i, name in enumerate(data.feature_names) if name.split()[-1] in SIZE_WORDS]
    x_test = x_test.copy()
    x_test[:, size] *= test_scale
    scaler = StandardScaler().fit(x_train)
    return {
        "train": (scaler.transform(x_train), y_train),
        "val": (scaler.transform(x_val), y_val),
        "test": (scaler.transform(x_test), y_test),
    }


# --8<-- [end:setup]

from snippets.common import make_parser, positive_float, positive_int, run_cli  # noqa: E402


# --8<-- [start:models]
def train_mlp(
    x: np.ndarray, y: np.ndarray, hidden: int = 16, epochs: int = 300, lr: float = 0.01
) -> nn.Module:
    """A one-hidden-layer MLP trained full-batch with Adam on binary cross-entropy."""
    device = pick_device()
    inputs = torch.tensor(x, dtype=torch.float32, device=device)
    targets = torch.tensor(y, dtype=torch.float32, device=device).unsqueeze(1)
    model = nn.Sequential(nn.Linear(x.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, 1)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
    return model


def mlp_scores(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """Predicted probability of malignancy for each row of ``x``."""
    device = next(model.parameters()).device
    with torch.no_grad():
        logits = model(torch.tensor(x, dtype=torch.float32, device=device))
    return torch.sigmoid(logits).squeeze(1).cpu().numpy()


def train_logistic(x: np.ndarray, y: np.ndarray) -> LogisticRegression:
    """The baseline every clinical model should be compared with."""
    return LogisticRegression(max_iter=1000).fit(x, y)


# --8<-- [end:models]


# --8<-- [start:scratch-threshold]
def threshold_for_recall(y: np.ndarray, scores: np.ndarray, target: float) -> float:
    """The highest threshold t such that flagging ``scores >= t`` finds ``target`` of the positives."""
    positive_scores = np.sort(scores[y == 1])[::-1]  # highest first
    needed = int(np.ceil(target * len(positive_scores) - 1e-9))  # positives we must flag
    return float(positive_scores[max(needed, 1) - 1])


def recall_precision(y: np.ndarray, scores: np.ndarray, threshold: float) -> tuple[float, float]:
    """Recall and precision of the rule "flag when score >= threshold"."""
    flagged = scores >= threshold
    true_positives = np.sum(flagged & (y == 1))
    recall = true_positives / np.sum(y == 1)
    precision = true_positives / np.sum(flagged) if flagged.any() else 0.0
    return float(recall), float(precision)


# --8<-- [end:scratch-threshold]


# --8<-- [start:sklearn-threshold]
def threshold_for_recall_sklearn(y: np.ndarray, scores: np.ndarray, target: float) -> float:
    """The same threshold read off scikit-learn's ROC curve (thresholds in decreasing order)."""
    _, tpr, thresholds = roc_curve(y, scores, drop_intermediate=False)
    return float(thresholds[np.argmax(tpr >= target - 1e-9)])


def recall_precision_sklearn(y: np.ndarray, scores: np.ndarray, threshold: float) -> tuple[float, float]:
    flagged = (scores >= threshold).astype(int)
    return recall_score(y, flagged), precision_score(y, flagged, zero_division=0)


# --8<-- [end:sklearn-threshold]


# --8<-- [start:screen]
def fit_scorers(x_train: np.ndarray, y_train: np.ndarray, seed: int = 0, epochs: int = 300) -> dict:
    """Train both models; return, for each, a function from features to malignancy scores."""
    torch.manual_seed(seed)
    mlp = train_mlp(x_train, y_train, epochs=epochs)
    logistic = train_logistic(x_train, y_train)
    return {
        "MLP": lambda x: mlp_scores(mlp, x),
        "logistic": lambda x: logistic.predict_proba(x)[:, 1],
    }


def evaluate(scorers: dict, splits: dict, target: float) -> dict[str, dict[str, float]]:
    """Choose each model's threshold on validation, then measure it on the test split."""
    (x_val, y_val), (x_test, y_test) = splits["val"], splits["test"]
    results = {}
    for name, score in scorers.items():
        threshold = threshold_for_recall(y_val, score(x_val), target)
        test_scores = score(x_test)
        recall_half, precision_half = recall_precision(y_test, test_scores, 0.5)
        recall_t, precision_t = recall_precision(y_test, test_scores, threshold)
        results[name] = {
            "auc": roc_auc_score(y_test, test_scores),
            "threshold": threshold,
            "recall@0.5": recall_half,
            "precision@0.5": precision_half,
            "recall@t": recall_t,
            "precision@t": precision_t,
        }
    return results


def screen(seed: int = 0, target: float = 0.98, epochs: int = 300) -> dict[str, dict[str, float]]:
    """The whole pipeline: split, train, choose thresholds on validation, test."""
    splits = screening_splits(seed)
    return evaluate(fit_scorers(*splits["train"], seed, epochs), splits, target)


# --8<-- [end:screen]


# --8<-- [start:solution-interval]
def recall_interval(found: int, positives: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) confidence interval for a recall of found / positives."""
    from scipy.stats import beta

    alpha = 1 - level
    low = beta.ppf(alpha / 2, found, positives - found + 1) if found > 0 else 0.0
    high = beta.ppf(1 - alpha / 2, found + 1, positives - found) if found < positives else 1.0
    return float(low), float(high)


# --8<-- [end:solution-interval]


# --8<-- [start:solution-shift]
def recall_under_shift(seed: int = 0, scale: float = 0.7) -> dict[str, tuple[float, float]]:
    """Test recall at the validation threshold: at the original site, then at a shifted one."""
    splits, shifted = screening_splits(seed), screening_splits(seed, test_scale=scale)
    scorers = fit_scorers(*splits["train"], seed)  # the training data is the same in both
    before, after = evaluate(scorers, splits, 0.98), evaluate(scorers, shifted, 0.98)
    return {name: (before[name]["recall@t"], after[name]["recall@t"]) for name in before}


# --8<-- [end:solution-shift]


def plot_threshold_tradeoff():
    """Left: test recall and precision of logistic regression against the threshold.
    Right: precision-recall curves of both models with the two operating points marked."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    splits = screening_splits(0)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = splits.values()
    scorers = fit_scorers(x_train, y_train, seed=0)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    grid = np.linspace(0.001, 0.999, 400)
    test_scores = scorers["logistic"](x_test)
    curves = np.array([recall_precision(y_test, test_scores, t) for t in grid])
    left.plot(grid, curves[:, 0], color="#1b6ca8", label="recall")
    left.plot(grid, curves[:, 1], color="#d95f02", label="precision")
    chosen = threshold_for_recall(y_val, scorers["logistic"](x_val), 0.98)
    left.axvline(0.5, color="grey", linestyle=":", label="t = 0.5")
    left.axvline(chosen, color="black", linestyle="--", label=f"t = {chosen:.3f} (val)")
    left.set_xlabel("threshold t")
    left.set_ylim(0, 1.05)
    left.set_title("logistic, test split")
    left.legend(loc="lower center", fontsize=8)
    for (name, score), color in zip(scorers.items(), ["#7570b3", "#1b6ca8"], strict=True):
        scores = score(x_test)
        precision, recall, _ = precision_recall_curve(y_test, scores)
        right.plot(recall, precision, color=color, label=name)
        chosen = threshold_for_recall(y_val, score(x_val), 0.98)
        for t, marker in [(0.5, "o"), (chosen, "s")]:
            r, p = recall_precision(y_test, scores, t)
            right.scatter(r, p, marker=marker, s=50, color=color, edgecolor="black", zorder=3)
    right.scatter([], [], marker="o", color="white", edgecolor="black", label="t = 0.5")
    right.scatter([], [], marker="s", color="white", edgecolor="black", label="t from val")
    right.set_xlabel("recall (malignant)")
    right.set_ylabel("precision")
    right.set_xlim(0.6, 1.01)
    right.set_ylim(0.6, 1.01)
    right.set_title("test split")
    right.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {"healthcare-threshold": plot_threshold_tradeoff}


def report(args: argparse.Namespace) -> None:
    if not 0 < args.target <= 1:
        raise ValueError("--target must be in (0, 1]")
    print(f"seed={args.seed} target recall={args.target} epochs={args.epochs}")
    splits = screening_splits(args.seed)
    sizes = ", ".join(f"{k} {len(y)} ({int(y.sum())} malignant)" for k, (_, y) in splits.items())
    print(f"splits: {sizes}")
    for name, r in screen(args.seed, args.target, args.epochs).items():
        print(
            f"{name:>8}: test ROC-AUC {r['auc']:.3f} | t=0.500 recall {r['recall@0.5']:.3f} "
            f"precision {r['precision@0.5']:.3f} | t={r['threshold']:.3f} recall {r['recall@t']:.3f} "
            f"precision {r['precision@t']:.3f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.applications.healthcare",
        "Screen for malignant tumours: pick the threshold that reaches a target recall.",
    )
    parser.add_argument(
        "--target", type=positive_float, default=0.98, help="recall to reach on validation (default: 0.98)"
    )
    parser.add_argument("--epochs", type=positive_int, default=300, help="MLP training epochs (default: 300)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
