"""Adaptive optimizers from scratch: Adagrad, RMSprop, Adadelta and Adam, checked against torch.optim.

Run ``python -m snippets.optimization.adaptive_optimizers --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import numpy as np
import torch


def rosenbrock(p: np.ndarray) -> float:
    """f(x, y) = (1 - x)^2 + 100 (y - x^2)^2: a curved, narrow valley with its minimum at (1, 1)."""
    x, y = p
    return float((1 - x) ** 2 + 100 * (y - x**2) ** 2)


def rosenbrock_gradient(p: np.ndarray) -> np.ndarray:
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


START = np.array([-1.5, 2.0])
MINIMUM = np.array([1.0, 1.0])
# --8<-- [end:setup]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402


# --8<-- [start:adagrad]
class Adagrad:
    """Duchi et al. (2011), with torch's options: the step for coordinate i is
    lr_t * g_i / (sqrt(sum of past g_i^2) + eps), lr_t = lr / (1 + (t - 1) lr_decay)."""

    def __init__(
        self,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        self.lr, self.lr_decay, self.eps = lr, lr_decay, eps
        self.initial = initial_accumulator_value
        self.sum_sq: np.ndarray | None = None
        self.t = 0

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        if self.sum_sq is None:
            self.sum_sq = np.full_like(theta, self.initial, dtype=float)
        self.t += 1
        self.sum_sq = self.sum_sq + grad**2  # only ever grows ...
        lr_t = self.lr / (1 + (self.t - 1) * self.lr_decay)
        return theta - lr_t * grad / (np.sqrt(self.sum_sq) + self.eps)  # ... so steps only shrink


# --8<-- [end:adagrad]


# --8<-- [start:rmsprop]
class RMSprop:
    """Tieleman & Hinton (2012): divide by a running root mean square of recent gradients.
    torch's default decay is alpha = 0.99 (the lecture used 0.9); eps is added outside the root."""

    def __init__(self, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8) -> None:
        self.lr, self.alpha, self.eps = lr, alpha, eps
        self.mean_sq: np.ndarray | None = None

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        if self.mean_sq is None:
            self.mean_sq = np.zeros_like(theta, dtype=float)
        self.mean_sq = self.alpha * self.mean_sq + (1 - self.alpha) * grad**2  # forgets old gradients
        return theta - self.lr * grad / (np.sqrt(self.mean_sq) + self.eps)


# --8<-- [end:rmsprop]


# --8<-- [start:adadelta]
class Adadelta:
    """Zeiler (2012): a running RMS of gradients below, a running RMS of past updates above,
    so no global learning rate is needed. torch multiplies the update by lr (default 1.0)."""

    def __init__(self, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6) -> None:
        self.lr, self.rho, self.eps = lr, rho, eps
        self.mean_sq: np.ndarray | None = None
        self.mean_update_sq: np.ndarray | None = None

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        if self.mean_sq is None or self.mean_update_sq is None:
            self.mean_sq = np.zeros_like(theta, dtype=float)
            self.mean_update_sq = np.zeros_like(theta, dtype=float)
        self.mean_sq = self.rho * self.mean_sq + (1 - self.rho) * grad**2
        update = np.sqrt(self.mean_update_sq + self.eps) / np.sqrt(self.mean_sq + self.eps) * grad
        self.mean_update_sq = self.rho * self.mean_update_sq + (1 - self.rho) * update**2
        return theta - self.lr * update


# --8<-- [end:adadelta]


# --8<-- [start:adam]
class Adam:
    """Kingma & Ba (2015): momentum (first moment) divided by an RMSprop-style root of the
    second moment, both corrected for their start at zero."""

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        bias_correction: bool = True,
    ) -> None:
        self.lr, self.eps, self.bias_correction = lr, eps, bias_correction
        self.beta1, self.beta2 = betas
        self.m: np.ndarray | None = None
        self.v: np.ndarray | None = None
        self.t = 0

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        if self.m is None or self.v is None:
            self.m = np.zeros_like(theta, dtype=float)
            self.v = np.zeros_like(theta, dtype=float)
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grad
        self.v = self.beta2 * self.v + (1 - self.beta2) * grad**2
        m_hat, v_hat = self.m, self.v
        if self.bias_correction:
            m_hat = self.m / (1 - self.beta1**self.t)
            v_hat = self.v / (1 - self.beta2**self.t)
        return theta - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


