"""Claims of docs/neural-networks/perceptron.md."""

from __future__ import annotations

import numpy as np
import pytest

from snippets.neural_networks.perceptron import (
    CORNERS,
    GATES,
    Perceptron,
    accuracy,
    best_line_accuracy_on_xor,
    neuron_loss,
    neuron_predict,
    sklearn_perceptron,
    train_neuron,
    with_product_feature,
)
from snippets.common import seed_everything
from tests.helpers import seeds


@pytest.mark.parametrize("seed", seeds(5))
@pytest.mark.parametrize("gate", ["AND", "OR"])
def test_perceptron_learns_separable_gates(gate: str, seed: int) -> None:
    model = Perceptron(2)
    mistakes = model.fit(CORNERS, GATES[gate], epochs=20, rng=np.random.default_rng(seed))
    assert accuracy(model.predict(CORNERS), GATES[gate]) == 1.0
    assert mistakes[-1] == 0


@pytest.mark.parametrize("seed", seeds(5))
def test_perceptron_never_learns_xor(seed: int) -> None:
    model = Perceptron(2)
    rng = np.random.default_rng(seed)
    for _ in range(100):
        mistakes = model.fit(CORNERS, GATES["XOR"], epochs=1, rng=rng)
        assert mistakes[0] > 0
        assert accuracy(model.predict(CORNERS), GATES["XOR"]) <= 0.75


@pytest.mark.parametrize("seed", seeds(3))
def test_pytorch_neuron_learns_and_or_but_not_xor(seed: int) -> None:
    seed_everything(seed)
    for gate in ("AND", "OR"):
        neuron = train_neuron(CORNERS, GATES[gate])
        assert accuracy(neuron_predict(neuron, CORNERS), GATES[gate]) == 1.0
    neuron = train_neuron(CORNERS, GATES["XOR"])
    assert accuracy(neuron_predict(neuron, CORNERS), GATES["XOR"]) <= 0.75
    assert neuron_loss(neuron, CORNERS, GATES["XOR"]) >= np.log(2) - 1e-3


@pytest.mark.parametrize("gate", list(GATES))
@pytest.mark.parametrize("epochs", [1, 2, 5, 13])
def test_matches_scikit_learn(gate: str, epochs: int) -> None:
    ours = Perceptron(2)
    ours.fit(CORNERS, GATES[gate], epochs=epochs)
    theirs = sklearn_perceptron(CORNERS, GATES[gate], epochs=epochs)
    np.testing.assert_array_equal(ours.weights, theirs.coef_[0])
    assert ours.bias == theirs.intercept_[0]


@pytest.mark.parametrize("seed", seeds(3))
def test_no_line_beats_three_of_four_on_xor(seed: int) -> None:
    assert best_line_accuracy_on_xor(20_000, np.random.default_rng(seed)) == 0.75


@pytest.mark.parametrize("seed", seeds(5))
def test_product_feature_makes_xor_learnable(seed: int) -> None:
    lifted = Perceptron(3)
    mistakes = lifted.fit(
        with_product_feature(CORNERS), GATES["XOR"], epochs=50, rng=np.random.default_rng(seed)
    )
    assert accuracy(lifted.predict(with_product_feature(CORNERS)), GATES["XOR"]) == 1.0
    assert mistakes[-1] == 0


@pytest.mark.parametrize("gate", list(GATES))
@pytest.mark.parametrize("learning_rate", [0.25, 4.0])
def test_step_size_does_not_change_the_mistakes(gate: str, learning_rate: float) -> None:
    unit, scaled = Perceptron(2), Perceptron(2, learning_rate=learning_rate)
    assert unit.fit(CORNERS, GATES[gate], 15, np.random.default_rng(1)) == scaled.fit(
        CORNERS, GATES[gate], 15, np.random.default_rng(1)
    )
    np.testing.assert_allclose(scaled.weights, learning_rate * unit.weights)


@pytest.mark.parametrize("seed", seeds(3))
def test_neuron_loss_and_predictions_agree_with_scikit_learn(seed: int) -> None:
    """The loss is scikit-learn's log loss on labels mapped to {0, 1}; predictions are logit signs."""
    import torch
    from sklearn.metrics import log_loss

    seed_everything(seed)
    neuron = torch.nn.Linear(2, 1)
    x = np.random.default_rng(seed).normal(size=(50, 2))
    y = np.where(x[:, 0] > 0, 1, -1)
    with torch.no_grad():
        logits = neuron(torch.tensor(x, dtype=torch.float32)).squeeze(1).numpy().astype(np.float64)
    expected = log_loss((y + 1) // 2, 1 / (1 + np.exp(-logits)), labels=[0, 1])
    assert neuron_loss(neuron, x, y) == pytest.approx(expected, rel=1e-5)
    np.testing.assert_array_equal(neuron_predict(neuron, x), np.where(logits > 0, 1, -1))
    with torch.no_grad():  # a logit of exactly zero is class -1, as in the perceptron
        neuron.weight.zero_()
        neuron.bias.zero_()
    np.testing.assert_array_equal(neuron_predict(neuron, x), -np.ones(50))
    np.testing.assert_array_equal(Perceptron(2).predict(CORNERS), -np.ones(4))
