"""Claims of docs/neural-networks/activations.md."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from snippets.neural_networks.activations import (
    ACTIVATIONS,
    LAYERS,
    autograd_derivative,
    deep_mlp,
    dying_experiment,
    gelu_tanh,
    layer_gradient_norms,
    naive_softmax,
    relu,
    sigmoid_grad,
    softmax,
    softmax_jacobian,
    tanh_grad,
    two_class_softmax_is_sigmoid,
)
from tests.helpers import seeds

GRID = torch.cat(
    [
        torch.linspace(-8, 8, 1601, dtype=torch.float64),
        torch.tensor([0.0, -50.0, 50.0, -700.0, 700.0]).double(),
    ]
)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_definitions_match_pytorch(name: str) -> None:
    ours, _, library = ACTIVATIONS[name]
    torch.testing.assert_close(ours(GRID), library(GRID), rtol=1e-12, atol=1e-12)


def test_gelu_tanh_approximation_matches_pytorch() -> None:
    torch.testing.assert_close(gelu_tanh(GRID), F.gelu(GRID, approximate="tanh"), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_derivatives_match_autograd(name: str) -> None:
    _, derivative, library = ACTIVATIONS[name]
    torch.testing.assert_close(derivative(GRID), autograd_derivative(library, GRID), rtol=1e-10, atol=1e-12)


def test_layers_compute_the_same_functions() -> None:
    for layer, (_, _, function) in zip(LAYERS, ACTIVATIONS.values(), strict=False):
        torch.testing.assert_close(layer(GRID), function(GRID))
    torch.testing.assert_close(LAYERS[-1](GRID.reshape(-1, 2)), softmax(GRID.reshape(-1, 2)))


def test_relu_is_piecewise_linear_not_linear() -> None:
    a, b = torch.tensor(1.0), torch.tensor(-1.0)
    assert relu(a) + relu(b) != relu(a + b)  # 1 + 0 versus 0
    assert relu(torch.tensor(-2.0)) != -relu(torch.tensor(2.0))
    positive = torch.linspace(0.1, 5, 50)
    torch.testing.assert_close(relu(3 * positive), 3 * relu(positive))  # linear on each piece


@pytest.mark.parametrize("seed", seeds(3))
def test_softmax_and_its_jacobian_match_pytorch(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    logits = 10 * torch.randn(32, 7, generator=generator, dtype=torch.float64)
    logits[0, 0] = 1000.0  # large scores must not overflow
    torch.testing.assert_close(softmax(logits), F.softmax(logits, dim=-1), rtol=1e-12, atol=1e-12)
    z = logits[1]
    expected = torch.autograd.functional.jacobian(lambda v: F.softmax(v, dim=-1), z)
    torch.testing.assert_close(softmax_jacobian(z), expected, rtol=1e-10, atol=1e-12)


def test_sigmoid_and_tanh_gradients_are_small_when_saturated() -> None:
    assert sigmoid_grad(GRID).max().item() == pytest.approx(0.25)
    assert tanh_grad(GRID).max().item() == pytest.approx(1.0)
    big = torch.tensor([-10.0, 10.0], dtype=torch.float64)
    assert sigmoid_grad(big).max().item() < 5e-5
    assert tanh_grad(big).max().item() < 1e-8


def test_naive_softmax_overflows_and_ours_does_not() -> None:
    logits = torch.tensor([1000.0, 0.0])
    assert torch.isnan(naive_softmax(logits)).any()
    torch.testing.assert_close(softmax(logits), torch.tensor([1.0, 0.0]))


def test_two_class_softmax_is_the_sigmoid() -> None:
    assert two_class_softmax_is_sigmoid(GRID).abs().max().item() < 1e-15


def gradient_ratio(seed: int, activation: str, init: str) -> float:
    torch.manual_seed(seed)
    norms = layer_gradient_norms(deep_mlp(20, 64, activation, init))
    return norms[0] / norms[-1]


@pytest.mark.parametrize("seed", seeds(3))
def test_gradients_vanish_through_20_sigmoid_layers_but_not_relu(seed: int) -> None:
    sigmoid_ratio = gradient_ratio(seed, "sigmoid", "matched")
    relu_ratio = gradient_ratio(seed, "relu", "matched")
    tanh_ratio = gradient_ratio(seed, "tanh", "matched")
    assert sigmoid_ratio < 1e-8
    assert 1e-2 < relu_ratio < 1e2
    assert 1e-2 < tanh_ratio < 1e2
    assert relu_ratio > 1e6 * sigmoid_ratio


@pytest.mark.parametrize("seed", seeds(3))
def test_relu_with_the_wrong_initialisation_vanishes_too(seed: int) -> None:
    assert gradient_ratio(seed, "relu", "default") < 1e-3


@pytest.mark.parametrize("seed", seeds(3))
def test_dead_relus_stay_dead_and_leaky_relus_keep_learning(seed: int) -> None:
    healthy = dying_experiment(seed, nn.ReLU, shift=0.0)
    assert healthy["dead_before"].float().mean() < 0.05
    shifted = dying_experiment(seed, nn.ReLU)
    dead = shifted["dead_before"]
    assert dead.float().mean() >= 0.3
    assert not shifted["moved"][dead].any()  # zero gradient: weights bit-for-bit unchanged
    assert shifted["dead_after"][dead].all()  # ... so they are still dead
    assert shifted["moved"][~dead].all()  # the live units did learn
    leaky = dying_experiment(seed, nn.LeakyReLU)
    assert leaky["moved"].all()  # a leaky unit always has a gradient
