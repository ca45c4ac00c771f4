"""Claims of docs/foundations/frameworks.md."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from snippets.foundations.frameworks import (
    Comparison,
    compare,
    copy_weights,
    keras,
    keras_model_is_a_torch_module,
    keras_predict,
    load_data,
    loss_gap,
    make_keras_model,
    make_torch_model,
    torch_predict,
    train_torch,
)
from tests.helpers import seeds

# Keras's torch backend calls np.array(tensor, copy=False) internally (NumPy 2 deprecation).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
STEPS, LEARNING_RATE = 100, 0.5


@cache
def trained(seed: int) -> Comparison:
    return compare(seed, STEPS, LEARNING_RATE)


def test_keras_runs_on_the_torch_backend() -> None:
    assert keras.backend.backend() == "torch"
    assert keras.__version__.startswith("3.")


@pytest.mark.parametrize("seed", seeds(3))
def test_same_start_gives_same_predictions(seed: int) -> None:
    x_train, _, _, _ = load_data(seed)
    torch_model, keras_model = make_torch_model(), make_keras_model()
    copy_weights(torch_model, keras_model)
    np.testing.assert_array_equal(torch_predict(torch_model, x_train), keras_predict(keras_model, x_train))


@pytest.mark.parametrize("seed", seeds(3))
def test_losses_and_weights_agree_after_training(seed: int) -> None:
    result = trained(seed)
    assert len(result.torch_losses) == len(result.keras_losses) == STEPS
    np.testing.assert_allclose(result.torch_losses, result.keras_losses, rtol=1e-5, atol=1e-6)
    assert result.max_weight_difference < 1e-5
    # the models did learn: the loss fell by more than a factor of 5
    assert result.torch_losses[-1] < result.torch_losses[0] / 5


@pytest.mark.parametrize("seed", seeds(3))
def test_both_reach_high_accuracy(seed: int) -> None:
    result = trained(seed)
    for name in ("PyTorch", "Keras"):
        assert result.train_accuracy[name] >= 0.95, (name, result.train_accuracy)
        assert result.test_accuracy[name] >= 0.85, (name, result.test_accuracy)
    assert result.test_accuracy["PyTorch"] == result.test_accuracy["Keras"]


@pytest.mark.parametrize("seed", seeds(3))
def test_a_different_learning_rate_is_detected(seed: int) -> None:
    """The agreement check is not vacuous: rates 0.5 and 0.45 differ by > 1e-3 within 5 steps."""
    assert loss_gap(seed, 5, 0.5, 0.5) < 1e-5
    assert loss_gap(seed, 5, 0.5, 0.45) > 1e-3


def test_keras_model_is_a_torch_module_trained_by_the_pytorch_loop() -> None:
    keras_model = make_keras_model()
    assert keras_model_is_a_torch_module(keras_model)
    x_train, _, y_train, _ = load_data(seeds(1)[0])
    torch_model = make_torch_model()
    copy_weights(torch_model, keras_model)
    torch_losses = train_torch(torch_model, x_train, y_train, 10, LEARNING_RATE)
    keras_losses = train_torch(keras_model, x_train, y_train, 10, LEARNING_RATE)
    np.testing.assert_allclose(torch_losses, keras_losses, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("seed", seeds(2))
def test_data_is_a_stratified_split_standardised_with_training_statistics(seed: int) -> None:
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x_train, x_test, y_train, y_test = load_data(seed)
    assert (len(x_train), len(x_test)) == (105, 45)  # 70 % / 30 % of Iris's 150 flowers
    assert np.bincount(y_test).tolist() == [15, 15, 15]  # each species keeps its share
    assert x_train.dtype == np.float32
    # Both sets are scaled with the training mean and spread, as StandardScaler does.
    x, y = load_iris(return_X_y=True)
    raw_train, raw_test, _, _ = train_test_split(x, y, test_size=0.3, stratify=y, random_state=seed)
    scaler = StandardScaler().fit(raw_train)
    np.testing.assert_allclose(x_train, scaler.transform(raw_train), atol=1e-5)
    np.testing.assert_allclose(x_test, scaler.transform(raw_test), atol=1e-5)
    assert not np.array_equal(load_data(seed + 1)[0], x_train)  # the seed picks the split
