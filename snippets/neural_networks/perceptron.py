"""The perceptron: Rosenblatt's learning rule from scratch and a single neuron in PyTorch.

Run ``python -m snippets.neural_networks.perceptron --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Perceptron as SkPerceptron
from torch import nn


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# The four corners of the unit square and three logic gates, labels in {-1, +1}.
CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
GATES = {
    "AND": np.array([-1, -1, -1, 1]),
    "OR": np.array([-1, 1, 1, 1]),
    "XOR": np.array([-1, 1, 1, -1]),
}
# --8<-- [end:setup]

from snippets.common import make_parser, positive_float, positive_int, run_cli  # noqa: E402


# --8<-- [start:scratch]
class Perceptron:
    """Rosenblatt's perceptron: predict sign(w·x + b), update only on mistakes."""

    def __init__(self, n_features: int, learning_rate: float = 1.0) -> None:
        self.weights = np.zeros(n_features)
        self.bias = 0.0
        self.learning_rate = learning_rate

    def decision(self, x: np.ndarray) -> np.ndarray:
        return x @ self.weights + self.bias

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.where(self.decision(x) > 0, 1, -1)

    def fit(
        self, x: np.ndarray, y: np.ndarray, epochs: int, rng: np.random.Generator | None = None
    ) -> list[int]:
        """Train for ``epochs`` passes (in a random order when ``rng`` is given).

        Returns the number of mistakes made in each pass.
        """
        mistakes_per_epoch = []
        for _ in range(epochs):
            mistakes = 0
            order = range(len(x)) if rng is None else rng.permutation(len(x))
            for i in order:
                if y[i] * self.decision(x[i]) <= 0:  # wrong side of (or on) the boundary
                    self.weights += self.learning_rate * y[i] * x[i]
                    self.bias += self.learning_rate * y[i]
                    mistakes += 1
            mistakes_per_epoch.append(mistakes)
        return mistakes_per_epoch


# --8<-- [end:scratch]


# --8<-- [start:torch]
def train_neuron(x: np.ndarray, y: np.ndarray, epochs: int = 500, learning_rate: float = 0.5) -> nn.Linear:
    """Fit one linear neuron with a sigmoid output by gradient descent on cross-entropy."""
    device = pick_device()
    inputs = torch.tensor(x, dtype=torch.float32, device=device)
    targets = torch.tensor((y + 1) / 2, dtype=torch.float32, device=device).unsqueeze(1)
    neuron = nn.Linear(2, 1).to(device)
    optimizer = torch.optim.SGD(neuron.parameters(), lr=learning_rate)
    loss_fn = nn.BCEWithLogitsLoss()  # sigmoid + binary cross-entropy in one stable step
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(neuron(inputs), targets)
        loss.backward()
        optimizer.step()
    return neuron


def neuron_predict(neuron: nn.Linear, x: np.ndarray) -> np.ndarray:
    device = next(neuron.parameters()).device
    with torch.no_grad():
        logits = neuron(torch.tensor(x, dtype=torch.float32, device=device))
    return np.where(logits.squeeze(1).cpu().numpy() > 0, 1, -1)


