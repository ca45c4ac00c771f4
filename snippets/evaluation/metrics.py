"""Evaluation metrics from scratch, checked against scikit-learn, and the imbalanced-data trap.

Run ``python -m snippets.evaluation.metrics --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import numpy as np
from scipy.stats import rankdata
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split


def imbalanced_problem(
    n_samples: int = 10_000, positive_rate: float = 0.02, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two Gaussian classes in 5-D, only ``positive_rate`` of the examples positive (label 1).

    Returns x_train, x_test, y_train, y_test (half each, same positive rate in both).
    """
    rng = np.random.default_rng(seed)
    n_positive = round(n_samples * positive_rate)
    y = np.r_[np.zeros(n_samples - n_positive, dtype=int), np.ones(n_positive, dtype=int)]
    shift = np.full(5, 2.5 / np.sqrt(5))  # the class means are 2.5 apart
    x = rng.normal(size=(n_samples, 5)) + np.outer(y, shift)
    return train_test_split(x, y, test_size=0.5, stratify=y, random_state=seed)


# --8<-- [end:setup]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402


# --8<-- [start:scratch-counts]
def safe_divide(numerator: float, denominator: float) -> float:
    """numerator / denominator, or 0 when the denominator is 0 (scikit-learn's zero_division=0)."""
    return float(numerator / denominator) if denominator else 0.0


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, positive: int = 1) -> dict[str, int]:
    """True/false positives and negatives, with ``positive`` as the positive class."""
    is_true, is_pred = y_true == positive, y_pred == positive
    return {
        "TP": int(np.sum(is_true & is_pred)),
        "FP": int(np.sum(~is_true & is_pred)),
        "FN": int(np.sum(is_true & ~is_pred)),
        "TN": int(np.sum(~is_true & ~is_pred)),
    }


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(y_true == y_pred))


def precision_recall_f1(
    y_true: np.ndarray, y_pred: np.ndarray, positive: int = 1
) -> tuple[float, float, float]:
    """Precision TP/(TP+FP), recall TP/(TP+FN) and their harmonic mean F1."""
    c = confusion_counts(y_true, y_pred, positive)
    precision = safe_divide(c["TP"], c["TP"] + c["FP"])
    recall = safe_divide(c["TP"], c["TP"] + c["FN"])
    f1 = safe_divide(2 * precision * recall, precision + recall)
    return precision, recall, f1


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, labels: list[int]) -> np.ndarray:
    """Row i, column j: how many examples of class labels[i] were predicted as labels[j]."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for t, p in zip(y_true, y_pred, strict=True):
        matrix[index[t], index[p]] += 1
    return matrix


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, labels: list[int]) -> float:
    """Average the per-class F1 scores, every class counting equally."""
    return float(np.mean([precision_recall_f1(y_true, y_pred, positive=k)[2] for k in labels]))


# --8<-- [end:scratch-counts]


# --8<-- [start:scratch-curves]
def _counts_at_thresholds(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cumulative TP and FP when every distinct score, from high to low, is used as threshold."""
    order = np.argsort(-scores, kind="mergesort")
    y_sorted, s_sorted = y_true[order] == 1, scores[order]
    # the last position of each run of tied scores: ties move in or out together
    last_of_tie = np.r_[np.flatnonzero(np.diff(s_sorted)), len(s_sorted) - 1]
    tp = np.cumsum(y_sorted)[last_of_tie]
    fp = np.cumsum(~y_sorted)[last_of_tie]
    return tp, fp, s_sorted[last_of_tie]


