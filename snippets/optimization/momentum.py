"""Momentum (Polyak's heavy ball) and Nesterov's accelerated gradient, from scratch and in PyTorch.

Run ``python -m snippets.optimization.momentum --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
from collections.abc import Callable

import numpy as np
import torch

Gradient = Callable[[np.ndarray], np.ndarray]


def make_quadratic(condition: float) -> np.ndarray:
    """The Hessian A = diag(1, condition) of f(theta) = theta^T A theta / 2."""
    return np.diag([1.0, condition])


def random_start(rng: np.random.Generator) -> np.ndarray:
    """A start with a sizeable component along both axes, in a random quadrant."""
    return rng.uniform(0.5, 1.5, size=2) * rng.choice([-1.0, 1.0], size=2)


# --8<-- [end:setup]

from snippets.common import make_parser, number, positive_float, positive_int, run_cli  # noqa: E402


# --8<-- [start:scratch]
def heavy_ball(grad: Gradient, theta: np.ndarray, lr: float, momentum: float, steps: int) -> np.ndarray:
    """Polyak's momentum: v <- mu v - lr grad f(theta); theta <- theta + v. Returns every theta."""
    theta, velocity = theta.astype(float).copy(), np.zeros_like(theta, dtype=float)
    path = [theta.copy()]
    for _ in range(steps):
        velocity = momentum * velocity - lr * grad(theta)
        theta = theta + velocity
        path.append(theta.copy())
    return np.array(path)


