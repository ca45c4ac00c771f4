"""Gradient descent: batch, stochastic and mini-batch, on the same linear regression.

Run ``python -m snippets.optimization.gradient_descent --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_data(n_samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Noisy points on the line y = 2x - 1. Returns X (a column of x, a column of ones) and y."""
    x = rng.normal(loc=1.5, scale=1.0, size=n_samples)
    y = 2.0 * x - 1.0 + rng.normal(scale=0.5, size=n_samples)
    return np.column_stack([x, np.ones(n_samples)]), y


def loss(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """Half the mean squared error of the line theta = (slope, intercept)."""
    residual = X @ theta - y
    return 0.5 * float(np.mean(residual**2))


def gradient(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The gradient of ``loss`` with respect to theta: X^T (X theta - y) / n."""
    return X.T @ (X @ theta - y) / len(y)


START = np.array([-2.0, 3.0])  # every run starts here, far from the answer
# --8<-- [end:setup]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402


# --8<-- [start:scratch]
def gradient_descent(
    X: np.ndarray,
    y: np.ndarray,
    learning_rate: float,
    epochs: int,
    batch_size: int,
    rng: np.random.Generator,
    theta: np.ndarray = START,
) -> tuple[np.ndarray, list[float]]:
    """Mini-batch gradient descent; batch_size=len(y) is batch GD, batch_size=1 is SGD.

    Returns every parameter vector visited (one row per update) and the full-data loss
    after each epoch (the first entry is the loss at the start).
    """
    theta = theta.astype(float).copy()
    path, losses = [theta.copy()], [loss(theta, X, y)]
    for _ in range(epochs):
        order = rng.permutation(len(y))  # reshuffle every pass over the data
        for start in range(0, len(y), batch_size):
            batch = order[start : start + batch_size]
            theta = theta - learning_rate * gradient(theta, X[batch], y[batch])
            path.append(theta.copy())
        losses.append(loss(theta, X, y))
    return np.array(path), losses


# --8<-- [end:scratch]


# --8<-- [start:torch]
def train_torch(
    X: np.ndarray, y: np.ndarray, learning_rate: float, epochs: int, batch_size: int
) -> tuple[np.ndarray, list[float]]:
    """The same descent with PyTorch: a DataLoader makes the batches, torch.optim.SGD steps."""
    device = pick_device()
    inputs = torch.tensor(X[:, :1], dtype=torch.float64, device=device)
    targets = torch.tensor(y, dtype=torch.float64, device=device).unsqueeze(1)
    model = nn.Linear(1, 1, dtype=torch.float64).to(device)
    with torch.no_grad():  # start from the same point as the NumPy version
        model.weight.fill_(START[0])
        model.bias.fill_(START[1])
    loader = DataLoader(TensorDataset(inputs, targets), batch_size=batch_size, shuffle=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    losses = []
    for _ in range(epochs):
        for batch_inputs, batch_targets in loader:
            optimizer.zero_grad()
            batch_loss = 0.5 * nn.functional.mse_loss(model(batch_inputs), batch_targets)
            batch_loss.backward()
            optimizer.step()
        with torch.no_grad():
            losses.append(0.5 * nn.functional.mse_loss(model(inputs), targets).item())
    theta = np.array([model.weight.item(), model.bias.item()])
    return theta, losses


# --8<-- [end:torch]


# --8<-- [start:curvature]
def curvature(X: np.ndarray) -> tuple[float, float]:
    """Smallest and largest eigenvalue of the Hessian X^T X / n of the loss."""
    eigenvalues = np.linalg.eigvalsh(X.T @ X / len(X))
    return float(eigenvalues[0]), float(eigenvalues[-1])


def least_squares(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The exact minimiser, for reference."""
    return np.linalg.lstsq(X, y, rcond=None)[0]


# --8<-- [end:curvature]


def full_batch_losses(X: np.ndarray, y: np.ndarray, learning_rate: float, steps: int) -> list[float]:
    """Loss after each of ``steps`` full-batch updates (the first entry is the start)."""
    _, losses = gradient_descent(X, y, learning_rate, steps, len(y), np.random.default_rng(0))
    return losses


# --8<-- [start:noise-floor]
def noise_floor(
    X: np.ndarray,
    y: np.ndarray,
    learning_rate: float,
    epochs: int,
    rng: np.random.Generator,
    batch_size: int = 1,
) -> float:
    """Excess loss of constant-step (mini-batch) SGD, averaged over the last half of the run."""
    _, losses = gradient_descent(X, y, learning_rate, epochs, batch_size, rng)
    best = loss(least_squares(X, y), X, y)
    return float(np.mean(losses[epochs // 2 :]) - best)


# --8<-- [end:noise-floor]


# --8<-- [start:saddle]
def saddle_loss(p: np.ndarray) -> float:
    """f(u, v) = u^2/2 + v^4/4 - v^2/2: a saddle at (0, 0), minima f = -1/4 at (0, +-1)."""
    u, v = p
    return 0.5 * u**2 + 0.25 * v**4 - 0.5 * v**2


def saddle_gradient(p: np.ndarray) -> np.ndarray:
    u, v = p
    return np.array([u, v**3 - v])


def descend_from_saddle_line(
    steps: int, learning_rate: float, noise: float, rng: np.random.Generator
) -> float:
    """Start on the line v = 0 and descend with (noise > 0) or without gradient noise."""
    p = np.array([1.0, 0.0])
    for _ in range(steps):
        p = p - learning_rate * (saddle_gradient(p) + noise * rng.normal(size=2))
    return saddle_loss(p)


# --8<-- [end:saddle]


# --8<-- [start:solution-escape]
def steps_to_escape(offset: float, learning_rate: float = 0.1, max_steps: int = 10_000) -> int:
    """Plain GD from (1, offset): steps until f < -0.2, i.e. until it has left the saddle."""
    p = np.array([1.0, offset])
    for step in range(max_steps):
        if saddle_loss(p) < -0.2:
            return step
        p = p - learning_rate * saddle_gradient(p)
    return max_steps


# --8<-- [end:solution-escape]


# --8<-- [start:solution-best-step]
def best_constant_step(X: np.ndarray) -> float:
    """2 / (lambda_min + lambda_max): it balances the slowest and the most oscillating direction."""
    smallest, largest = curvature(X)
    return 2.0 / (smallest + largest)


def steps_to_tolerance(X: np.ndarray, y: np.ndarray, learning_rate: float, tolerance: float = 1e-8) -> int:
    """Full-batch steps until the excess loss falls below ``tolerance`` (at most 10,000)."""
    best = loss(least_squares(X, y), X, y)
    theta = START.astype(float).copy()
    for step in range(10_000):
        if loss(theta, X, y) - best < tolerance:
            return step
        theta = theta - learning_rate * gradient(theta, X, y)
    return 10_000


# --8<-- [end:solution-best-step]


def plot_paths():
    """Left: the three variants on the loss surface. Right: excess loss per epoch."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    X, y = make_data(256, rng)
    _, largest = curvature(X)
    best_theta = least_squares(X, y)
    best = loss(best_theta, X, y)
    runs = {
        "batch (B = 256)": (len(y), 1.0 / largest, "#1b6ca8"),
        "mini-batch (B = 32)": (32, 1.0 / largest, "#d95f02"),
        "SGD (B = 1)": (1, 0.05, "#7570b3"),
    }
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    w, b = np.meshgrid(np.linspace(-2.5, 3.5, 200), np.linspace(-3, 3.5, 200))
    grid_theta = np.stack([w.ravel(), b.ravel()])
    surface = 0.5 * np.mean((X @ grid_theta - y[:, None]) ** 2, axis=0).reshape(w.shape)
    left.contour(w, b, np.log(surface - best + 1e-3), levels=18, cmap="Greys", linewidths=0.7)
    for label, (batch_size, lr, color) in runs.items():
        path, losses = gradient_descent(X, y, lr, 30, batch_size, np.random.default_rng(1))
        shown = path[: 1 + 2 * len(y)]  # at most two epochs of updates
        left.plot(shown[:, 0], shown[:, 1], "-", color=color, lw=1.2, label=label)
        right.semilogy(np.array(losses) - best, color=color, label=label)
    left.plot(*best_theta, "k*", ms=12)
    left.plot(*START, "ko", ms=5)
    left.set(xlabel="slope $w$", ylabel="intercept $b$", title="first 2 epochs")
    left.legend(fontsize=8, loc="upper right")
    right.set(xlabel="epoch", ylabel=r"$L(\theta) - L(\theta^*)$", title="excess loss")
    fig.tight_layout()
    return fig


def plot_learning_rates():
    """Full-batch descent with four step sizes, relative to the largest curvature."""
    import matplotlib.pyplot as plt

    X, y = make_data(256, np.random.default_rng(0))
    _, largest = curvature(X)
    best_theta = least_squares(X, y)
    best = loss(best_theta, X, y)
    factors = {0.1: "#7570b3", 1.0: "#1b9e77", 1.9: "#d95f02", 2.1: "#e7298a"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    w, b = np.meshgrid(np.linspace(-3, 4, 200), np.linspace(-4, 5, 200))
    grid_theta = np.stack([w.ravel(), b.ravel()])
    surface = 0.5 * np.mean((X @ grid_theta - y[:, None]) ** 2, axis=0).reshape(w.shape)
    left.contour(w, b, np.log(surface - best + 1e-3), levels=18, cmap="Greys", linewidths=0.7)
    for factor, color in factors.items():
        path, losses = gradient_descent(X, y, factor / largest, 60, len(y), np.random.default_rng(0))
        label = rf"$\eta = {factor}/\lambda_{{max}}$"
        left.plot(path[:11, 0], path[:11, 1], ".-", color=color, lw=1, ms=4, label=label)
        right.semilogy(np.array(losses) - best, color=color, label=label)
    left.plot(*best_theta, "k*", ms=12)
    left.set(xlabel="slope $w$", ylabel="intercept $b$", title="first 10 steps", xlim=(-3, 4), ylim=(-4, 5))
    left.legend(fontsize=8, loc="upper right")
    right.set(xlabel="step", ylabel=r"$L(\theta) - L(\theta^*)$", title="excess loss")
    fig.tight_layout()
    return fig


FIGURES = {
    "gradient-descent-paths": plot_paths,
    "gradient-descent-learning-rates": plot_learning_rates,
}


def report(args: argparse.Namespace) -> None:
    """Compare the three variants, sweep the step size, and escape a saddle."""
    rng = np.random.default_rng(args.seed)
    X, y = make_data(args.samples, rng)
    smallest, largest = curvature(X)
    best = loss(least_squares(X, y), X, y)
    print(f"seed={args.seed} samples={args.samples} epochs={args.epochs}")
    print(f"Hessian eigenvalues {smallest:.3f} and {largest:.3f}; stable steps need lr < 2/{largest:.3f}")
    print(f"least squares: slope, intercept = {np.round(least_squares(X, y), 3)}, loss {best:.4f}")
    mid = min(5, args.epochs)
    print(f"excess loss after epoch        1 {mid:9d}     final   updates")
    for name, batch_size, lr in [
        ("batch", args.samples, 1.0 / largest),
        ("mini-batch 32", 32, 1.0 / largest),
        ("SGD", 1, 0.05),
    ]:
        path, losses = gradient_descent(X, y, lr, args.epochs, batch_size, np.random.default_rng(args.seed))
        excess = np.array(losses) - best
        columns = f"{excess[1]:9.2e} {excess[mid]:9.2e} {excess[-1]:9.2e} {len(path) - 1:9d}"
        print(f"  {name:<13} lr={lr:.3f}  {columns}")
    print("full-batch loss after 50 steps, lr = factor / largest eigenvalue:")
    for factor in (0.1, 1.0, 1.9, 2.1):
        final = full_batch_losses(X, y, factor / largest, 50)[-1]
        print(f"  factor {factor:4.2f}: loss {final:.3e}")
    noisy = np.random.default_rng(args.seed)
    print(
        f"saddle: plain GD ends at f = {descend_from_saddle_line(300, 0.1, 0.0, noisy):.4f}, "
        f"noisy GD at f = {descend_from_saddle_line(300, 0.1, 0.1, noisy):.4f} (minimum -0.25)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.optimization.gradient_descent",
        "Batch, stochastic and mini-batch gradient descent on a small linear regression.",
    )
    parser.add_argument("--samples", type=positive_int, default=256, help="data points (default: 256)")
    parser.add_argument("--epochs", type=positive_int, default=30, help="passes over the data (default: 30)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
