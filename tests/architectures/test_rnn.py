"""Claims of docs/architectures/rnn.md."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from snippets.architectures.rnn import (
    KINDS,
    LENGTH,
    N_INPUTS,
    SequenceClassifier,
    accuracy,
    clip_by_global_norm,
    compare_with_torch,
    gru_cell,
    input_gradient_norms,
    lstm_cell,
    params_from_torch,
    recurrent_parameters,
    rnn_cell,
    trained,
    unroll,
)
from snippets.common import seed_everything
from tests.helpers import seeds


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize("kind", KINDS)
def test_cells_match_pytorch(kind: str, seed: int) -> None:
    seed_everything(seed)
    assert compare_with_torch(kind, n_in=6, hidden=7, batch=5) < 1e-5


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize("kind", KINDS)
def test_unrolled_cells_match_pytorch_layers(kind: str, seed: int) -> None:
    """Our cell, unrolled over 20 steps, gives the outputs of nn.RNN / nn.LSTM / nn.GRU."""
    seed_everything(seed)
    layer = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](6, 7, batch_first=True)
    cell = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[kind](6, 7)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(layer, f"{name}_l0"))
    p = params_from_torch(cell, kind)
    x = torch.randn(3, 20, 6)
    h0 = torch.zeros(3, 7)
    state = (h0, h0) if kind == "lstm" else h0
    scratch = {"rnn": rnn_cell, "lstm": lstm_cell, "gru": gru_cell}[kind]
    with torch.no_grad():
        ours = torch.stack(unroll(scratch, x, state, p), dim=1)
        theirs, _ = layer(x)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


def test_gate_order_matters() -> None:
    """Reading PyTorch's LSTM weights in the wrong gate order gives a different cell."""
    seed_everything(0)
    cell = nn.LSTMCell(4, 5)
    p = params_from_torch(cell, "lstm")
    swapped = {key.replace("f", "#").replace("g", "f").replace("#", "g"): v for key, v in p.items()}
    x, h = torch.randn(3, 4), torch.randn(3, 5)
    with torch.no_grad():
        right = lstm_cell(x, (h, h), p)[0]
        wrong = lstm_cell(x, (h, h), swapped)[0]
        assert torch.allclose(right, cell(x, (h, h))[0], atol=1e-6)
        assert (right - wrong).abs().max() > 1e-2


@pytest.mark.parametrize(("n_in", "hidden"), [(N_INPUTS, 16), (256, 256), (3, 40)])
def test_parameter_counts(n_in: int, hidden: int) -> None:
    layers = {"rnn": nn.RNN(n_in, hidden), "gru": nn.GRU(n_in, hidden), "lstm": nn.LSTM(n_in, hidden)}
    for kind, layer in layers.items():
        assert recurrent_parameters(kind, n_in, hidden) == sum(p.numel() for p in layer.parameters())
    lstm, gru, rnn = (recurrent_parameters(k, n_in, hidden) for k in ("lstm", "gru", "rnn"))
    assert 4 * gru == 3 * lstm and lstm == 4 * rnn


def test_parameter_table() -> None:
    """The numbers printed in the page's table."""
    assert [recurrent_parameters(k, 5, 16) for k in ("rnn", "gru", "lstm")] == [368, 1104, 1472]
    assert [recurrent_parameters(k, 256, 256) for k in ("rnn", "gru", "lstm")] == [131_584, 394_752, 526_336]


@pytest.mark.parametrize("seed", seeds(3))
def test_gradient_vanishes_through_the_vanilla_rnn(seed: int) -> None:
    """At initialisation the first input's gradient is < 1e-6 of the last one's for the RNN,
    but > 1e-2 for LSTM and GRU started with the remembering gate bias."""
    ratios = {}
    for kind in KINDS:
        seed_everything(seed)
        norms = input_gradient_norms(SequenceClassifier(kind, 16), LENGTH, seed)
        ratios[kind] = (norms[0] / norms[-1]).item()
    assert ratios["rnn"] < 1e-6
    assert ratios["lstm"] > 1e-2 and ratios["gru"] > 1e-2


@pytest.mark.parametrize("seed", seeds(3))
def test_gated_cells_remember_the_first_token_and_the_rnn_does_not(seed: int) -> None:
    """T = 40, at most 300 steps: LSTM and GRU reach >= 95 % test accuracy, the RNN <= 40 % (chance 25 %)."""
    results = {kind: accuracy(trained(kind, seed)[0], LENGTH, seed) for kind in KINDS}
    assert results["lstm"] >= 0.95, results
    assert results["gru"] >= 0.95, results
    assert results["rnn"] <= 0.40, results


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e6])
def test_clip_matches_torch(seed: int, max_norm: float) -> None:
    seed_everything(seed)
    ours = [torch.randn(5, 3) * 10, torch.randn(7) * 10]
    theirs = [nn.Parameter(g.clone()) for g in ours]
    for parameter, g in zip(theirs, ours, strict=True):
        parameter.grad = g.clone()
    norm_ours = clip_by_global_norm(ours, max_norm)
    norm_theirs = nn.utils.clip_grad_norm_(theirs, max_norm).item()
    assert norm_ours == pytest.approx(norm_theirs, rel=1e-5)
    for parameter, g in zip(theirs, ours, strict=True):
        torch.testing.assert_close(g, parameter.grad)
    assert torch.sqrt(sum((g**2).sum() for g in ours)).item() <= max(max_norm, norm_ours) * (1 + 1e-5)