def neuron_loss(neuron: nn.Linear, x: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy of the neuron on labels in {-1, +1}."""
    device = next(neuron.parameters()).device
    targets = torch.tensor((y + 1) / 2, dtype=torch.float32, device=device).unsqueeze(1)
    with torch.no_grad():
        logits = neuron(torch.tensor(x, dtype=torch.float32, device=device))
    return nn.functional.binary_cross_entropy_with_logits(logits, targets).item()


# --8<-- [end:torch]


# --8<-- [start:sklearn]
def sklearn_perceptron(x: np.ndarray, y: np.ndarray, epochs: int) -> SkPerceptron:
    """The same learning rule from scikit-learn: no penalty, step size 1, fixed order."""
    model = SkPerceptron(eta0=1.0, max_iter=epochs, tol=None, shuffle=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # XOR never converges
        return model.fit(x, y)


# --8<-- [end:sklearn]


def accuracy(predicted: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(predicted == y))


# --8<-- [start:solution-lines]
def best_line_accuracy_on_xor(n_lines: int, rng: np.random.Generator) -> float:
    """Try ``n_lines`` random lines w·x + b = 0 and return the best accuracy on XOR."""
    weights = rng.normal(size=(n_lines, 2))
    biases = rng.normal(size=n_lines)
    predictions = np.where(CORNERS @ weights.T + biases > 0, 1, -1)  # shape (4, n_lines)
    return float((predictions == GATES["XOR"][:, None]).mean(axis=0).max())


# --8<-- [end:solution-lines]


# --8<-- [start:solution-feature]
def with_product_feature(x: np.ndarray) -> np.ndarray:
    """Add x1 * x2 as a third input: XOR becomes linearly separable in 3-D."""
    return np.column_stack([x, x[:, 0] * x[:, 1]])


# --8<-- [end:solution-feature]


def plot_decision_boundaries():
    """Three panels: the regions the perceptron learned for AND, OR and XOR."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2), sharey=True)
    grid = np.linspace(-0.5, 1.5, 200)
    xx, yy = np.meshgrid(grid, grid)
    points = np.column_stack([xx.ravel(), yy.ravel()])
    for ax, (name, labels) in zip(axes, GATES.items(), strict=True):
        model = Perceptron(2)
        model.fit(CORNERS, labels, epochs=20, rng=np.random.default_rng(0))
        regions = model.predict(points).reshape(xx.shape)
        ax.imshow(
            regions,
            extent=(-0.5, 1.5, -0.5, 1.5),
            origin="lower",
            vmin=-1,
            vmax=1,
            cmap=ListedColormap(["#fde0c5", "#c6dbef"]),
            interpolation="nearest",
        )
        for label, marker, color in [(-1, "o", "#d95f02"), (1, "s", "#1b6ca8")]:
            chosen = labels == label
            ax.scatter(
                CORNERS[chosen, 0],
                CORNERS[chosen, 1],
                marker=marker,
                s=90,
                color=color,
                edgecolor="black",
                label=f"y = {label:+d}",
            )
        correct = int((model.predict(CORNERS) == labels).sum())
        ax.set_title(f"{name}: {correct}/4")
        ax.set_xlabel("$x_1$")
    axes[0].set_ylabel("$x_2$")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {"perceptron-boundaries": plot_decision_boundaries}


def report(args: argparse.Namespace) -> None:
    """Train both models on every gate and print what they learned."""
    print(f"seed={args.seed} epochs={args.epochs} learning_rate={args.lr}")
    for name, labels in GATES.items():
        model = Perceptron(2, learning_rate=args.lr)
        mistakes = model.fit(CORNERS, labels, args.epochs, np.random.default_rng(args.seed))
        neuron = train_neuron(CORNERS, labels)
        print(
            f"{name:>3}: perceptron accuracy {accuracy(model.predict(CORNERS), labels):.2f}, "
            f"mistakes in the last pass {mistakes[-1]}; "
            f"neuron cross-entropy {neuron_loss(neuron, CORNERS, labels):.3f}"
        )
    print(f"cross-entropy of always answering 0.5: ln 2 = {np.log(2):.3f}")
    lifted_inputs = with_product_feature(CORNERS)
    lifted = Perceptron(3, learning_rate=args.lr)
    lifted.fit(lifted_inputs, GATES["XOR"], args.epochs, np.random.default_rng(args.seed))
    lifted_accuracy = accuracy(lifted.predict(lifted_inputs), GATES["XOR"])
    print(f"XOR with the x1*x2 feature: perceptron accuracy {lifted_accuracy:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.neural_networks.perceptron",
        "Train a perceptron and a PyTorch neuron on AND, OR and XOR.",
    )
    parser.add_argument("--epochs", type=positive_int, default=20, help="passes over the data (default: 20)")
    parser.add_argument("--lr", type=positive_float, default=1.0, help="perceptron step size (default: 1.0)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
