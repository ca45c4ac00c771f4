"""L1 and L2 penalties: soft-thresholding (ISTA) against scikit-learn, and weight decay in PyTorch.

Run ``python -m snippets.regularization.weight_penalties --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import numpy as np
import torch
from sklearn.linear_model import Lasso, Ridge


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_sparse_regression(
    n_samples: int, n_features: int, n_informative: int, rng: np.random.Generator, noise: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y = X w_true + noise, where only ``n_informative`` entries of w_true are non-zero."""
    X = rng.normal(size=(n_samples, n_features))
    w_true = np.zeros(n_features)
    chosen = rng.choice(n_features, size=n_informative, replace=False)
    w_true[chosen] = rng.choice([-1.0, 1.0], size=n_informative) * rng.uniform(1.0, 3.0, n_informative)
    y = X @ w_true + noise * rng.normal(size=n_samples)
    return X, y, w_true


# --8<-- [end:setup]

from snippets.common import make_parser, positive_float, positive_int, run_cli  # noqa: E402


# --8<-- [start:prox]
def soft_threshold(w: np.ndarray, threshold: float) -> np.ndarray:
    """Proximal operator of threshold * ||w||_1: shrink towards 0 and clip at exactly 0."""
    return np.sign(w) * np.maximum(np.abs(w) - threshold, 0.0)


def l2_shrink(w: np.ndarray, threshold: float) -> np.ndarray:
    """Proximal operator of (threshold / 2) * ||w||_2^2: scale down, never reach 0."""
    return w / (1.0 + threshold)


def proximal_gradient(
    X: np.ndarray, y: np.ndarray, lam: float, penalty: str = "l1", steps: int = 500
) -> np.ndarray:
    """Minimise 1/(2n) ||X w - y||^2 + penalty(w) by a gradient step then a proximal step.

    With penalty="l1" this is ISTA for lam * ||w||_1; with "l2" the penalty is lam/2 * ||w||^2.
    """
    n = len(y)
    lipschitz = np.linalg.eigvalsh(X.T @ X / n).max()  # curvature of the data term
    eta = 1.0 / lipschitz  # a step size that always decreases the loss
    prox = soft_threshold if penalty == "l1" else l2_shrink
    w = np.zeros(X.shape[1])
    for _ in range(steps):
        gradient = X.T @ (X @ w - y) / n
        w = prox(w - eta * gradient, eta * lam)
    return w


# --8<-- [end:prox]


# --8<-- [start:sklearn]
def sklearn_lasso(X: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Lasso minimises 1/(2n) ||y - X w||^2 + alpha ||w||_1: the same objective with alpha = lam."""
    model = Lasso(alpha=lam, fit_intercept=False, tol=1e-10, max_iter=100_000)
    return model.fit(X, y).coef_


def sklearn_ridge(X: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Ridge minimises ||y - X w||^2 + alpha ||w||^2 (no 1/n, no 1/2): alpha = n * lam matches."""
    model = Ridge(alpha=len(y) * lam, fit_intercept=False)
    return model.fit(X, y).coef_


def share_of_exact_zeros(w: np.ndarray) -> float:
    return float(np.mean(w == 0.0))


# --8<-- [end:sklearn]


# --8<-- [start:torch]
def train_linear(
    X: np.ndarray,
    y: np.ndarray,
    optimizer_name: str,
    weight_decay: float = 0.0,
    l2_in_loss: float = 0.0,
    lr: float = 0.05,
    steps: int = 100,
    seed: int = 0,
) -> torch.Tensor:
    """Train a linear model on the mean squared error; return its final weights.

    ``weight_decay`` goes to the optimizer; ``l2_in_loss`` adds l2_in_loss/2 * ||w||^2 to the loss.
    """
    device = pick_device()
    inputs = torch.tensor(X, dtype=torch.float64, device=device)
    targets = torch.tensor(y, dtype=torch.float64, device=device)
    generator = torch.Generator().manual_seed(seed)  # the same start for every optimizer
    w = torch.randn(X.shape[1], generator=generator, dtype=torch.float64).to(device).requires_grad_()
    optimizers = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW}
    optimizer = optimizers[optimizer_name]([w], lr=lr, weight_decay=weight_decay)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.mean((inputs @ w - targets) ** 2) + l2_in_loss / 2 * torch.sum(w**2)
        loss.backward()
        optimizer.step()
    return w.detach().cpu()


# --8<-- [end:torch]


def compare_weight_decay(X: np.ndarray, y: np.ndarray, lam: float, seed: int = 0) -> dict[str, float]:
    """Largest weight difference between 'L2 in the loss' and 'weight_decay' for SGD, Adam, AdamW."""
    sgd_decay = train_linear(X, y, "SGD", weight_decay=lam, seed=seed)
    sgd_loss = train_linear(X, y, "SGD", l2_in_loss=lam, seed=seed)
    adam_decay = train_linear(X, y, "Adam", weight_decay=lam, seed=seed)
    adam_loss = train_linear(X, y, "Adam", l2_in_loss=lam, seed=seed)
    adamw = train_linear(X, y, "AdamW", weight_decay=lam, seed=seed)
    return {
        "SGD(weight_decay) vs SGD + L2 loss": float((sgd_decay - sgd_loss).abs().max()),
        "Adam(weight_decay) vs Adam + L2 loss": float((adam_decay - adam_loss).abs().max()),
        "AdamW(weight_decay) vs Adam + L2 loss": float((adamw - adam_loss).abs().max()),
    }


# --8<-- [start:solution-lambda-max]
def lambda_max(X: np.ndarray, y: np.ndarray) -> float:
    """The smallest lam for which the lasso solution is all zeros: max_j |x_j . y| / n."""
    return float(np.abs(X.T @ y).max() / len(y))