def nesterov(
    grad: Gradient, theta: np.ndarray, lr: float, momentum: float, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Nesterov as Sutskever et al. (2013) write it: the gradient is taken at the look-ahead
    point theta + mu v. Returns every theta and every look-ahead point."""
    theta, velocity = theta.astype(float).copy(), np.zeros_like(theta, dtype=float)
    path, look_ahead = [theta.copy()], [theta.copy()]
    for _ in range(steps):
        velocity = momentum * velocity - lr * grad(theta + momentum * velocity)
        theta = theta + velocity
        path.append(theta.copy())
        look_ahead.append(theta + momentum * velocity)
    return np.array(path), np.array(look_ahead)


# --8<-- [end:scratch]


# --8<-- [start:torch]
def torch_sgd_path(
    A: np.ndarray, theta: np.ndarray, lr: float, momentum: float, steps: int, use_nesterov: bool = False
) -> np.ndarray:
    """torch.optim.SGD on f(theta) = theta^T A theta / 2. Returns the parameters after every step."""
    hessian = torch.tensor(A, dtype=torch.float64)
    param = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=lr, momentum=momentum, nesterov=use_nesterov)
    path = [param.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        loss = 0.5 * param @ hessian @ param
        loss.backward()
        optimizer.step()  # buf <- mu buf + g;  p <- p - lr buf   (Nesterov: p <- p - lr (g + mu buf))
        path.append(param.detach().clone())
    return torch.stack(path).numpy()


# --8<-- [end:torch]


# --8<-- [start:measure]
def steps_to_tolerance(A: np.ndarray, path: np.ndarray, tolerance: float = 1e-8) -> int:
    """First step at which f has fallen below ``tolerance`` times its starting value."""
    values = 0.5 * np.einsum("ti,ij,tj->t", path, A, path)
    below = np.flatnonzero(values < tolerance * values[0])
    return int(below[0]) if below.size else len(path)


def compare(A: np.ndarray, start: np.ndarray, momentum: float = 0.9, steps: int = 5000) -> dict[str, int]:
    """Steps to reach the tolerance with lr = 1 / L for GD, heavy ball and Nesterov."""
    lr = 1.0 / np.linalg.eigvalsh(A)[-1]

    def grad(theta: np.ndarray) -> np.ndarray:
        return A @ theta

    return {
        "gradient descent": steps_to_tolerance(A, heavy_ball(grad, start, lr, 0.0, steps)),
        "heavy ball": steps_to_tolerance(A, heavy_ball(grad, start, lr, momentum, steps)),
        "Nesterov": steps_to_tolerance(A, nesterov(grad, start, lr, momentum, steps)[0]),
    }


# --8<-- [end:measure]


def polyak_with_lr_change(
    A: np.ndarray, start: np.ndarray, lrs: list[float], momentum: float
) -> tuple[np.ndarray, np.ndarray]:
    """Run both momentum conventions while the learning rate changes (one lr per step).

    Returns the final theta of Polyak's form (lr inside the velocity) and of PyTorch's form
    (lr multiplies the buffer): equal for a constant lr, different once lr changes.
    """
    theta_polyak, velocity = start.astype(float).copy(), np.zeros(2)
    theta_torch, buffer = start.astype(float).copy(), np.zeros(2)
    for lr in lrs:
        velocity = momentum * velocity - lr * (A @ theta_polyak)
        theta_polyak = theta_polyak + velocity
        buffer = momentum * buffer + A @ theta_torch
        theta_torch = theta_torch - lr * buffer
    return theta_polyak, theta_torch


# --8<-- [start:double-well]
def double_well_gradient(x: np.ndarray) -> np.ndarray:
    """f(x) = (x^2 - 1)^2 + 0.3 x: a local minimum near x = 0.96, the global one near x = -1.04."""
    return 4 * x * (x**2 - 1) + 0.3


def where_it_ends(start: float, momentum: float, lr: float = 0.01, steps: int = 2000) -> float:
    """Run heavy ball (momentum 0 is plain GD) on the double well and return the final x."""
    return float(heavy_ball(double_well_gradient, np.array([start]), lr, momentum, steps)[-1, 0])


# --8<-- [end:double-well]


# --8<-- [start:solution-tuned]
def tuned_heavy_ball(smallest: float, largest: float) -> tuple[float, float]:
    """Polyak's best constants for a quadratic with curvatures in [smallest, largest]."""
    root_ratio = np.sqrt(largest / smallest)
    lr = 4.0 / (np.sqrt(largest) + np.sqrt(smallest)) ** 2
    momentum = ((root_ratio - 1) / (root_ratio + 1)) ** 2
    return lr, momentum


# --8<-- [end:solution-tuned]


def plot_momentum():
    """Left: paths on an ill-conditioned quadratic. Right: f against the step."""
    import matplotlib.pyplot as plt

    A = make_quadratic(100.0)
    start = np.array([-1.0, 0.12])

    def grad(theta: np.ndarray) -> np.ndarray:
        return A @ theta

    lr = 1.0 / 100.0
    runs = {
        "GD": (heavy_ball(grad, start, lr, 0.0, 1000), "#1b6ca8"),
        r"heavy ball $\mu = 0.9$": (heavy_ball(grad, start, lr, 0.9, 1000), "#d95f02"),
        r"Nesterov $\mu = 0.9$": (nesterov(grad, start, lr, 0.9, 1000)[0], "#1b9e77"),
    }
    tuned_lr, tuned_mu = tuned_heavy_ball(1.0, 100.0)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    u, v = np.meshgrid(np.linspace(-1.2, 0.6, 200), np.linspace(-0.2, 0.2, 200))
    left.contour(u, v, np.log(0.5 * (u**2 + 100 * v**2) + 1e-4), levels=15, cmap="Greys", linewidths=0.7)
    for label, (path, color) in runs.items():
        left.plot(path[:60, 0], path[:60, 1], ".-", color=color, ms=3, lw=1, label=label)
        right.semilogy(0.5 * np.einsum("ti,ij,tj->t", path, A, path), color=color, label=label)
    tuned = heavy_ball(grad, start, tuned_lr, tuned_mu, 1000)
    right.semilogy(0.5 * np.einsum("ti,ij,tj->t", tuned, A, tuned), "k--", lw=1, label="heavy ball, tuned")
    left.plot(0, 0, "k*", ms=12)
    left.set(
        xlabel=r"$\theta_1$ ($\lambda = 1$)", ylabel=r"$\theta_2$ ($\lambda = 100$)", title="first 60 steps"
    )
    left.legend(fontsize=8, loc="lower right")
    right.set(xlabel="step", ylabel=r"$f(\theta)$", title=r"$\kappa = 100$, $\eta = 1/L$", ylim=(1e-14, 10))
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {"momentum-paths": plot_momentum}


def shown(steps: int, limit: int = 5000) -> str:
    """A step count as printed: runs that never reached the tolerance show as >limit."""
    return f">{limit}" if steps > limit else str(steps)


def report(args: argparse.Namespace) -> None:
    """Measure steps to a tolerance for several starts, and check torch's convention."""
    A = make_quadratic(args.condition)
    rng = np.random.default_rng(args.seed)
    print(f"seed={args.seed} condition={args.condition:g} momentum={args.momentum} tolerance=1e-8 * f(start)")
    print("steps to tolerance      GD  heavy ball  Nesterov")
    for _ in range(args.starts):
        start = random_start(rng)
        counts = {name: shown(n) for name, n in compare(A, start, args.momentum).items()}
        print(
            f"  start ({start[0]:+.2f}, {start[1]:+.2f}) {counts['gradient descent']:>6}"
            f" {counts['heavy ball']:>11} {counts['Nesterov']:>9}"
        )
    lr, mu = tuned_heavy_ball(1.0, args.condition)
    tuned = heavy_ball(lambda theta: A @ theta, start, lr, mu, 5000)
    print(f"tuned heavy ball (lr={lr:.4f}, momentum={mu:.3f}): {shown(steps_to_tolerance(A, tuned))} steps")
    lr = 1.0 / args.condition
    scratch = heavy_ball(lambda theta: A @ theta, start, lr, args.momentum, 50)
    library = torch_sgd_path(A, start, lr, args.momentum, 50)
    _, look_ahead = nesterov(lambda theta: A @ theta, start, lr, args.momentum, 50)
    library_nesterov = torch_sgd_path(A, start, lr, args.momentum, 50, use_nesterov=True)
    print(f"max |heavy ball - torch SGD(momentum)| over 50 steps: {np.abs(scratch - library).max():.1e}")
    print(
        f"max |Nesterov look-ahead - torch SGD(nesterov=True)| over 50 steps: "
        f"{np.abs(look_ahead - library_nesterov).max():.1e}"
    )
    ends = [where_it_ends(x0, 0.9) for x0 in np.linspace(1.5, 2.5, 6)]
    print("double well, heavy ball 0.9 from x0 = 1.5 ... 2.5 ends at:", np.round(ends, 2))


def condition_number(text: str) -> float:
    """argparse type: a finite number >= 1."""
    value = positive_float(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {text}")
    return value


def momentum_value(text: str) -> float:
    """argparse type: a number in [0, 1)."""
    value = number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected 0 <= momentum < 1, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.optimization.momentum",
        "Gradient descent, heavy ball and Nesterov on an ill-conditioned quadratic.",
    )
    parser.add_argument(
        "--condition", type=condition_number, default=100.0, help="L / mu >= 1 (default: 100)"
    )
    parser.add_argument(
        "--momentum", type=momentum_value, default=0.9, help="momentum in [0, 1) (default: 0.9)"
    )
    parser.add_argument("--starts", type=positive_int, default=3, help="random starts (default: 3)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
