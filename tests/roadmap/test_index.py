"""Claims of docs/roadmap/index.md."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from snippets.common import one_thread, seed_everything
from snippets.roadmap.index import (
    concentric_circles,
    fit_linear,
    fit_sklearn_mlp,
    mlp_predict,
    probe_every_layer,
    spiral_split,
    train_mlp,
    two_spirals,
    with_squared_radius,
)
from tests.helpers import seeds


@cache
def trained(seed: int) -> dict[str, float | list[float]]:
    """Train every model once per seed and keep the test accuracies."""
    seed_everything(seed)
    x_train, y_train, x_test, y_test = spiral_split(600, seed)
    with one_thread():
        mlp = train_mlp(x_train, y_train)
        return {
            "linear": fit_linear(x_train, y_train).score(x_test, y_test),
            "sklearn_mlp": fit_sklearn_mlp(x_train, y_train, seed).score(x_test, y_test),
            "torch_mlp": float(np.mean(mlp_predict(mlp, x_test) == y_test)),
            "probes": probe_every_layer(mlp, x_train, y_train, x_test, y_test),
        }


@pytest.mark.parametrize("seed", seeds(3))
def test_linear_model_fails_on_spirals(seed: int) -> None:
    assert trained(seed)["linear"] <= 0.75


@pytest.mark.parametrize("seed", seeds(3))
def test_both_mlps_learn_the_spirals(seed: int) -> None:
    result = trained(seed)
    assert result["sklearn_mlp"] >= 0.95
    assert result["torch_mlp"] >= 0.95
    assert result["torch_mlp"] >= result["linear"] + 0.2


@pytest.mark.parametrize("seed", seeds(3))
def test_learned_representation_is_linearly_separable(seed: int) -> None:
    raw, first, last = trained(seed)["probes"]
    assert raw <= 0.75
    assert last >= 0.95
    assert first >= raw + 0.1  # each layer makes the classes more linearly separable
    assert last >= first + 0.03


@pytest.mark.parametrize("seed", seeds(3))
def test_hand_designed_feature_rescues_the_linear_model(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x_train, y_train = concentric_circles(400, rng)
    x_test, y_test = concentric_circles(400, rng)
    assert fit_linear(x_train, y_train).score(x_test, y_test) <= 0.75
    lifted = fit_linear(with_squared_radius(x_train), y_train)
    assert lifted.score(with_squared_radius(x_test), y_test) >= 0.99


@pytest.mark.parametrize("seed", seeds(3))
def test_the_datasets_have_the_shapes_their_docstrings_describe(seed: int) -> None:
    rng = np.random.default_rng(seed)
    points, labels = concentric_circles(500, rng)
    radius = np.hypot(points[:, 0], points[:, 1])
    assert points.shape == (500, 2) and set(labels) == {0, 1}
    assert radius[labels == 0].max() <= 1.0 and radius[labels == 1].min() >= 1.5 and radius.max() <= 2.0
    angle = np.arctan2(points[:, 1], points[:, 0])
    assert np.ptp(angle[labels == 0]) > 5.5 and np.ptp(angle[labels == 1]) > 5.5  # all the way round

    points, labels = two_spirals(500, 0.0, rng)
    assert points.shape == (500, 2) and points.dtype == np.float32 and set(labels) == {0, 1}
    radius = np.hypot(points[:, 0], points[:, 1])
    assert radius.max() <= 1.0 + 1e-6 and radius.max() > 0.95
    # Without noise a point at radius r lies at angle 3*pi*r (1.5 turns), plus pi on the second spiral.
    turned = np.angle(
        np.exp(1j * (np.arctan2(points[:, 1], points[:, 0]) - 3 * np.pi * radius - np.pi * labels))
    )
    assert np.abs(turned).max() < 1e-3
    noisy, _ = two_spirals(500, 0.05, np.random.default_rng(seed))
    clean, _ = two_spirals(500, 0.0, np.random.default_rng(seed))
    assert 0.03 < np.std(noisy - clean) < 0.07
