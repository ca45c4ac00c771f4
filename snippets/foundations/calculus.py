"""Calculus for deep learning: derivatives by hand, by finite differences and by autograd,
the chain rule, and gradient descent.

Run ``python -m snippets.foundations.calculus --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
from collections.abc import Callable

import numpy as np
import torch


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


Function = Callable[[torch.Tensor], torch.Tensor]
# --8<-- [end:setup]

from snippets.common import make_parser, positive_float, positive_int, run_cli  # noqa: E402


# --8<-- [start:derivative]
def f(x: torch.Tensor) -> torch.Tensor:
    """f(x) = x^2 sin(x), applied element by element."""
    return x**2 * torch.sin(x)


def f_prime(x: torch.Tensor) -> torch.Tensor:
    """By hand, with the product rule: (uv)' = u'v + uv'."""
    return 2 * x * torch.sin(x) + x**2 * torch.cos(x)


def forward_difference(fn: Function, x: torch.Tensor, h: float = 1e-5) -> torch.Tensor:
    """(f(x + h) - f(x)) / h: error proportional to h."""
    return (fn(x + h) - fn(x)) / h


def central_difference(fn: Function, x: torch.Tensor, h: float = 1e-5) -> torch.Tensor:
    """(f(x + h) - f(x - h)) / 2h: error proportional to h^2."""
    return (fn(x + h) - fn(x - h)) / (2 * h)


# --8<-- [end:derivative]


# --8<-- [start:autograd]
def derivative_by_autograd(fn: Function, x: torch.Tensor) -> torch.Tensor:
    """Let PyTorch differentiate: record fn on x, then run the chain rule backwards.

    For an element-wise fn, the gradient of fn(x).sum() is the vector of derivatives f'(x_i).
    """
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(x).sum(), x)
    return grad


# --8<-- [end:autograd]


# --8<-- [start:gradient]
def g(p: torch.Tensor) -> torch.Tensor:
    """g(x, y) = (1 - x)^2 + 5 (y - x^2)^2: a curved valley with its minimum at (1, 1)."""
    x, y = p[..., 0], p[..., 1]
    return (1 - x) ** 2 + 5 * (y - x**2) ** 2


def grad_g(p: torch.Tensor) -> torch.Tensor:
    """The two partial derivatives, by hand (chain rule on each square)."""
    x, y = p[..., 0], p[..., 1]
    d_dx = -2 * (1 - x) - 20 * x * (y - x**2)
    d_dy = 10 * (y - x**2)
    return torch.stack([d_dx, d_dy], dim=-1)


def numerical_gradient(fn: Function, p: torch.Tensor, h: float = 1e-5) -> torch.Tensor:
    """Central differences, one coordinate at a time: the i-th partial derivative."""
    grad = torch.zeros_like(p)
    for i in range(p.numel()):
        step = torch.zeros_like(p)
        step.view(-1)[i] = h
        grad.view(-1)[i] = (fn(p + step) - fn(p - step)) / (2 * h)
    return grad


# --8<-- [end:gradient]


