"""Claims of docs/applications/finance.md."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import torch
from torch import nn

from snippets.applications.finance import (
    balanced_positive_weight,
    compare,
    make_transactions,
    precision_at_k,
    sklearn_balanced_loss,
    time_split,
    weighted_cross_entropy,
)
from tests.helpers import seeds


@cache
def compared(seed: int) -> dict[str, dict[str, float]]:
    return compare(seed)


def test_generator_is_time_ordered_and_imbalanced() -> None:
    x, y, t = make_transactions(seed=0)
    assert np.all(np.diff(t) >= 0)
    assert y.mean() == 0.005
    x_train, y_train, x_test, y_test = time_split(x, y)
    assert len(y_train) == 21_000 and y_train.sum() > 0 and y_test.sum() > 0
    np.testing.assert_allclose(x_train.mean(axis=0), 0, atol=1e-9)  # scaled on the past only


@pytest.mark.parametrize("seed", seeds(3))
def test_weighted_loss_matches_pytorch_and_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(500) < 0.05).astype(int)
    y[:2] = 1
    logits = rng.normal(size=500)
    p = 1 / (1 + np.exp(-logits))
    w = balanced_positive_weight(y)
    ours = weighted_cross_entropy(y, p, w)
    torch_loss = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([w], dtype=torch.float64))(
        torch.tensor(logits), torch.tensor(y, dtype=torch.float64)
    )
    np.testing.assert_allclose(ours, torch_loss.item(), rtol=1e-10)
    # scikit-learn's "balanced" weights are n / (2 n_class): the same loss times n / (2 n_legit).
    n, n_legit = len(y), np.sum(y == 0)
    np.testing.assert_allclose(sklearn_balanced_loss(y, p), ours * n / (2 * n_legit), rtol=1e-10)
    assert weighted_cross_entropy(y, p, 1.0) < ours


@pytest.mark.parametrize("seed", seeds(3))
def test_always_legit_is_accurate_and_useless(seed: int) -> None:
    baseline = compared(seed)["always legit"]
    assert baseline["accuracy"] >= 0.99
    assert baseline["recall"] == 0.0


@pytest.mark.parametrize("seed", seeds(3))
def test_class_weights_raise_recall_at_one_half(seed: int) -> None:
    results = compared(seed)
    for model in ("MLP", "logistic"):
        assert results[f"{model} weighted"]["recall"] >= results[model]["recall"] + 0.4
        assert results[f"{model} weighted"]["accuracy"] < results["always legit"]["accuracy"]


@pytest.mark.parametrize("seed", seeds(3))
def test_average_precision_far_above_the_fraud_rate(seed: int) -> None:
    results = compared(seed)
    rate = results["always legit"]["AP"]  # constant scores: AP equals the fraud rate
    assert 0.003 < rate < 0.007
    for model in ("MLP weighted", "logistic weighted"):
        assert results[model]["AP"] >= 10 * rate


@pytest.mark.parametrize("seed", seeds(3))
def test_precision_at_k(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(2000) < 0.01).astype(int)
    assert precision_at_k(y, y.astype(float), int(y.sum())) == 1.0
    scores = rng.random(2000)
    top = np.argsort(scores)[::-1][:50]
    assert precision_at_k(y, scores, 50) == y[top].mean()
