"""Claims of docs/neural-networks/mlp.md."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from snippets.common import seed_everything
from snippets.neural_networks.mlp import (
    XOR_INPUTS,
    XOR_LABELS,
    accuracy,
    autograd_gradients,
    backward,
    constant_init,
    forward,
    gradient_descent,
    hand_built_xor,
    init_params,
    make_mlp,
    numpy_predict,
    random_feature_error,
    torch_predict,
    train_numpy,
    train_torch,
)
from tests.helpers import seeds

HIDDEN, EPOCHS, LEARNING_RATE = 8, 500, 1.0


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize("n_hidden", [1, 3, 8])
def test_backprop_matches_autograd(seed: int, n_hidden: int) -> None:
    rng = np.random.default_rng(seed)
    params = init_params(2, n_hidden, rng)
    params["b1"] = rng.normal(size=n_hidden)  # non-zero biases exercise every term
    params["b2"] = rng.normal(size=1)
    x, y = rng.normal(size=(16, 2)), rng.integers(0, 2, size=16).astype(float)
    ours, theirs = backward(params, x, y), autograd_gradients(params, x, y)
    assert set(ours) == set(theirs) == set(params)
    for name in params:
        assert ours[name].shape == params[name].shape
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-10, atol=1e-12)


def test_a_wrong_backprop_would_be_caught() -> None:
    """Drop the tanh derivative: the comparison with autograd then fails."""
    rng = np.random.default_rng(seeds(1)[0])
    params = init_params(2, HIDDEN, rng)
    p, hidden = forward(params, XOR_INPUTS)
    delta2 = ((p - XOR_LABELS) / 4)[:, None]
    wrong_w1 = XOR_INPUTS.T @ (delta2 @ params["W2"].T)
    right_w1 = autograd_gradients(params, XOR_INPUTS, XOR_LABELS)["W1"]
    assert not np.allclose(wrong_w1, right_w1, rtol=1e-3)


@pytest.mark.parametrize("seed", seeds(3))
def test_numpy_mlp_solves_xor(seed: int) -> None:
    params, losses = train_numpy(
        XOR_INPUTS, XOR_LABELS, HIDDEN, EPOCHS, LEARNING_RATE, np.random.default_rng(seed)
    )
    assert accuracy(numpy_predict(params, XOR_INPUTS), XOR_LABELS) == 1.0
    assert losses[-1] < 0.05
    p = forward(params, XOR_INPUTS)[0]
    assert np.all(np.abs(p - XOR_LABELS) < 0.2)  # confident on every corner


@pytest.mark.parametrize("seed", seeds(3))
def test_pytorch_mlp_solves_xor(seed: int) -> None:
    seed_everything(seed)
    model = make_mlp(n_hidden=HIDDEN)
    losses = train_torch(model, XOR_INPUTS, XOR_LABELS, EPOCHS, LEARNING_RATE)
    assert accuracy(torch_predict(model, XOR_INPUTS), XOR_LABELS) == 1.0
    assert losses[-1] < 0.05


@pytest.mark.parametrize("seed", seeds(3))
def test_without_a_nonlinearity_xor_stays_unsolved(seed: int) -> None:
    seed_everything(seed)
    model = make_mlp(n_hidden=HIDDEN, activation=nn.Identity)
    losses = train_torch(model, XOR_INPUTS, XOR_LABELS, EPOCHS, LEARNING_RATE)
    assert accuracy(torch_predict(model, XOR_INPUTS), XOR_LABELS) <= 0.75
    assert losses[-1] >= np.log(2) - 1e-3


@pytest.mark.parametrize("seed", seeds(3))
def test_random_tanh_features_approximate_sine(seed: int) -> None:
    errors = {width: random_feature_error(width, np.random.default_rng(seed)) for width in (4, 16, 64)}
    assert errors[4] > 0.1
    assert errors[64] < 1e-4
    assert errors[64] < errors[16] < errors[4]


def test_two_hidden_units_sometimes_fail_eight_never_do() -> None:
    solved = {
        n_hidden: [
            accuracy(
                numpy_predict(
                    train_numpy(
                        XOR_INPUTS, XOR_LABELS, n_hidden, EPOCHS, LEARNING_RATE, np.random.default_rng(s)
                    )[0],
                    XOR_INPUTS,
                ),
                XOR_LABELS,
            )
            == 1.0
            for s in seeds(20)
        ]
        for n_hidden in (2, 8)
    }
    assert 0 < sum(solved[2]) < 20
    assert all(solved[8])


def test_hand_built_network_computes_xor() -> None:
    np.testing.assert_array_equal(hand_built_xor(XOR_INPUTS), XOR_LABELS)


def test_equal_initial_weights_keep_hidden_units_identical() -> None:
    params = constant_init(2, HIDDEN)
    gradient_descent(params, XOR_INPUTS, XOR_LABELS, EPOCHS, LEARNING_RATE)
    assert np.ptp(params["W1"], axis=1).max() < 1e-9  # every hidden unit has the same weights
    assert np.ptp(params["b1"]) < 1e-9
    assert accuracy(numpy_predict(params, XOR_INPUTS), XOR_LABELS) <= 0.75