# --8<-- [end:adam]


# --8<-- [start:run]
def run_scratch(optimizer, steps: int, start: np.ndarray = START, scale: float = 1.0) -> np.ndarray:
    """Minimise scale * rosenbrock from ``start``; return every point visited."""
    theta, path = start.astype(float).copy(), [start.astype(float).copy()]
    for _ in range(steps):
        theta = optimizer.step(theta, scale * rosenbrock_gradient(theta))
        path.append(theta.copy())
    return np.array(path)


# --8<-- [end:run]


# --8<-- [start:torch]
def run_torch(make_optimizer, steps: int, start: np.ndarray = START) -> np.ndarray:
    """The same with a torch.optim optimizer built by ``make_optimizer(params)``."""
    param = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = make_optimizer([param])
    path = [param.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        x, y = param[0], param[1]
        loss = (1 - x) ** 2 + 100 * (y - x**2) ** 2
        loss.backward()
        optimizer.step()
        path.append(param.detach().clone())
    return torch.stack(path).numpy()


def matching_pairs() -> dict[str, tuple]:
    """Each from-scratch optimizer next to torch.optim with the same hyper-parameters."""
    return {
        "Adagrad": (
            lambda: Adagrad(lr=0.5, lr_decay=0.01, initial_accumulator_value=0.1),
            lambda p: torch.optim.Adagrad(p, lr=0.5, lr_decay=0.01, initial_accumulator_value=0.1),
        ),
        "RMSprop": (
            lambda: RMSprop(lr=0.01, alpha=0.9, eps=1e-6),
            lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-6),
        ),
        "Adadelta": (
            lambda: Adadelta(lr=1.0, rho=0.95, eps=1e-6),
            lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.95, eps=1e-6),
        ),
        "Adam": (
            lambda: Adam(lr=0.05, betas=(0.9, 0.999), eps=1e-8),
            lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.9, 0.999), eps=1e-8),
        ),
    }


# --8<-- [end:torch]


# --8<-- [start:race]
# The comparison on the Rosenbrock function: lr for Adagrad, RMSprop and Adam picked from
# 0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.3, 1; Adadelta with torch's defaults.
RACE = {
    "GD": None,  # plain gradient descent with lr = 0.001
    "Adagrad": lambda: Adagrad(lr=1.0),
    "RMSprop": lambda: RMSprop(lr=0.003, alpha=0.9),
    "Adadelta": lambda: Adadelta(lr=1.0, rho=0.9),
    "Adam": lambda: Adam(lr=0.05),
}
# --8<-- [end:race]


def sgd_path(lr: float, steps: int, start: np.ndarray = START) -> np.ndarray:
    """Plain gradient descent on the Rosenbrock function, for reference."""
    theta, path = start.astype(float).copy(), [start.astype(float).copy()]
    for _ in range(steps):
        theta = theta - lr * rosenbrock_gradient(theta)
        path.append(theta.copy())
    return np.array(path)


def race(steps: int, start: np.ndarray = START) -> dict[str, np.ndarray]:
    """Paths of plain GD and the four adaptive optimizers on the Rosenbrock function."""
    return {
        name: sgd_path(1e-3, steps, start) if make is None else run_scratch(make(), steps, start)
        for name, make in RACE.items()
    }


# --8<-- [start:effective-step]
def updates(optimizer, grads: np.ndarray) -> np.ndarray:
    """Feed a given sequence of gradients (one row per step) and return every update."""
    theta, steps = np.zeros(grads.shape[1]), []
    for g in grads:
        new = optimizer.step(theta, g)
        steps.append(new - theta)
        theta = new
    return np.array(steps)


def effective_steps(optimizer, grads: np.ndarray) -> np.ndarray:
    """|update| / |gradient| at each step for a one-coordinate gradient sequence."""
    return np.abs(updates(optimizer, grads[:, None])[:, 0]) / np.abs(grads)


# --8<-- [end:effective-step]