# --8<-- [start:chain-rule]
def neuron_loss(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Squared error of one sigmoid neuron: L = (sigma(w x + b) - y)^2."""
    return (torch.sigmoid(w * x + b) - y) ** 2


def neuron_loss_gradient(
    w: torch.Tensor, b: torch.Tensor, x: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """dL/dw and dL/db by the chain rule: dL/da * da/dz * dz/dw (or dz/db)."""
    z = w * x + b
    a = torch.sigmoid(z)
    dl_da = 2 * (a - y)
    da_dz = a * (1 - a)  # the sigmoid's derivative
    return dl_da * da_dz * x, dl_da * da_dz * 1.0  # dz/dw = x, dz/db = 1


def jacobian_by_chain_rule(inner: Function, outer: Function, x: torch.Tensor) -> torch.Tensor:
    """For vector functions the chain rule multiplies Jacobians: J(outer∘inner) = J_outer J_inner."""
    jacobian = torch.autograd.functional.jacobian
    return jacobian(outer, inner(x)) @ jacobian(inner, x)


# --8<-- [end:chain-rule]


# --8<-- [start:gradcheck]
class Sigmoid(torch.autograd.Function):
    """A sigmoid with a hand-written backward pass: d sigma / dz = sigma (1 - sigma)."""

    @staticmethod
    def forward(ctx, z: torch.Tensor) -> torch.Tensor:
        s = 1 / (1 + torch.exp(-z))
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (s,) = ctx.saved_tensors
        return grad_output * s * (1 - s)


class BrokenSigmoid(Sigmoid):
    """The same forward pass with a wrong backward: the factor (1 - sigma) is missing."""

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (s,) = ctx.saved_tensors
        return grad_output * s


def passes_gradcheck(function: type[torch.autograd.Function], z: torch.Tensor) -> bool:
    """Compare the backward pass with central differences (needs float64 inputs)."""
    z = z.detach().to(torch.float64).requires_grad_(True)
    return torch.autograd.gradcheck(function.apply, (z,), eps=1e-6, atol=1e-5, raise_exception=False)


# --8<-- [end:gradcheck]


# --8<-- [start:descent]
def gradient_descent(
    grad_fn: Callable[[np.ndarray], np.ndarray], start: np.ndarray, lr: float, steps: int
) -> np.ndarray:
    """theta <- theta - lr * grad(theta), repeated; returns all steps + 1 iterates as rows."""
    theta = np.asarray(start, dtype=float)
    path = [theta]
    for _ in range(steps):
        theta = theta - lr * grad_fn(theta)
        path.append(theta)
    return np.array(path)


# A bowl that is 10 times steeper along y than along x: q(theta) = theta^T A theta / 2.
A = np.diag([1.0, 10.0])


def quadratic_gradient(theta: np.ndarray) -> np.ndarray:
    return A @ theta


def u(x: np.ndarray) -> np.ndarray:
    """A function with two valleys: u(x) = x^4 - 3x^2 + x."""
    return x**4 - 3 * x**2 + x


def u_prime(x: np.ndarray) -> np.ndarray:
    return 4 * x**3 - 6 * x + 1


# --8<-- [end:descent]


# --8<-- [start:descent-torch]
def gradient_descent_torch(loss_fn: Function, start: np.ndarray, lr: float, steps: int) -> np.ndarray:
    """The same loop with autograd and torch.optim.SGD; returns all iterates as rows."""
    theta = torch.tensor(start, dtype=torch.float64, device=pick_device(), requires_grad=True)
    optimizer = torch.optim.SGD([theta], lr=lr)
    path = [theta.detach().cpu().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(theta).backward()
        optimizer.step()
        path.append(theta.detach().cpu().clone())
    return torch.stack(path).numpy()


def quadratic_loss(theta: torch.Tensor) -> torch.Tensor:
    return 0.5 * theta @ torch.as_tensor(A, dtype=theta.dtype, device=theta.device) @ theta


# --8<-- [end:descent-torch]


# --8<-- [start:solution-mse]
def mse_gradient(x: np.ndarray, w: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of L(w) = mean((X w - y)^2) by hand: (2 / n) X^T (X w - y)."""
    return 2 / len(y) * x.T @ (x @ w - y)


# --8<-- [end:solution-mse]


# --8<-- [start:solution-stable-lr]
def largest_stable_lr(matrix: np.ndarray, steps: int = 1000) -> float:
    """The largest step size for which gradient descent on theta^T M theta / 2 converges, by bisection."""
    start = np.ones(len(matrix))

    def converges(lr: float) -> bool:
        with np.errstate(over="ignore", invalid="ignore"):  # diverging runs overflow to inf/nan
            final = gradient_descent(lambda theta: matrix @ theta, start, lr, steps)[-1]
            return bool(np.linalg.norm(final) < 1e-3 * np.linalg.norm(start))

    low, high = 0.0, 1.0
    while converges(high):  # grow the bracket until gradient descent fails
        low, high = high, 2 * high
    for _ in range(15):
        middle = (low + high) / 2
        low, high = (middle, high) if converges(middle) else (low, middle)
    return low


# --8<-- [end:solution-stable-lr]


def local_minima_of_u() -> np.ndarray:
    """The two minima of u (roots of u' where u'' > 0), smallest first."""
    roots = np.sort(np.roots([4.0, 0.0, -6.0, 1.0]).real)
    return roots[12 * roots**2 - 6 > 0]


def plot_tangent_and_descent():
    """Left: u, a tangent line and two descent paths. Right: descent on a narrow bowl."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    ax = axes[0]
    xs = np.linspace(-2.0, 2.0, 400)
    ax.plot(xs, u(xs), color="black", linewidth=1.5, label="u(x)")
    x0 = -0.2
    near = np.linspace(x0 - 0.8, x0 + 0.8, 2)
    ax.plot(
        near, u(x0) + u_prime(x0) * (near - x0), color="gray", linestyle="--", label=f"tangent at x = {x0}"
    )
    for start, color in [(1.8, "#d95f02"), (-0.2, "#1b6ca8")]:
        path = gradient_descent(u_prime, np.array(start), 0.02, 40)
        ax.plot(path, u(path), "o-", color=color, markersize=3, linewidth=0.8, label=f"GD from x = {start}")
    ax.set_ylim(-4.5, 5)
    ax.set_xlabel("x")
    ax.legend(loc="upper center", fontsize=8)

    ax = axes[1]
    grid = np.linspace(-2.2, 2.2, 200)
    xx, yy = np.meshgrid(grid, grid)
    ax.contour(xx, yy, 0.5 * (A[0, 0] * xx**2 + A[1, 1] * yy**2), levels=12, colors="#bbbbbb", linewidths=0.8)
    for lr, color in [(0.05, "#1b6ca8"), (0.18, "#d95f02")]:
        path = gradient_descent(quadratic_gradient, np.array([-2.0, 1.5]), lr, 25)
        ax.plot(path[:, 0], path[:, 1], "o-", color=color, markersize=3, linewidth=0.8, label=f"η = {lr}")
    ax.plot([0], [0], "k*", markersize=10)
    ax.set_aspect("equal")
    ax.set_xlabel("θ₁")
    ax.set_ylabel("θ₂")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def plot_finite_difference_error():
    """Error of forward and central differences against h, on log-log axes."""
    import matplotlib.pyplot as plt

    x = torch.tensor(1.0, dtype=torch.float64)
    hs = np.logspace(-13, -1, 49)
    exact = f_prime(x).item()
    forward = [abs(forward_difference(f, x, step).item() - exact) for step in hs]
    central = [abs(central_difference(f, x, step).item() - exact) for step in hs]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.loglog(hs, np.maximum(forward, 1e-17), "o-", markersize=3, color="#d95f02", label="forward: O(h)")
    ax.loglog(hs, np.maximum(central, 1e-17), "s-", markersize=3, color="#1b6ca8", label="central: O(h²)")
    ax.set_xlabel("h")
    ax.set_ylabel("|error| at x = 1")
    ax.set_ylim(1e-13, 1)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {
    "calculus-tangent-and-descent": plot_tangent_and_descent,
    "calculus-finite-difference-error": plot_finite_difference_error,
}


def report(args: argparse.Namespace) -> None:
    """Compare the three ways of differentiating, then run gradient descent."""
    rng = np.random.default_rng(args.seed)
    print(f"seed={args.seed} lr={args.lr} steps={args.steps}")
    x = torch.tensor(rng.uniform(-3, 3, size=4), dtype=torch.float64)
    print("f(x) = x^2 sin x:       x     by hand     central    autograd")
    hand, central, auto = f_prime(x), central_difference(f, x), derivative_by_autograd(f, x)
    for values in zip(x.tolist(), hand.tolist(), central.tolist(), auto.tolist(), strict=True):
        print("                   " + " ".join(f"{v:10.6f}" for v in values))
    print(
        f"max |central - hand| {(central - hand).abs().max():.1e}, "
        f"max |autograd - hand| {(auto - hand).abs().max():.1e}"
    )
    one = torch.tensor(1.0, dtype=torch.float64)
    for step in (1e-2, 5e-3, 1e-5, 1e-12):
        fwd = abs(forward_difference(f, one, step) - f_prime(one)).item()
        ctr = abs(central_difference(f, one, step) - f_prime(one)).item()
        print(f"h = {step:.0e}: forward error {fwd:.1e}, central error {ctr:.1e}")

    p = torch.tensor(rng.uniform(-1.5, 1.5, size=2), dtype=torch.float64)
    auto_grad = derivative_by_autograd(g, p)
    print(
        f"gradient of g at ({p[0]:.3f}, {p[1]:.3f}): by hand {grad_g(p).numpy().round(6)}, "
        f"numerical {numerical_gradient(g, p).numpy().round(6)}, autograd {auto_grad.numpy().round(6)}"
    )
    w, b, xin, y = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in rng.normal(size=4))
    by_hand = neuron_loss_gradient(w, b, xin, y)
    by_autograd = torch.autograd.grad(neuron_loss(w, b, xin, y), (w, b))
    print(
        f"neuron dL/dw, dL/db: chain rule by hand ({by_hand[0]:.6f}, {by_hand[1]:.6f}), "
        f"autograd ({by_autograd[0]:.6f}, {by_autograd[1]:.6f})"
    )
    z = torch.tensor(rng.normal(size=5))
    print(
        f"gradcheck: Sigmoid {passes_gradcheck(Sigmoid, z)}, "
        f"BrokenSigmoid {passes_gradcheck(BrokenSigmoid, z)}"
    )

    start = np.array([-2.0, 1.5])
    ours = gradient_descent(quadratic_gradient, start, args.lr, args.steps)
    theirs = gradient_descent_torch(quadratic_loss, start, args.lr, args.steps)
    limit = 2 / np.linalg.eigvalsh(A).max()
    print(
        f"gradient descent on theta^T A theta / 2, lr={args.lr}, {args.steps} steps: "
        f"final theta {ours[-1].round(6)}, loss {0.5 * ours[-1] @ A @ ours[-1]:.3g}"
    )
    print(
        f"  max |ours - torch.optim.SGD| over the path {np.abs(ours - theirs).max():.1e}; "
        f"converges only for lr < 2/lambda_max = {limit:.2f}"
    )
    minima = local_minima_of_u()
    for x0 in (-0.2, 1.8):
        end = gradient_descent(u_prime, np.array(x0), 0.02, 200)[-1]
        print(f"u(x) = x^4 - 3x^2 + x, lr=0.02 from x0={x0}: ends at x={end:.4f}, u={u(end):.4f}")
    print(
        f"  minima of u: x={minima[0]:.4f} (u={u(minima[0]):.4f}) "
        f"and x={minima[1]:.4f} (u={u(minima[1]):.4f})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.foundations.calculus",
        "Derivatives by hand, by finite differences and by autograd, then gradient descent.",
    )
    parser.add_argument(
        "--lr", type=positive_float, default=0.15, help="step size on the quadratic (default: 0.15)"
    )
    parser.add_argument("--steps", type=positive_int, default=50, help="gradient-descent steps (default: 50)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
