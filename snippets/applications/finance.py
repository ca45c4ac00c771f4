"""Fraud detection with extreme class imbalance on generated card transactions: accuracy is
useless, class weights move the decision, average precision measures the ranking, and the
split respects time because fraud patterns drift.

Run ``python -m snippets.applications.finance --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, log_loss, precision_score, recall_score
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight
from torch import nn


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


FEATURES = ["log_amount", "night", "foreign", "new_merchant", "tx_last_hour", "log_distance"]


def make_transactions(
    n: int = 30_000, fraud_rate: float = 0.005, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Card transactions in time order: features x, labels y (1 = fraud) and day t in [0, 100).

    Fraud drifts: early frauds are mostly large purchases far from home, later ones more and
    more often bursts of small "card testing" payments.
    """
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 100, n))
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, size=round(n * fraud_rate), replace=False)] = 1
    fraud = y == 1
    card_testing = fraud & (rng.random(n) < t / 100)  # share grows from 0 to 1 over time
    big_spend = fraud & ~card_testing
    x = np.empty((n, len(FEATURES)))
    x[:, 0] = rng.normal(3.5, 1.0, n) + 1.5 * big_spend - 2.0 * card_testing  # log amount
    x[:, 1] = rng.random(n) < np.where(fraud, 0.35, 0.15)  # at night
    x[:, 2] = rng.random(n) < np.where(fraud, 0.25, 0.05)  # abroad
    x[:, 3] = rng.random(n) < np.where(fraud, 0.5, 0.2)  # merchant never seen for this card
    x[:, 4] = rng.poisson(np.where(card_testing, 3.0, 0.5))  # card's transactions in the last hour
    x[:, 5] = rng.normal(2.0, 1.0, n) + 1.0 * big_spend  # log distance from home
    return x, y, t