# --8<-- [end:solution-lambda-max]


def _figure_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X, y, w_true = make_sparse_regression(100, 10, 3, rng)
    return X, y, w_true


def plot_paths():
    """Coefficient paths: lasso weights hit exactly 0 one by one, ridge weights only shrink."""
    import matplotlib.pyplot as plt

    X, y, w_true = _figure_data()
    lams = np.logspace(-3, 1, 40)
    lasso = np.array([proximal_gradient(X, y, lam, "l1", steps=300) for lam in lams])
    ridge = np.array([proximal_gradient(X, y, lam, "l2", steps=300) for lam in lams])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, paths, title in [(axes[0], lasso, "L1 (lasso)"), (axes[1], ridge, "L2 (ridge)")]:
        for j in range(X.shape[1]):
            style = "-" if w_true[j] != 0 else "--"
            ax.plot(lams, paths[:, j], style, linewidth=1.4)
        zeros = (paths == 0).sum(axis=1)
        ax.set_xscale("log")
        ax.axhline(0.0, color="black", linewidth=0.6)
        ax.set_xlabel(r"$\lambda$")
        ax.set_title(f"{title}: exact zeros at largest $\\lambda$ = {zeros[-1]}/{X.shape[1]}")
    axes[0].set_ylabel("$w_j$")
    fig.tight_layout()
    return fig


def plot_geometry():
    """Constraint regions |w|_1 <= t (diamond) and ||w||_2 <= t (circle) with loss contours."""
    import matplotlib.pyplot as plt

    center = np.array([2.0, 0.3])
    grid = np.linspace(-2.2, 2.6, 481)
    w1, w2 = np.meshgrid(grid, grid)
    quad = (w1 - center[0]) ** 2 + 3 * (w2 - center[1]) ** 2  # an elongated least-squares bowl
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.8))
    for ax, norm, title in [(axes[0], "l1", r"$\|w\|_1 \leq 1$"), (axes[1], "l2", r"$\|w\|_2 \leq 1$")]:
        inside = np.abs(w1) + np.abs(w2) <= 1 if norm == "l1" else w1**2 + w2**2 <= 1
        best = np.unravel_index(np.argmin(np.where(inside, quad, np.inf)), quad.shape)
        level = quad[best]
        ax.contourf(w1, w2, inside, levels=[0.5, 1.5], colors=["#c6dbef"])
        ax.contour(w1, w2, quad, levels=level * np.array([1, 2.5, 5, 9]), colors="#d95f02", linewidths=1)
        ax.plot(*center, "x", color="#d95f02", markersize=8)
        ax.plot(w1[best], w2[best], "o", color="#1b6ca8", markersize=8)
        ax.annotate(
            f"({w1[best]:.1f}, {w2[best]:.1f})",
            (w1[best], w2[best]),
            (8, -16),
            textcoords="offset points",
            fontsize=9,
        )
        ax.axhline(0, color="black", linewidth=0.5)
        ax.axvline(0, color="black", linewidth=0.5)
        ax.set_aspect("equal")
        ax.set_title(title)
        ax.set_xlabel("$w_1$")
    axes[0].set_ylabel("$w_2$")
    fig.tight_layout()
    return fig


FIGURES = {"weight-penalties-paths": plot_paths, "weight-penalties-geometry": plot_geometry}


def report(args: argparse.Namespace) -> None:
    """Fit L1 and L2 on sparse data, compare with scikit-learn and the PyTorch optimizers."""
    if args.informative > args.features:
        raise ValueError("--informative cannot exceed --features")
    rng = np.random.default_rng(args.seed)
    X, y, w_true = make_sparse_regression(args.samples, args.features, args.informative, rng)
    print(
        f"seed={args.seed} samples={args.samples} features={args.features} "
        f"informative={args.informative} lambda={args.lam}"
    )
    w_l1 = proximal_gradient(X, y, args.lam, "l1")
    w_l2 = proximal_gradient(X, y, args.lam, "l2")
    print(f"true weights: exact zeros {share_of_exact_zeros(w_true):.2f}")
    print(
        f"L1 (ISTA):       exact zeros {share_of_exact_zeros(w_l1):.2f}, "
        f"max |ours - sklearn Lasso| < 1e-8: {np.abs(w_l1 - sklearn_lasso(X, y, args.lam)).max() < 1e-8}"
    )
    print(
        f"L2 (prox. grad): exact zeros {share_of_exact_zeros(w_l2):.2f}, "
        f"max |ours - sklearn Ridge| < 1e-8: {np.abs(w_l2 - sklearn_ridge(X, y, args.lam)).max() < 1e-8}, "
        f"smallest |w| = {np.abs(w_l2).min():.1e}"
    )
    found = set(np.flatnonzero(w_l1)) == set(np.flatnonzero(w_true))
    print(f"L1 keeps exactly the informative features: {found}")
    for name, gap in compare_weight_decay(X, y, args.decay, seed=args.seed).items():
        print(f"{name:<38} max |difference| = {gap if gap > 1e-8 else 0.0:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.regularization.weight_penalties",
        "L1 vs L2 on sparse regression data, and weight decay vs an L2 loss in PyTorch.",
    )
    parser.add_argument("--samples", type=positive_int, default=200, help="training samples (default: 200)")
    parser.add_argument("--features", type=positive_int, default=50, help="features (default: 50)")
    parser.add_argument(
        "--informative",
        type=positive_int,
        default=5,
        help="features with a non-zero true weight (default: 5)",
    )
    parser.add_argument("--lam", type=positive_float, default=0.1, help="penalty strength (default: 0.1)")
    parser.add_argument(
        "--decay",
        type=positive_float,
        default=0.1,
        help="weight decay for the PyTorch comparison (default: 0.1)",
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
