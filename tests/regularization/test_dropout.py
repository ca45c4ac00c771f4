"""Claims of docs/regularization/dropout.md."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from snippets.common import seed_everything
from snippets.regularization.dropout import ScratchDropout, dropout_statistics, gap_experiment
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
