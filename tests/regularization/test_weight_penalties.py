"""Claims of docs/regularization/weight-penalties.md."""

from __future__ import annotations

import numpy as np
import pytest

from snippets.regularization.weight_penalties import (
    compare_weight_decay,
    lambda_max,
    make_sparse_regression,
    proximal_gradient,
    share_of_exact_zeros,
    sklearn_lasso,
    sklearn_ridge,
    soft_threshold,
)
from tests.helpers import seeds


def data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return make_sparse_regression(200, 50, 5, np.random.default_rng(seed))


def test_soft_threshold_is_the_l1_proximal_operator() -> None:
    # prox(v) = argmin_w 1/2 (w - v)^2 + t |w|, checked by brute force on a fine grid
    grid = np.linspace(-4, 4, 80_001)
    for v in [-2.5, -0.3, 0.0, 0.2, 1.7]:
        best = grid[np.argmin(0.5 * (grid - v) ** 2 + 0.5 * np.abs(grid))]
        assert soft_threshold(np.array([v]), 0.5)[0] == pytest.approx(best, abs=1e-4)


@pytest.mark.parametrize("seed", seeds(3))
def test_ista_matches_sklearn_lasso(seed: int) -> None:
    X, y, _ = data(seed)
    ours, theirs = proximal_gradient(X, y, 0.1, "l1"), sklearn_lasso(X, y, 0.1)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    np.testing.assert_array_equal(ours == 0, theirs == 0)


@pytest.mark.parametrize("seed", seeds(3))
def test_l1_gives_exact_zeros_and_l2_gives_none(seed: int) -> None:
    X, y, _ = data(seed)
    w_l1 = proximal_gradient(X, y, 0.1, "l1")
    w_l2 = proximal_gradient(X, y, 0.1, "l2")
    np.testing.assert_allclose(w_l2, sklearn_ridge(X, y, 0.1), atol=1e-8)
    assert share_of_exact_zeros(w_l1) >= 0.7
    assert share_of_exact_zeros(w_l2) == 0.0
    assert share_of_exact_zeros(sklearn_ridge(X, y, 0.1)) == 0.0


@pytest.mark.parametrize("seed", seeds(3))
def test_lambda_max_zeroes_every_weight(seed: int) -> None:
    X, y, _ = data(seed)
    top = lambda_max(X, y)
    assert share_of_exact_zeros(proximal_gradient(X, y, top * 1.001, "l1")) == 1.0
    assert share_of_exact_zeros(proximal_gradient(X, y, top * 0.9, "l1")) < 1.0


@pytest.mark.parametrize("seed", seeds(3))
def test_weight_decay_is_l2_for_sgd_but_not_adamw(seed: int) -> None:
    X, y, _ = data(seed)
    gaps = compare_weight_decay(X, y, 0.1, seed=seed)
    assert gaps["SGD(weight_decay) vs SGD + L2 loss"] < 1e-10
    assert gaps["Adam(weight_decay) vs Adam + L2 loss"] < 1e-10
    assert gaps["AdamW(weight_decay) vs Adam + L2 loss"] > 1e-2
