"""Why deep learning: a linear model against a small deep network on two interleaved spirals.

Run ``python -m snippets.roadmap.index --help`` for the options.
"""

from __future__ import annotations

import math
import argparse

# --8<-- [start:data]
from collections.abc import Iterator
from contextlib import contextmanager
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from torch import nn
from threadpoolctl import threadpool_limits


@contextmanager
def one_thread() -> Iterator[None]:
    """Run PyTorch and NumPy's BLAS on one CPU thread (small models run faster), then restore."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(threads)


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def two_spirals(n_points: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals (1.5 turns each): points of shape (n, 2), labels 0 or 1."""
    turns = 1.5
    t = np.sqrt(rng.uniform(0.0, 1.0, n_points)) * turns * 2 * np.pi  # angle travelled
    labels = rng.integers(0, 2, n_points)
    angle = t + np.pi * labels  # the second spiral is the first one turned by 180 degrees
    radius = t / (turns * 2 * np.pi)
    points = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    points += rng.normal(scale=noise, size=points.shape)
    return points.astype(np.float32), labels


# --8<-- [end:data]

from snippets.common import make_parser, positive_float, positive_int, run_cli  # noqa: E402


# --8<-- [start:sklearn]
def fit_linear(x: np.ndarray, y: np.ndarray) -> LogisticRegression:
    """Classical machine learning on the raw inputs: one straight boundary."""
    return LogisticRegression().fit(x, y)


def fit_sklearn_mlp(x: np.ndarray, y: np.ndarray, seed: int, epochs: int = 300) -> MLPClassifier:
    """The same data, two hidden layers of 64 ReLU units, trained with Adam."""
    model = MLPClassifier(
        hidden_layer_sizes=(64, 64), learning_rate_init=0.01, max_iter=epochs, random_state=seed
    )
    return model.fit(x, y)


# --8<-- [end:sklearn]


# --8<-- [start:torch]
def make_mlp(hidden: int = 64) -> nn.Sequential:
    """Input (2) -> hidden -> hidden -> 2 logits; each hidden layer is Linear + ReLU."""
    return nn.Sequential(
        nn.Linear(2, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, 2),
    )


def train_mlp(x: np.ndarray, y: np.ndarray, steps: int = 300, learning_rate: float = 0.01) -> nn.Sequential:
    """Full-batch Adam on the cross-entropy loss. Seed PyTorch first for a repeatable start."""
    device = pick_device()
    inputs = torch.as_tensor(x, device=device)
    targets = torch.as_tensor(y, device=device)
    model = make_mlp().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(inputs), targets)
        loss.backward()
        optimizer.step()
    return model


def hidden_features(model: nn.Sequential, x: np.ndarray, n_layers: int) -> np.ndarray:
    """What the input looks like after the first ``n_layers`` Linear + ReLU blocks (0: the raw input)."""
    device = next(model.parameters()).device
    with torch.no_grad():
        features = model[: 2 * n_layers](torch.as_tensor(x, device=device))
    return features.cpu().numpy()


def mlp_predict(model: nn.Sequential, x: np.ndarray) -> np.ndarray:
    device = next(model.parameters()).device
    with torch.no_grad():
        return model(torch.as_tensor(x, device=device)).argmax(dim=1).cpu().numpy()


# --8<-- [end:torch]


# --8<-- [start:probe]
def linear_probe_accuracy(
    train_features: np.ndarray, y_train: np.ndarray, test_features: np.ndarray, y_test: np.ndarray
) -> float:
    """Fit a linear classifier on some representation and return its test accuracy."""
    probe = LogisticRegression(max_iter=2000).fit(train_features, y_train)
    return float(probe.score(test_features, y_test))


# --8<-- [end:probe]


# --8<-- [start:solution-probe-layers]
def probe_every_layer(
    model: nn.Sequential, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
) -> list[float]:
    """Linear-probe accuracy on the raw input, after hidden layer 1 and after hidden layer 2."""
    return [
        linear_probe_accuracy(
            hidden_features(model, x_train, n), y_train, hidden_features(model, x_test, n), y_test
        )
        for n in range(3)
    ]


# --8<-- [end:solution-probe-layers]


