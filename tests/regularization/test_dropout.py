"""Claims of docs/regularization/dropout.md."""

from __future__ import annotations

import math

import numpy as np

import pytest
import torch
from torch import nn

from snippets.common import seed_everything
from snippets.regularization.dropout import (
    ScratchDropout,
    dropout_statistics,
    gap_experiment,
    inverted_dropout,
    make_noisy_data,
)
from tests.helpers import seeds


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_train_mode_statistics_match_nn_dropout(seed: int, p: float) -> None:
    n = 100_000
    tolerance = 5 / math.sqrt(n)  # five standard errors, roughly
    for layer in (ScratchDropout(p), nn.Dropout(p)):
        seed_everything(seed)
        stats = dropout_statistics(layer, n)
        assert abs(stats["zeroed"] - p) < tolerance
        assert abs(stats["mean"] - 1.0) < tolerance / (1 - p)
        assert stats["eval_change"] == 0.0


def test_eval_mode_is_the_identity_on_any_input() -> None:
    x = torch.randn(64, 32)
    for layer in (ScratchDropout(0.5), nn.Dropout(0.5)):
        layer.eval()
        assert torch.equal(layer(x), x)


@pytest.mark.parametrize("seed", seeds(3))
def test_dropout_reduces_the_train_test_gap(seed: int) -> None:
    results = gap_experiment(seed)
    gaps = {name: history[-1][2] - history[-1][1] for name, history in results.items()}
    assert gaps["dropout p=0.5"] < gaps["no dropout"] - 0.03


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_a_drop_rate_outside_zero_to_one_is_refused_as_torch_refuses_it(p: float) -> None:
    with pytest.raises(ValueError, match=rf"p must be in \[0, 1\), got {p}"):
        inverted_dropout(torch.ones(3), p, training=True)
    if p != 1.0:  # torch accepts p = 1 (everything dropped); ours does not, to avoid dividing by 0
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            nn.Dropout(p)


def test_zero_rate_is_the_identity_and_the_mask_keeps_the_dtype() -> None:
    x = torch.randn(1000, dtype=torch.float64)
    assert torch.equal(inverted_dropout(x, 0.0, training=True), x)
    torch.manual_seed(0)
    dropped = inverted_dropout(x, 0.5, training=True)
    assert dropped.dtype == torch.float64
    kept = dropped != 0
    torch.testing.assert_close(dropped[kept], 2 * x[kept])  # survivors scaled by 1 / (1 - p)


@pytest.mark.parametrize("seed", seeds(2))
def test_the_data_is_a_noisy_sine_on_minus_two_to_two(seed: int) -> None:
    x_train, y_train, x_test, y_test = make_noisy_data(20, 2000, np.random.default_rng(seed))
    assert x_train.shape == (20, 1) and y_test.shape == (2000, 1) and y_test.dtype == torch.float32
    assert -2 <= x_test.min() < -1.95 and 1.95 < x_test.max() <= 2
    residual = y_test[:, 0] - torch.sin(2 * x_test[:, 0])
    assert abs(residual.mean()) < 0.05 and 0.45 < residual.std() < 0.55  # noise 0.5 by default
