"""Claims of docs/optimization/adaptive-optimizers.md."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from snippets.optimization.adaptive_optimizers import (
    MINIMUM,
    START,
    Adadelta,
    Adagrad,
    Adam,
    AdamW,
    AMSGrad,
    RMSprop,
    effective_steps,
    matching_pairs,
    race,
    rosenbrock,
    rosenbrock_gradient,
    run_scratch,
    run_torch,
    sgd_path,
    updates,
)
from tests.helpers import seeds


def perturbed_start(seed: int) -> np.ndarray:
    return START + np.random.default_rng(seed).normal(scale=0.1, size=2)


def test_gradient_matches_autograd() -> None:
    p = torch.tensor([-0.7, 1.3], dtype=torch.float64, requires_grad=True)
    ((1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2).backward()
    np.testing.assert_allclose(rosenbrock_gradient(np.array([-0.7, 1.3])), p.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize("name", ["Adagrad", "RMSprop", "Adadelta", "Adam"])
def test_scratch_matches_torch_optim_step_by_step(name: str, seed: int) -> None:
    ours, theirs = matching_pairs()[name]
    start = perturbed_start(seed)
    np.testing.assert_allclose(
        run_scratch(ours(), 200, start), run_torch(theirs, 200, start), rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda: Adagrad(), lambda p: torch.optim.Adagrad(p)),
        (lambda: RMSprop(), lambda p: torch.optim.RMSprop(p)),
        (lambda: Adadelta(), lambda p: torch.optim.Adadelta(p)),
        (lambda: Adam(), lambda p: torch.optim.Adam(p)),
        (
            lambda: Adam(lr=0.01, betas=(0.8, 0.99), eps=1e-6),
            lambda p: torch.optim.Adam(p, 0.01, (0.8, 0.99), 1e-6),
        ),
    ],
    ids=["Adagrad", "RMSprop", "Adadelta", "Adam", "Adam-custom"],
)
def test_defaults_match_torch(ours, theirs) -> None:
    np.testing.assert_allclose(run_scratch(ours(), 100), run_torch(theirs, 100), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", seeds(3))
def test_adagrad_steps_only_shrink_while_the_others_recover(seed: int) -> None:
    rng = np.random.default_rng(seed)
    magnitudes = np.concatenate([rng.uniform(1, 2, 100), rng.uniform(0.01, 0.02, 100)])  # gradients drop
    grads = magnitudes * rng.choice([-1.0, 1.0], size=200)
    adagrad = effective_steps(Adagrad(lr=0.1), grads)
    assert np.all(np.diff(adagrad) <= 1e-15)  # never increases
    for optimizer in (RMSprop(lr=0.1, alpha=0.9), Adadelta()):
        ratio = effective_steps(optimizer, grads)
        assert ratio[-1] > 10 * ratio[99]  # the step per unit gradient grows again
    assert adagrad[-1] < adagrad[99]


@pytest.mark.parametrize("seed", seeds(3))
def test_adam_first_step_is_lr_whatever_the_gradient_scale(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for scale in (1e-2, 1.0, 1e2):
        grad = scale * rng.uniform(0.5, 2.0, size=5) * rng.choice([-1.0, 1.0], size=5)
        step = Adam(lr=0.01).step(np.zeros(5), grad)
        np.testing.assert_allclose(np.abs(step), 0.01, rtol=1e-3)
        uncorrected = Adam(lr=0.01, bias_correction=False).step(np.zeros(5), grad)
        np.testing.assert_allclose(np.abs(uncorrected), 0.01 * 0.1 / np.sqrt(0.001), rtol=1e-3)


@pytest.mark.parametrize("seed", seeds(3))
def test_rescaling_the_gradients_does_not_change_the_updates(seed: int) -> None:
    rng = np.random.default_rng(seed)
    grads = rng.uniform(0.5, 2.0, size=(100, 3)) * rng.choice([-1.0, 1.0], size=(100, 3))
    for make in (lambda: Adagrad(lr=0.1), lambda: RMSprop(lr=0.01), lambda: Adam(lr=0.01)):
        base = updates(make(), grads)
        for scale in (0.01, 100.0):
            np.testing.assert_allclose(updates(make(), scale * grads), base, rtol=1e-3)
    # Whole Rosenbrock paths of Adagrad and Adam barely move when the loss is scaled.
    start = perturbed_start(seed)
    for make in (lambda: Adagrad(lr=1.0), lambda: Adam(lr=0.05)):
        base = run_scratch(make(), 200, start)
        for scale in (0.01, 100.0):
            np.testing.assert_allclose(run_scratch(make(), 200, start, scale=scale), base, atol=1e-6)
    # Plain gradient descent is not scale-free: lr = 0.001 is fine on f but blows up on 100 f.
    assert rosenbrock(sgd_path(1e-3, 50, start)[-1]) < rosenbrock(start)
    theta = start.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(50):
            theta = theta - 1e-3 * 100.0 * rosenbrock_gradient(theta)
    assert not np.isfinite(theta).all() or rosenbrock(theta) > 1e6


@pytest.mark.parametrize("seed", seeds(3))
def test_rosenbrock_race(seed: int) -> None:
    distances = {
        name: float(np.linalg.norm(path[-1] - MINIMUM))
        for name, path in race(3000, perturbed_start(seed)).items()
    }
    assert distances["Adam"] < 0.1
    assert distances["RMSprop"] < 0.1
    assert distances["Adagrad"] > 0.1  # its steps have shrunk too far
    assert distances["Adadelta"] > 0.3  # torch's defaults start with tiny steps
    assert distances["GD"] > 0.1
    default_adam = run_scratch(Adam(), 3000, perturbed_start(seed))[-1]
    assert np.linalg.norm(default_adam - MINIMUM) > 0.5  # lr = 0.001 is far too small here


@pytest.mark.parametrize("seed", seeds(3))
def test_adamw_solution_matches_torch(seed: int) -> None:
    start = perturbed_start(seed)
    ours = run_scratch(AdamW(lr=0.05, weight_decay=0.1), 100, start)
    theirs = run_torch(lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1), 100, start)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", seeds(3))
def test_amsgrad_solution_matches_torch(seed: int) -> None:
    start = perturbed_start(seed)
    ours = run_scratch(AMSGrad(lr=0.05), 100, start)
    theirs = run_torch(lambda p: torch.optim.Adam(p, lr=0.05, amsgrad=True), 100, start)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_torch_defaults_are_the_ones_in_the_table() -> None:
    p = [torch.zeros(1, requires_grad=True)]
    expected = {
        torch.optim.Adagrad: {"lr": 1e-2, "lr_decay": 0, "initial_accumulator_value": 0, "eps": 1e-10},
        torch.optim.RMSprop: {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8},
        torch.optim.Adadelta: {"lr": 1.0, "rho": 0.9, "eps": 1e-6},
        torch.optim.Adam: {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8},
    }
    for cls, values in expected.items():
        defaults = cls(p).defaults
        for key, value in values.items():
            assert defaults[key] == value, (cls.__name__, key)


@pytest.mark.parametrize("seed", seeds(3))
def test_rosenbrock_is_the_function_torch_minimises(seed: int) -> None:
    """The valley the page plots and the loss run_torch differentiates are one function, lowest at (1, 1)."""
    assert rosenbrock(MINIMUM) == 0.0 and rosenbrock(np.array([0.0, 0.0])) == 1.0
    for point in np.random.default_rng(seed).normal(scale=1.5, size=(5, 2)):
        x, y = torch.tensor(point, dtype=torch.float64)
        assert rosenbrock(point) == pytest.approx(float((1 - x) ** 2 + 100 * (y - x**2) ** 2), rel=1e-12)
        assert rosenbrock(point) > 0


@pytest.mark.parametrize("seed", seeds(2))
def test_adamw_passes_adams_other_settings_on(seed: int) -> None:
    start = perturbed_start(seed)
    ours = run_scratch(AdamW(lr=0.05, weight_decay=0.1, betas=(0.8, 0.9), eps=1e-4), 50, start)
    theirs = run_torch(lambda p: torch.optim.AdamW(p, 0.05, (0.8, 0.9), 1e-4, weight_decay=0.1), 50, start)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