# --8<-- [start:solution-feature]
def concentric_circles(n_points: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Class 0 inside a circle of radius 1, class 1 on a ring between radii 1.5 and 2."""
    labels = rng.integers(0, 2, n_points)
    radius = np.where(labels == 0, rng.uniform(0.0, 1.0, n_points), rng.uniform(1.5, 2.0, n_points))
    angle = rng.uniform(0.0, 2 * np.pi, n_points)
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]), labels


def with_squared_radius(x: np.ndarray) -> np.ndarray:
    """A hand-designed feature: append x1^2 + x2^2 to the inputs."""
    return np.column_stack([x, (x**2).sum(axis=1)])


# --8<-- [end:solution-feature]


def spiral_split(n_points: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A training and a test set of ``n_points`` each, from one seeded generator."""
    rng = np.random.default_rng(seed)
    x_train, y_train = two_spirals(n_points, 0.05, rng)
    x_test, y_test = two_spirals(n_points, 0.05, rng)
    return x_train, y_train, x_test, y_test


def plot_nested_fields():
    """AI contains machine learning, which contains representation learning and deep learning."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse

    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    rings = [
        ("artificial intelligence", "search, logic, expert systems", 7.2, 4.4, "#e8eaf6"),
        ("machine learning", "linear models, SVM, trees", 5.9, 3.4, "#c5cae9"),
        ("representation learning", "PCA, autoencoders", 4.6, 2.4, "#9fa8da"),
        ("deep learning", "MLP, CNN, RNN, Transformer", 3.3, 1.4, "#5c6bc0"),
    ]
    for name, examples, width, height, color in rings:
        centre_y = -(4.4 - height) / 2  # all ellipses share their bottom edge
        ax.add_patch(Ellipse((0, centre_y), width, height, facecolor=color, edgecolor="#1a237e", lw=1.2))
        top = centre_y + height / 2
        dark = name == "deep learning"
        text_color = "white" if dark else "#1a237e"
        label_y = centre_y + 0.15 if dark else top - 0.25
        ax.text(0, label_y, name, ha="center", va="center", fontsize=11, weight="bold", color=text_color)
        examples_y = centre_y - 0.2 if dark else top - 0.52
        ax.text(0, examples_y, examples, ha="center", va="center", fontsize=8.5, color=text_color)
    ax.set_xlim(-3.8, 3.8)
    ax.set_ylim(-2.35, 2.35)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout()
    return fig


def plot_spiral_boundaries():
    """Decision regions of logistic regression and of a two-hidden-layer MLP on the spirals."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    from snippets.common import seed_everything

    seed = seed_everything(0)
    x_train, y_train, x_test, y_test = spiral_split(600, seed)
    linear = fit_linear(x_train, y_train)
    with one_thread():
        mlp = train_mlp(x_train, y_train)
    grid = np.linspace(-1.3, 1.3, 250, dtype=np.float32)
    xx, yy = np.meshgrid(grid, grid)
    points = np.column_stack([xx.ravel(), yy.ravel()])
    panels = [
        ("logistic regression", linear.predict(points), linear.score(x_test, y_test)),
        ("MLP 2-64-64-2", mlp_predict(mlp, points), float(np.mean(mlp_predict(mlp, x_test) == y_test))),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(8, 4), sharey=True)
    for ax, (title, regions, test_accuracy) in zip(axes, panels, strict=True):
        ax.imshow(
            regions.reshape(xx.shape),
            extent=(-1.3, 1.3, -1.3, 1.3),
            origin="lower",
            cmap=ListedColormap(["#fde0c5", "#c6dbef"]),
            interpolation="nearest",
        )
        for label, marker, color in [(0, "o", "#d95f02"), (1, "s", "#1b6ca8")]:
            chosen = y_train == label
            ax.scatter(*x_train[chosen].T, marker=marker, s=9, color=color, label=f"y = {label}")
        ax.set_title(f"{title}: test accuracy {test_accuracy:.2f}")
        ax.set_xlabel("$x_1$")
    axes[0].set_ylabel("$x_2$")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {"roadmap-nested-fields": plot_nested_fields, "roadmap-spirals": plot_spiral_boundaries}
# Points a figure may move between CPUs (tools/figures.py), measured with ATEN_CPU_CAPABILITY
# default, avx2 and avx512: the default level draws them differently; math.inf: only the labels are compared.
FIGURE_TOLERANCE = {"roadmap-spirals": math.inf}


def report(args: argparse.Namespace) -> None:
    """Train every model on the spirals and print the test accuracies."""
    with one_thread():
        compare_models(args)


def compare_models(args: argparse.Namespace) -> None:
    print(f"seed={args.seed} samples={args.samples} (train and test each) steps={args.steps}")
    x_train, y_train, x_test, y_test = spiral_split(args.samples, args.seed)
    linear = fit_linear(x_train, y_train)
    print(f"logistic regression on (x1, x2):     test accuracy {linear.score(x_test, y_test):.3f}")
    sk_mlp = fit_sklearn_mlp(x_train, y_train, args.seed, epochs=args.steps)
    print(f"scikit-learn MLPClassifier (64, 64): test accuracy {sk_mlp.score(x_test, y_test):.3f}")
    mlp = train_mlp(x_train, y_train, steps=args.steps, learning_rate=args.lr)
    mlp_accuracy = float(np.mean(mlp_predict(mlp, x_test) == y_test))
    print(f"PyTorch MLP 2-64-64-2:               test accuracy {mlp_accuracy:.3f}")
    probes = probe_every_layer(mlp, x_train, y_train, x_test, y_test)
    for name, accuracy in zip(["raw input", "hidden layer 1", "hidden layer 2"], probes, strict=True):
        print(f"linear probe on {name:<15}       test accuracy {accuracy:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.roadmap.index",
        "Compare a linear model with small deep networks on two interleaved spirals.",
    )
    parser.add_argument(
        "--samples", type=positive_int, default=600, help="points in the training and in the test set"
    )
    parser.add_argument(
        "--steps", type=positive_int, default=300, help="training steps (epochs for scikit-learn)"
    )
    parser.add_argument("--lr", type=positive_float, default=0.01, help="Adam learning rate (default: 0.01)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
