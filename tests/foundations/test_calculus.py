"""Claims of docs/foundations/calculus.md."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from snippets.foundations.calculus import (
    A,
    BrokenSigmoid,
    Sigmoid,
    central_difference,
    derivative_by_autograd,
    f,
    f_prime,
    forward_difference,
    g,
    grad_g,
    gradient_descent,
    gradient_descent_torch,
    jacobian_by_chain_rule,
    largest_stable_lr,
    local_minima_of_u,
    mse_gradient,
    neuron_loss,
    neuron_loss_gradient,
    numerical_gradient,
    passes_gradcheck,
    quadratic_gradient,
    quadratic_loss,
    u,
    u_prime,
)
from tests.helpers import seeds


def tensor(values) -> torch.Tensor:
    return torch.as_tensor(values, dtype=torch.float64)


@pytest.mark.parametrize("seed", seeds(3))
def test_hand_finite_differences_and_autograd_agree(seed: int) -> None:
    x = tensor(np.random.default_rng(seed).uniform(-3, 3, size=50))
    hand = f_prime(x)
    assert (central_difference(f, x) - hand).abs().max() < 1e-8
    torch.testing.assert_close(derivative_by_autograd(f, x), hand, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("point", [-2.0, 1.0, 2.5])
def test_central_error_shrinks_like_h_squared_forward_like_h(point: float) -> None:
    x, exact = tensor(point), f_prime(tensor(point)).item()

    def error(method, step: float) -> float:
        return abs(method(f, x, step).item() - exact)

    assert 3.5 < error(central_difference, 1e-2) / error(central_difference, 5e-3) < 4.5
    assert 1.8 < error(forward_difference, 1e-2) / error(forward_difference, 5e-3) < 2.2
    assert error(central_difference, 1e-5) < error(forward_difference, 1e-5) / 100
    # far too small a step: rounding error dominates and both get worse
    assert error(central_difference, 1e-12) > 100 * error(central_difference, 1e-5)
    assert error(forward_difference, 1e-12) > 100 * error(central_difference, 1e-5)


@pytest.mark.parametrize("seed", seeds(3))
def test_gradient_by_hand_numerically_and_by_autograd(seed: int) -> None:
    for p in np.random.default_rng(seed).uniform(-2, 2, size=(10, 2)):
        p = tensor(p)
        hand = grad_g(p)
        torch.testing.assert_close(numerical_gradient(g, p), hand, rtol=0, atol=1e-7)
        torch.testing.assert_close(derivative_by_autograd(g, p), hand, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", seeds(3))
def test_chain_rule_by_hand_matches_autograd(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for w, b, x, y in rng.normal(size=(10, 4)):
        w, b = tensor(w).requires_grad_(True), tensor(b).requires_grad_(True)
        by_autograd = torch.autograd.grad(neuron_loss(w, b, tensor(x), tensor(y)), (w, b))
        by_hand = neuron_loss_gradient(w.detach(), b.detach(), tensor(x), tensor(y))
        for ours, theirs in zip(by_hand, by_autograd, strict=True):
            torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-14)
    w1, w2, x = tensor(rng.normal(size=(4, 3))), tensor(rng.normal(size=(2, 4))), tensor(rng.normal(size=3))

    def inner(v: torch.Tensor) -> torch.Tensor:
        return torch.tanh(w1 @ v)

    def outer(v: torch.Tensor) -> torch.Tensor:
        return torch.sin(w2 @ v) ** 2

    composed = torch.autograd.functional.jacobian(lambda v: outer(inner(v)), x)
    assert composed.shape == (2, 3)
    torch.testing.assert_close(jacobian_by_chain_rule(inner, outer, x), composed, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("seed", seeds(3))
def test_gradcheck_accepts_right_backward_and_rejects_wrong_one(seed: int) -> None:
    z = torch.randn(8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    assert passes_gradcheck(Sigmoid, z)
    assert not passes_gradcheck(BrokenSigmoid, z)
    torch.testing.assert_close(Sigmoid.apply(z), torch.sigmoid(z))


@pytest.mark.parametrize("seed", seeds(3))
def test_gradient_descent_matches_sgd_and_needs_lr_below_two_over_lambda_max(seed: int) -> None:
    rng = np.random.default_rng(seed)
    start, lr = rng.normal(size=2), float(rng.uniform(0.01, 0.19))
    ours = gradient_descent(quadratic_gradient, start, lr, 30)
    theirs = gradient_descent_torch(quadratic_loss, start, lr, 30)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    assert 2 / np.linalg.eigvalsh(A).max() == pytest.approx(0.2)
    converged = gradient_descent(quadratic_gradient, start, 0.19, 300)[-1]
    diverged = gradient_descent(quadratic_gradient, start, 0.21, 300)[-1]
    assert np.linalg.norm(converged) < 1e-6 * np.linalg.norm(start)
    assert np.linalg.norm(diverged) > 1e3 * np.linalg.norm(start)


@pytest.mark.parametrize("seed", seeds(3))
def test_gradient_descent_finds_the_minimum_of_its_own_valley(seed: int) -> None:
    left, right = local_minima_of_u()
    peak = np.sort(np.roots([4.0, 0.0, -6.0, 1.0]).real)[1]  # the local maximum between them
    assert u(left) < u(right) - 2  # the left minimum is the global one
    rng = np.random.default_rng(seed)
    starts = np.concatenate([rng.uniform(-2, peak - 0.05, size=5), rng.uniform(peak + 0.05, 2, size=5)])
    for x0 in starts:
        end = gradient_descent(u_prime, np.array(x0), 0.02, 500)[-1]
        expected = left if x0 < peak else right
        assert abs(end - expected) < 1e-6
        assert abs(u_prime(end)) < 1e-5


@pytest.mark.parametrize("seed", seeds(3))
def test_solution_mse_gradient(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, w, y = rng.normal(size=(20, 3)), rng.normal(size=3), rng.normal(size=20)
    w_t = tensor(w).requires_grad_(True)
    ((tensor(x) @ w_t - tensor(y)) ** 2).mean().backward()
    np.testing.assert_allclose(mse_gradient(x, w, y), w_t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", seeds(3))
def test_solution_largest_stable_lr_is_two_over_lambda_max(seed: int) -> None:
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    eigenvalues = rng.uniform(0.5, 20, size=3)
    matrix = q @ np.diag(eigenvalues) @ q.T
    assert largest_stable_lr(matrix) == pytest.approx(2 / eigenvalues.max(), rel=0.01)


def test_pitfalls_float32_relu_kink_and_accumulating_gradients() -> None:
    x64 = tensor(1.0)
    x32 = x64.float()
    assert abs(central_difference(f, x64).item() - f_prime(x64).item()) < 1e-9
    assert abs(central_difference(f, x32).item() - f_prime(x64).item()) > 1e-3  # rounding in float32
    zero = torch.zeros(1, requires_grad=True)
    torch.relu(zero).sum().backward()
    assert zero.grad.item() == 0.0  # PyTorch's choice at the kink of ReLU
    w = tensor(2.0).requires_grad_(True)
    (w**2).backward()
    (w**2).backward()
    assert w.grad.item() == 8.0  # 4 + 4: backward adds to .grad until it is zeroed