def time_split(
    x: np.ndarray, y: np.ndarray, train_share: float = 0.7
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train on the first ``train_share`` of the time line, test on the rest (never shuffle)."""
    cut = int(len(y) * train_share)
    scaler = StandardScaler().fit(x[:cut])
    return scaler.transform(x[:cut]), y[:cut], scaler.transform(x[cut:]), y[cut:]


# --8<-- [end:setup]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402


# --8<-- [start:scratch-loss]
def weighted_cross_entropy(y: np.ndarray, p: np.ndarray, positive_weight: float) -> float:
    """Mean binary cross-entropy in which every fraud counts ``positive_weight`` times."""
    p = np.clip(p, 1e-12, 1 - 1e-12)
    losses = -(positive_weight * y * np.log(p) + (1 - y) * np.log(1 - p))
    return float(np.mean(losses))


def balanced_positive_weight(y: np.ndarray) -> float:
    """Weight that makes both classes count equally: (number of legit) / (number of fraud)."""
    return float(np.sum(y == 0) / np.sum(y == 1))


# --8<-- [end:scratch-loss]


# --8<-- [start:torch]
def train_fraud_mlp(
    x: np.ndarray, y: np.ndarray, positive_weight: float = 1.0, epochs: int = 150, lr: float = 0.01
) -> nn.Module:
    """A small MLP trained full-batch on binary cross-entropy with ``pos_weight`` for fraud."""
    device = pick_device()
    inputs = torch.tensor(x, dtype=torch.float32, device=device)
    targets = torch.tensor(y, dtype=torch.float32, device=device).unsqueeze(1)
    model = nn.Sequential(nn.Linear(x.shape[1], 16), nn.ReLU(), nn.Linear(16, 1)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([positive_weight], device=device))
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
    return model


def fraud_scores(model: nn.Module, x: np.ndarray) -> np.ndarray:
    device = next(model.parameters()).device
    with torch.no_grad():
        logits = model(torch.tensor(x, dtype=torch.float32, device=device))
    return torch.sigmoid(logits).squeeze(1).cpu().numpy()


# --8<-- [end:torch]


# --8<-- [start:sklearn]
def train_fraud_logistic(x: np.ndarray, y: np.ndarray, balanced: bool) -> LogisticRegression:
    """Logistic regression; ``class_weight="balanced"`` weighs each class by n / (2 n_class)."""
    return LogisticRegression(class_weight="balanced" if balanced else None, max_iter=1000).fit(x, y)


def sklearn_balanced_loss(y: np.ndarray, p: np.ndarray) -> float:
    """scikit-learn's log loss with "balanced" sample weights (normalised by their sum, n)."""
    return log_loss(y, p, sample_weight=compute_sample_weight("balanced", y), labels=[0, 1])


# --8<-- [end:sklearn]


# --8<-- [start:evaluate]
def evaluate(y: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Accuracy, recall and precision at ``threshold``, and the threshold-free average precision."""
    flagged = (scores >= threshold).astype(int)
    return {
        "accuracy": float(np.mean(flagged == y)),
        "recall": recall_score(y, flagged, zero_division=0),
        "precision": precision_score(y, flagged, zero_division=0),
        "AP": average_precision_score(y, scores),
    }


def compare(seed: int = 0, n: int = 30_000, epochs: int = 150) -> dict[str, dict[str, float]]:
    """Always-legit, unweighted and class-weighted models on the later 30% of the time line."""
    x, y, _ = make_transactions(n, seed=seed)
    x_train, y_train, x_test, y_test = time_split(x, y)
    weight = balanced_positive_weight(y_train)
    results = {"always legit": evaluate(y_test, np.zeros(len(y_test)))}
    for name, w in [("MLP", 1.0), ("MLP weighted", weight)]:
        torch.manual_seed(seed)
        results[name] = evaluate(y_test, fraud_scores(train_fraud_mlp(x_train, y_train, w, epochs), x_test))
    for name, balanced in [("logistic", False), ("logistic weighted", True)]:
        model = train_fraud_logistic(x_train, y_train, balanced)
        results[name] = evaluate(y_test, model.predict_proba(x_test)[:, 1])
    return results


# --8<-- [end:evaluate]


# --8<-- [start:solution-budget]
def precision_at_k(y: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Share of fraud among the ``k`` highest-scoring transactions (an analyst's daily queue)."""
    top = np.argsort(-scores, kind="stable")[:k]
    return float(np.mean(y[top]))


# --8<-- [end:solution-budget]


def plot_pr_curves():
    """Precision-recall curves of the weighted and unweighted MLP on the later 30% of the data."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    x, y, t = make_transactions(seed=0)
    x_train, y_train, x_test, y_test = time_split(x, y)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    days = np.arange(0, 100, 10)
    share = [np.mean(x[(y == 1) & (t >= d) & (t < d + 10), 4] >= 2) for d in days]
    left.bar(days + 5, share, width=8, color="#d95f02")
    left.axvline(t[len(y_train)], color="black", linestyle="--", label="train | test")
    left.set_xlabel("day")
    left.set_ylabel("fraud with >= 2 tx in last hour")
    left.set_title("fraud pattern drifts")
    left.legend(loc="upper left", fontsize=8)
    weight = balanced_positive_weight(y_train)
    for name, w, color in [("unweighted", 1.0, "#7570b3"), ("weighted", weight, "#1b6ca8")]:
        torch.manual_seed(0)
        scores = fraud_scores(train_fraud_mlp(x_train, y_train, w), x_test)
        precision, recall, _ = precision_recall_curve(y_test, scores)
        ap = average_precision_score(y_test, scores)
        right.plot(recall, precision, color=color, label=f"MLP {name}, AP {ap:.2f}")
        flagged = scores >= 0.5
        r, p = recall_score(y_test, flagged), precision_score(y_test, flagged, zero_division=0)
        right.scatter(r, p, s=50, color=color, edgecolor="black", zorder=3)
    right.axhline(y_test.mean(), color="grey", linestyle=":", label=f"positive rate {y_test.mean():.3f}")
    right.set_xlabel("recall (fraud)")
    right.set_ylabel("precision")
    right.set_ylim(0, 1.02)
    right.set_title("test: later 30%, dots at t = 0.5")
    right.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {"finance-pr-curves": plot_pr_curves}


def report(args: argparse.Namespace) -> None:
    if args.samples < 4000:
        raise ValueError("--samples must be at least 4000 (so that both splits contain fraud)")
    print(f"seed={args.seed} transactions={args.samples} epochs={args.epochs}")
    x, y, _ = make_transactions(args.samples, seed=args.seed)
    x_train, y_train, x_test, y_test = time_split(x, y)
    print(
        f"train: {len(y_train)} transactions, {int(y_train.sum())} fraud | "
        f"test: {len(y_test)} transactions, {int(y_test.sum())} fraud (rate {y_test.mean():.4f})"
    )
    for name, r in compare(args.seed, args.samples, args.epochs).items():
        print(
            f"{name:>17}: accuracy {r['accuracy']:.4f} recall {r['recall']:.3f} "
            f"precision {r['precision']:.3f} AP {r['AP']:.3f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.applications.finance",
        "Detect fraud in generated transactions with 0.5% fraud, respecting time order.",
    )
    parser.add_argument(
        "--samples", type=positive_int, default=30_000, help="number of transactions (default: 30000)"
    )
    parser.add_argument("--epochs", type=positive_int, default=150, help="MLP training epochs (default: 150)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