def roc_points(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False positive rate, true positive rate and thresholds, starting at (0, 0)."""
    tp, fp, thresholds = _counts_at_thresholds(y_true, scores)
    tpr = np.r_[0, tp] / tp[-1]  # tp[-1] = number of positives
    fpr = np.r_[0, fp] / fp[-1]  # fp[-1] = number of negatives
    return fpr, tpr, np.r_[np.inf, thresholds]


def trapezoid_area(x: np.ndarray, y: np.ndarray) -> float:
    """Area under a piecewise-linear curve through the points (x, y)."""
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    fpr, tpr, _ = roc_points(y_true, scores)
    return trapezoid_area(fpr, tpr)


def pr_points(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and thresholds, from the highest threshold to the lowest."""
    tp, fp, thresholds = _counts_at_thresholds(y_true, scores)
    return tp / (tp + fp), tp / tp[-1], thresholds


def average_precision(y_true: np.ndarray, scores: np.ndarray) -> float:
    """AP = sum over thresholds of (R_k - R_{k-1}) * P_k, without interpolation."""
    precision, recall, _ = pr_points(y_true, scores)
    return float(np.sum(np.diff(np.r_[0, recall]) * precision))


# --8<-- [end:scratch-curves]


# --8<-- [start:scratch-regression]
def mean_squared_error(y: np.ndarray, y_hat: np.ndarray) -> float:
    return float(np.mean((y - y_hat) ** 2))


def mean_absolute_error(y: np.ndarray, y_hat: np.ndarray) -> float:
    return float(np.mean(np.abs(y - y_hat)))


def r2(y: np.ndarray, y_hat: np.ndarray) -> float:
    """1 - SS_res / SS_tot: the share of the variance of y that the predictions explain."""
    return 1.0 - float(np.sum((y - y_hat) ** 2) / np.sum((y - np.mean(y)) ** 2))


# --8<-- [end:scratch-regression]


# --8<-- [start:sklearn]
def sklearn_report(y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """The same numbers from scikit-learn (zero_division=0: an empty ratio counts as 0)."""
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        y_true, y_pred, average="binary", zero_division=0
    )
    return {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "precision": precision,
        "recall": recall,
        "F1": f1,
        "ROC-AUC": skm.roc_auc_score(y_true, scores),
        "AP": skm.average_precision_score(y_true, scores),
    }


def sklearn_regression_report(y: np.ndarray, y_hat: np.ndarray) -> dict[str, float]:
    return {
        "MSE": skm.mean_squared_error(y, y_hat),
        "MAE": skm.mean_absolute_error(y, y_hat),
        "R2": skm.r2_score(y, y_hat),
    }


# --8<-- [end:sklearn]


# --8<-- [start:scratch-report]
def scratch_report(y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    precision, recall, f1 = precision_recall_f1(y_true, y_pred)
    return {
        "accuracy": accuracy(y_true, y_pred),
        "precision": precision,
        "recall": recall,
        "F1": f1,
        "ROC-AUC": roc_auc(y_true, scores),
        "AP": average_precision(y_true, scores),
    }


# --8<-- [end:scratch-report]


# --8<-- [start:trap]
def imbalanced_trap(seed: int = 0, positive_rate: float = 0.02) -> dict[str, dict[str, float]]:
    """Score three classifiers on the same imbalanced test set."""
    x_train, x_test, y_train, y_test = imbalanced_problem(positive_rate=positive_rate, seed=seed)
    model = LogisticRegression(max_iter=1000).fit(x_train, y_train)
    model_scores = model.predict_proba(x_test)[:, 1]
    rng = np.random.default_rng(seed)
    return {
        # always answer "negative"; every score is the same, so the ranking is a coin flip
        "always negative": scratch_report(y_test, np.zeros_like(y_test), np.zeros(len(y_test))),
        "random scores": scratch_report(y_test, rng.integers(0, 2, len(y_test)), rng.random(len(y_test))),
        "logistic regression": scratch_report(y_test, model.predict(x_test), model_scores),
    }


# --8<-- [end:trap]


# --8<-- [start:regression-data]
def regression_problem(seed: int = 0, n_samples: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Targets y = 3x + 1 + noise and the least-squares line's predictions."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, n_samples)
    y = 3 * x + 1 + rng.normal(0, 1.0, n_samples)
    slope, intercept = np.polyfit(x, y, deg=1)
    return y, slope * x + intercept


# --8<-- [end:regression-data]


# --8<-- [start:solution-fbeta]
def f_beta(y_true: np.ndarray, y_pred: np.ndarray, beta: float, positive: int = 1) -> float:
    """F_beta weighs recall beta times as much as precision; beta = 1 gives F1."""
    precision, recall, _ = precision_recall_f1(y_true, y_pred, positive)
    return safe_divide((1 + beta**2) * precision * recall, beta**2 * precision + recall)


# --8<-- [end:solution-fbeta]


# --8<-- [start:solution-rank-auc]
def rank_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """P(score of a random positive > score of a random negative), ties counting 1/2."""
    ranks = rankdata(scores)  # average ranks for ties
    n_pos = int(np.sum(y_true == 1))
    n_neg = len(y_true) - n_pos
    return float((ranks[y_true == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


# --8<-- [end:solution-rank-auc]


# --8<-- [start:solution-threshold]
def threshold_for_recall(y_true: np.ndarray, scores: np.ndarray, target_recall: float) -> float:
    """The highest threshold whose recall reaches ``target_recall`` (predict 1 when score >= it)."""
    _, tpr, thresholds = roc_points(y_true, scores)  # recall = TPR
    return float(thresholds[np.argmax(tpr >= target_recall)])


# --8<-- [end:solution-threshold]


def plot_roc_pr():
    """ROC and precision-recall curves of a trained model and of random scores (2% positives)."""
    import matplotlib.pyplot as plt

    x_train, x_test, y_train, y_test = imbalanced_problem(seed=0)
    model = LogisticRegression(max_iter=1000).fit(x_train, y_train)
    curves = {
        "logistic regression": (model.predict_proba(x_test)[:, 1], "#1b6ca8", "-"),
        "random scores": (np.random.default_rng(0).random(len(y_test)), "#d95f02", "--"),
    }
    fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(9, 4))
    for name, (scores, color, style) in curves.items():
        fpr, tpr, _ = roc_points(y_test, scores)
        roc_ax.plot(fpr, tpr, style, color=color, label=f"{name}, AUC = {roc_auc(y_test, scores):.2f}")
        precision, recall, _ = pr_points(y_test, scores)
        pr_ax.step(
            np.r_[0, recall],
            np.r_[precision[0], precision],
            style,
            where="pre",
            color=color,
            label=f"{name}, AP = {average_precision(y_test, scores):.2f}",
        )
    roc_ax.plot([0, 1], [0, 1], ":", color="gray")
    roc_ax.set(xlabel="FPR = FP / (FP + TN)", ylabel="TPR = recall", title="ROC")
    prevalence = y_test.mean()
    pr_ax.axhline(prevalence, linestyle=":", color="gray", label=f"positive rate = {prevalence:.2f}")
    pr_ax.set(xlabel="recall", ylabel="precision", title="precision-recall", ylim=(0, 1.02))
    for ax in (roc_ax, pr_ax):
        ax.legend(loc="lower right" if ax is roc_ax else "upper right", fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


FIGURES = {"metrics-roc-pr": plot_roc_pr}


def report(args: argparse.Namespace) -> None:
    """Print the metrics of three classifiers on imbalanced data, and a regression check."""
    rate = args.positives / 100
    print(f"seed={args.seed}, test set: 5000 examples, {args.positives}% positive")
    results = imbalanced_trap(args.seed, positive_rate=rate)
    names = ["accuracy", "precision", "recall", "F1", "ROC-AUC", "AP"]
    print(f"{'':>20} " + " ".join(f"{name:>9}" for name in names))
    for model, scores in results.items():
        print(f"{model:>20} " + " ".join(f"{scores[name]:9.3f}" for name in names))
    x_train, x_test, y_train, y_test = imbalanced_problem(positive_rate=rate, seed=args.seed)
    model = LogisticRegression(max_iter=1000).fit(x_train, y_train)
    y_pred, scores = model.predict(x_test), model.predict_proba(x_test)[:, 1]
    print("confusion matrix of logistic regression (rows: true 0, 1; columns: predicted 0, 1):")
    print(confusion_matrix(y_test, y_pred, labels=[0, 1]))
    ours, theirs = scratch_report(y_test, y_pred, scores), sklearn_report(y_test, y_pred, scores)
    gap = max(abs(ours[name] - theirs[name]) for name in names)
    print(f"largest difference from scikit-learn (classification): {gap:.1e}")
    y, y_hat = regression_problem(args.seed)
    ours_reg = [mean_squared_error(y, y_hat), mean_absolute_error(y, y_hat), r2(y, y_hat)]
    theirs_reg = sklearn_regression_report(y, y_hat)
    print("regression y = 3x + 1 + noise: " + ", ".join(f"{k} {v:.3f}" for k, v in theirs_reg.items()))
    reg_gap = max(abs(a - b) for a, b in zip(ours_reg, theirs_reg.values(), strict=True))
    print(f"largest difference from scikit-learn (regression): {reg_gap:.1e}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.evaluation.metrics",
        "Compute classification and regression metrics from scratch and with scikit-learn.",
    )
    parser.add_argument(
        "--positives",
        type=positive_int,
        default=2,
        choices=range(1, 50),
        metavar="PERCENT",
        help="percentage of positive examples, 1 to 49 (default: 2)",
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
