"""Claims of docs/optimization/gradient-descent.md."""

from __future__ import annotations

import numpy as np
import pytest

from snippets.common import seed_everything
from snippets.optimization.gradient_descent import (
    best_constant_step,
    curvature,
    descend_from_saddle_line,
    full_batch_losses,
    gradient,
    gradient_descent,
    least_squares,
    loss,
    make_data,
    noise_floor,
    steps_to_escape,
    steps_to_tolerance,
    train_torch,
)
from tests.helpers import seeds


def data(seed: int, n: int = 256) -> tuple[np.ndarray, np.ndarray]:
    return make_data(n, np.random.default_rng(seed))


@pytest.mark.parametrize("seed", seeds(3))
def test_gradient_matches_finite_differences(seed: int) -> None:
    X, y = data(seed)
    theta = np.random.default_rng(seed).normal(size=2)
    h = 1e-6
    numeric = [(loss(theta + h * e, X, y) - loss(theta - h * e, X, y)) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(gradient(theta, X, y), numeric, rtol=1e-6)


@pytest.mark.parametrize("seed", seeds(3))
def test_batch_descent_reaches_least_squares(seed: int) -> None:
    X, y = data(seed)
    _, largest = curvature(X)
    path, _ = gradient_descent(X, y, 1.0 / largest, 400, len(y), np.random.default_rng(seed))
    np.testing.assert_allclose(path[-1], least_squares(X, y), atol=1e-6)


@pytest.mark.parametrize("seed", seeds(3))
def test_pytorch_full_batch_matches_scratch(seed: int) -> None:
    seed_everything(seed)
    X, y = data(seed)
    _, largest = curvature(X)
    theta, torch_losses = train_torch(X, y, 1.0 / largest, 20, batch_size=len(y))
    path, losses = gradient_descent(X, y, 1.0 / largest, 20, len(y), np.random.default_rng(seed))
    np.testing.assert_allclose(theta, path[-1], rtol=1e-10)
    np.testing.assert_allclose(torch_losses, losses[1:], rtol=1e-10)


@pytest.mark.parametrize("seed", seeds(3))
def test_pytorch_mini_batch_gets_close_to_least_squares(seed: int) -> None:
    seed_everything(seed)
    X, y = data(seed)
    _, largest = curvature(X)
    theta, _ = train_torch(X, y, 0.5 / largest, 30, batch_size=32)
    best = loss(least_squares(X, y), X, y)
    assert loss(theta, X, y) - best < 0.01
    assert loss(theta, X, y) - best < 0.01 * (loss(np.array([-2.0, 3.0]), X, y) - best)


@pytest.mark.parametrize("seed", seeds(3))
def test_mini_batches_make_more_progress_per_epoch(seed: int) -> None:
    X, y = data(seed)
    _, largest = curvature(X)
    best = loss(least_squares(X, y), X, y)
    excess = {}
    for batch_size in (len(y), 32, 1):
        lr = 1.0 / largest if batch_size > 1 else 0.05
        _, losses = gradient_descent(X, y, lr, 5, batch_size, np.random.default_rng(seed))
        excess[batch_size] = losses[-1] - best
    assert excess[32] < excess[len(y)] / 10
    assert excess[1] < excess[len(y)] / 10


@pytest.mark.parametrize("seed", seeds(3))
def test_constant_step_sgd_has_a_noise_floor_that_shrinks_with_the_step(seed: int) -> None:
    X, y = data(seed)
    floor = noise_floor(X, y, 0.05, 20, np.random.default_rng(seed))
    quarter = noise_floor(X, y, 0.0125, 20, np.random.default_rng(seed))
    # batches of 16 with the same step, for the same number of updates (16 times more epochs)
    batched = noise_floor(X, y, 0.05, 320, np.random.default_rng(seed), batch_size=16)
    _, largest = curvature(X)
    _, batch_losses = gradient_descent(X, y, 1.0 / largest, 400, len(y), np.random.default_rng(seed))
    batch_excess = batch_losses[-1] - loss(least_squares(X, y), X, y)
    assert floor > 1e-3  # SGD does not settle
    assert quarter < floor / 2  # a 4x smaller step gives a clearly lower floor
    assert batched < floor / 4  # so do 16x larger batches
    assert batch_excess < 1e-10  # exact gradients converge


@pytest.mark.parametrize("seed", seeds(3))
def test_learning_rate_too_small_good_and_divergent(seed: int) -> None:
    X, y = data(seed)
    _, largest = curvature(X)
    best = loss(least_squares(X, y), X, y)
    start = full_batch_losses(X, y, 1.0, 0)[0] - best
    excess = {f: full_batch_losses(X, y, f / largest, 50)[-1] - best for f in (0.1, 1.0, 1.95, 2.05)}
    assert excess[0.1] > 0.1 * start  # too small: most of the way still to go
    assert excess[1.0] < 1e-2 * start  # good
    assert excess[1.95] < 1e-2 * start  # still converges, while oscillating
    assert excess[2.05] > 10 * start  # just past 2 / lambda_max: diverges


@pytest.mark.parametrize("seed", seeds(3))
def test_noise_escapes_a_saddle_that_exact_gradients_converge_to(seed: int) -> None:
    rng = np.random.default_rng(seed)
    assert abs(descend_from_saddle_line(300, 0.1, 0.0, rng)) < 1e-12  # stuck at f = 0
    assert descend_from_saddle_line(300, 0.1, 0.1, rng) < -0.2  # near a minimum, f = -0.25


def test_escape_time_grows_with_closeness_to_the_saddle() -> None:
    steps = [steps_to_escape(10.0**-k) for k in (2, 4, 8)]
    assert steps[0] < steps[1] < steps[2] < 10_000
    assert steps_to_escape(0.0) == 10_000


@pytest.mark.parametrize("seed", seeds(3))
def test_best_constant_step_needs_fewest_steps(seed: int) -> None:
    X, y = data(seed)
    _, largest = curvature(X)
    best = steps_to_tolerance(X, y, best_constant_step(X))
    assert best < steps_to_tolerance(X, y, 1.0 / largest)
    assert best < steps_to_tolerance(X, y, 1.9 / largest)


@pytest.mark.parametrize("seed", seeds(3))
def test_centring_the_feature_removes_the_narrow_valley(seed: int) -> None:
    X, y = data(seed)
    centred = X.copy()
    centred[:, 0] -= centred[:, 0].mean()
    smallest, largest = curvature(X)
    c_smallest, c_largest = curvature(centred)
    assert largest / smallest > 10
    assert c_largest / c_smallest < 2
    assert steps_to_tolerance(X, y, 1.0 / largest) > 100
    assert steps_to_tolerance(centred, y, 1.0 / c_largest) <= 10
