"""Claims of docs/architectures/cnn.md about MNIST-1D (reduced sizes; the full run is quoted, not tested)."""

from __future__ import annotations

import random
import socket
from functools import cache

import numpy as np
import pytest
import torch

from snippets.architectures import mnist1d
from snippets.architectures.mnist1d import (
    DENSE_MODELS,
    MODELS,
    make_mnist1d,
    run_benchmark,
    same_function_after_shuffle,
)
from snippets.common import seed_everything
from tests.helpers import seeds


pytestmark = pytest.mark.usefixtures("single_thread_module")


TEST_STEPS = 200  # the page's default; the full run uses 2000


@cache
def benchmark(seed: int) -> dict[str, dict[str, float]]:
    return run_benchmark(["logistic", "mlp", "cnn"], TEST_STEPS, seed)


def test_generation_is_local_and_leaves_global_generators_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("MNIST-1D generation tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    np.random.seed(123)
    random.seed(123)
    expected_numpy, expected_python = np.random.rand(), random.random()
    np.random.seed(123)
    random.seed(123)
    data = make_mnist1d(num_samples=200, data_seed=7)  # not cached yet: really generated here
    assert (np.random.rand(), random.random()) == (expected_numpy, expected_python)
    assert data["x"].shape == (160, 40) and data["x_test"].shape == (40, 40)
    assert set(np.unique(data["y"])) <= set(range(10))
    np.testing.assert_array_equal(make_mnist1d(num_samples=200, data_seed=7)["x"], data["x"])
    mnist1d._generate.cache_clear()


def test_paper_sized_dataset() -> None:
    data = make_mnist1d()
    assert data["x"].shape == (4000, 40) and data["x_test"].shape == (1000, 40)
    assert np.bincount(np.concatenate([data["y"], data["y_test"]])).tolist() == [500] * 10


@pytest.mark.parametrize("seed", seeds(3))
def test_cnn_beats_mlp_beats_logistic_regression(seed: int) -> None:
    results = benchmark(seed)
    original = {name: results[name]["original"] for name in results}
    assert original["cnn"] > original["mlp"] + 0.10
    assert original["mlp"] > original["logistic"] + 0.15


@pytest.mark.parametrize("seed", seeds(3))
def test_shuffling_positions_hurts_the_cnn(seed: int) -> None:
    results = benchmark(seed)
    assert results["cnn"]["original"] - results["cnn"]["shuffled"] > 0.20


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize("name", DENSE_MODELS)
def test_shuffling_positions_does_not_change_dense_models(seed: int, name: str) -> None:
    """Started from the same function (first-layer columns permuted like the inputs)."""
    results = benchmark(seed)
    assert abs(results[name]["shuffled"] - results[name]["original"]) <= 0.03


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize("name", DENSE_MODELS)
def test_permuting_the_first_layer_gives_the_same_function(seed: int, name: str) -> None:
    seed_everything(seed)
    x = torch.randn(5, 40)
    permutation = np.random.default_rng(seed + 1).permutation(40)
    model = MODELS[name]()
    assert same_function_after_shuffle(model, permutation, x)
    with torch.no_grad():  # without reordering the columns, shuffled inputs give other outputs
        assert not torch.allclose(model(x), model(x[:, permutation]), atol=1e-3)
