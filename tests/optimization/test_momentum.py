"""Claims of docs/optimization/momentum.md."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import torch

from snippets.optimization.momentum import (
    compare,
    heavy_ball,
    make_quadratic,
    nesterov,
    polyak_with_lr_change,
    random_start,
    steps_to_tolerance,
    torch_sgd_path,
    tuned_heavy_ball,
    where_it_ends,
)
from tests.helpers import seeds


@cache
def quadratic() -> np.ndarray:
    """The page's ill-conditioned quadratic, built inside the tests (not at import) so that
    mutation testing sees the code that builds it."""
    return make_quadratic(100.0)


def grad(theta: np.ndarray) -> np.ndarray:
    return quadratic() @ theta


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize("momentum", [0.5, 0.9])
def test_heavy_ball_matches_torch_sgd_momentum(seed: int, momentum: float) -> None:
    start = random_start(np.random.default_rng(seed))
    ours = heavy_ball(grad, start, 0.01, momentum, 100)
    theirs = torch_sgd_path(quadratic(), start, 0.01, momentum, 100)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize("momentum", [0.5, 0.9])
def test_torch_nesterov_parameters_are_the_look_ahead_points(seed: int, momentum: float) -> None:
    start = random_start(np.random.default_rng(seed))
    path, look_ahead = nesterov(grad, start, 0.01, momentum, 100)
    theirs = torch_sgd_path(quadratic(), start, 0.01, momentum, 100, use_nesterov=True)
    np.testing.assert_allclose(look_ahead, theirs, rtol=1e-12, atol=1e-14)
    assert np.abs(path - theirs).max() > 1e-3  # they are not the theta of Sutskever's form


@pytest.mark.parametrize("seed", seeds(3))
def test_momentum_needs_far_fewer_steps_on_an_ill_conditioned_quadratic(seed: int) -> None:
    counts = compare(quadratic(), random_start(np.random.default_rng(seed)), momentum=0.9)
    assert counts["heavy ball"] * 3 < counts["gradient descent"]
    assert counts["Nesterov"] * 3 < counts["gradient descent"]


@pytest.mark.parametrize("seed", seeds(3))
def test_too_much_momentum_slows_heavy_ball_down(seed: int) -> None:
    start = random_start(np.random.default_rng(seed))
    at_09 = steps_to_tolerance(quadratic(), heavy_ball(grad, start, 0.01, 0.9, 5000))
    at_099 = steps_to_tolerance(quadratic(), heavy_ball(grad, start, 0.01, 0.99, 5000))
    assert at_099 > 3 * at_09


@pytest.mark.parametrize("seed", seeds(3))
def test_conventions_agree_for_constant_lr_and_differ_after_a_change(seed: int) -> None:
    start = random_start(np.random.default_rng(seed))
    same_a, same_b = polyak_with_lr_change(quadratic(), start, [0.01] * 40, 0.9)
    np.testing.assert_allclose(same_a, same_b, rtol=1e-12, atol=1e-14)
    changed_a, changed_b = polyak_with_lr_change(quadratic(), start, [0.01] * 20 + [0.001] * 20, 0.9)
    assert np.abs(changed_a - changed_b).max() > 1e-3


def test_momentum_may_or_may_not_leave_a_local_minimum() -> None:
    starts = np.linspace(1.5, 2.5, 6)
    plain = [where_it_ends(x0, 0.0) for x0 in starts]
    rolling = [where_it_ends(x0, 0.9) for x0 in starts]
    assert all(abs(x - 0.96) < 0.01 for x in plain)  # GD always stops in the nearer, worse minimum
    assert any(x < -1.0 for x in rolling)  # momentum sometimes rolls on to the better one ...
    assert any(abs(x - 0.96) < 0.01 for x in rolling)  # ... and sometimes does not


@pytest.mark.parametrize("seed", seeds(3))
def test_tuned_heavy_ball_beats_best_gradient_descent(seed: int) -> None:
    start = random_start(np.random.default_rng(seed))
    lr, mu = tuned_heavy_ball(1.0, 100.0)
    tuned = steps_to_tolerance(quadratic(), heavy_ball(grad, start, lr, mu, 5000))
    best_gd = steps_to_tolerance(quadratic(), heavy_ball(grad, start, 2.0 / 101.0, 0.0, 5000))
    assert tuned * 4 < best_gd


@pytest.mark.parametrize("seed", seeds(3))
def test_fixed_momentum_falls_behind_tuned_at_higher_condition(seed: int) -> None:
    hard = make_quadratic(10_000.0)
    start = random_start(np.random.default_rng(seed))
    counts = compare(hard, start, momentum=0.9, steps=5000)
    lr, mu = tuned_heavy_ball(1.0, 10_000.0)
    tuned = steps_to_tolerance(hard, heavy_ball(lambda t: hard @ t, start, lr, mu, 5000))
    assert counts["gradient descent"] > 5000  # did not get there
    assert counts["heavy ball"] > 3000
    assert tuned < 1000


@pytest.mark.parametrize("seed", seeds(3))
def test_torch_weight_decay_enters_the_buffer(seed: int) -> None:
    start = random_start(np.random.default_rng(seed))
    decay = 0.1
    ours = heavy_ball(lambda t: quadratic() @ t + decay * t, start, 0.01, 0.9, 50)
    param = torch.tensor(start, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=0.01, momentum=0.9, weight_decay=decay)
    for _ in range(50):
        optimizer.zero_grad()
        (0.5 * param @ torch.tensor(quadratic()) @ param).backward()
        optimizer.step()
    np.testing.assert_allclose(param.detach().numpy(), ours[-1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("momentum", "dampening"), [(0.0, 0.0), (0.9, 0.1)])
def test_torch_refuses_nesterov_without_momentum_or_with_dampening(momentum: float, dampening: float) -> None:
    with pytest.raises(ValueError, match="Nesterov"):
        torch.optim.SGD(
            [torch.zeros(1, requires_grad=True)],
            lr=0.1,
            momentum=momentum,
            nesterov=True,
            dampening=dampening,
        )