# --8<-- [start:solution-adamw]
class AdamW(Adam):
    """Loshchilov & Hutter (2019): shrink the weights directly, outside the adaptive scaling."""

    def __init__(self, lr: float = 1e-3, weight_decay: float = 1e-2, **kwargs) -> None:
        super().__init__(lr=lr, **kwargs)
        self.weight_decay = weight_decay

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        theta = theta * (1 - self.lr * self.weight_decay)  # decoupled decay, as torch applies it
        return super().step(theta, grad)


# --8<-- [end:solution-adamw]


# --8<-- [start:solution-amsgrad]
class AMSGrad(Adam):
    """Reddi et al. (2018): divide by the largest second moment seen so far, so the
    per-coordinate step can never grow. Written the way torch's ``Adam(amsgrad=True)`` does it."""

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        if self.m is None or self.v is None:
            self.m, self.v = np.zeros_like(theta, dtype=float), np.zeros_like(theta, dtype=float)
            self.v_max = np.zeros_like(theta, dtype=float)
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grad
        self.v = self.beta2 * self.v + (1 - self.beta2) * grad**2
        self.v_max = np.maximum(self.v_max, self.v)
        m_hat = self.m / (1 - self.beta1**self.t)
        v_hat = self.v_max / (1 - self.beta2**self.t)
        return theta - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


# --8<-- [end:solution-amsgrad]


def plot_race():
    """Left: the paths on the Rosenbrock function. Right: distance to the minimum."""
    import matplotlib.pyplot as plt

    paths = race(3000)
    colors = {
        "GD": "#666666",
        "Adagrad": "#7570b3",
        "RMSprop": "#d95f02",
        "Adadelta": "#e7298a",
        "Adam": "#1b9e77",
    }
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    x, y = np.meshgrid(np.linspace(-2, 2, 200), np.linspace(-1, 3, 200))
    values = (1 - x) ** 2 + 100 * (y - x**2) ** 2
    left.contour(x, y, np.log10(values + 1e-3), levels=12, cmap="Greys", linewidths=0.6)
    for name, path in paths.items():
        shown = np.vstack([path[:50], path[50::10]])  # every step at first, then every tenth
        left.plot(shown[:, 0], shown[:, 1], "-", color=colors[name], lw=1.2, label=name)
        steps = np.arange(0, len(path), 10)
        right.semilogy(steps, np.linalg.norm(path[steps] - MINIMUM, axis=1), color=colors[name], label=name)
    left.plot(*START, "ko", ms=5)
    left.plot(*MINIMUM, "k*", ms=12)
    left.set(xlabel="$x$", ylabel="$y$", xlim=(-2, 2), ylim=(-1, 3), title="Rosenbrock, 3000 steps")
    left.legend(fontsize=8, loc="lower right")
    right.set(xlabel="step", ylabel=r"$\|\theta - (1, 1)\|$", title="distance to the minimum", ylim=(1e-6, 5))
    fig.tight_layout()
    return fig


FIGURES = {"adaptive-rosenbrock": plot_race}


def report(args: argparse.Namespace) -> None:
    """Check every optimizer against torch.optim, then race them on the Rosenbrock function."""
    rng = np.random.default_rng(args.seed)
    start = START + rng.normal(scale=0.1, size=2)
    print(f"seed={args.seed} steps={args.steps} start for the torch check=({start[0]:.3f}, {start[1]:.3f})")
    for name, (ours, theirs) in matching_pairs().items():
        gap = np.abs(run_scratch(ours(), 200, start) - run_torch(theirs, 200, start)).max()
        print(f"  {name:<8} vs torch.optim.{name:<8} max difference over 200 steps: {gap:.1e}")
    print(f"Rosenbrock from ({START[0]}, {START[1]}): f and distance to (1, 1) after {args.steps} steps")
    for name, path in race(args.steps).items():
        distance = np.linalg.norm(path[-1] - MINIMUM)
        print(f"  {name:<8} f = {rosenbrock(path[-1]):9.2e}   distance = {distance:.2e}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.optimization.adaptive_optimizers",
        "Adagrad, RMSprop, Adadelta and Adam from scratch, checked against torch.optim.",
    )
    parser.add_argument("--steps", type=positive_int, default=3000, help="Rosenbrock steps (default: 3000)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
