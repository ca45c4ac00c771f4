"""The multilayer perceptron: XOR with one hidden layer, and backpropagation written by hand.

Run ``python -m snippets.neural_networks.mlp --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import numpy as np
import torch
from torch import nn


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# XOR: the four corners of the unit square, label 1 when exactly one input is 1.
XOR_INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_LABELS = np.array([0.0, 1.0, 1.0, 0.0])

Params = dict[str, np.ndarray]  # parameter name -> array
# --8<-- [end:setup]

from snippets.common import make_parser, positive_float, positive_int, run_cli  # noqa: E402


# --8<-- [start:scratch]
def init_params(n_inputs: int, n_hidden: int, rng: np.random.Generator) -> Params:
    """Random weights (variance 1/fan-in for the output layer), zero biases."""
    return {
        "W1": rng.normal(0.0, 1.0, size=(n_inputs, n_hidden)),
        "b1": np.zeros(n_hidden),
        "W2": rng.normal(0.0, 1.0 / np.sqrt(n_hidden), size=(n_hidden, 1)),
        "b2": np.zeros(1),
    }


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def forward(params: Params, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the predicted probabilities p and the hidden activations H."""
    hidden = np.tanh(x @ params["W1"] + params["b1"])  # H = tanh(X W1 + b1)
    logits = hidden @ params["W2"] + params["b2"]  # z = H W2 + b2
    return sigmoid(logits[:, 0]), hidden


def cross_entropy(p: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy."""
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def backward(params: Params, x: np.ndarray, y: np.ndarray) -> Params:
    """Backpropagation: the chain rule applied layer by layer, from the loss back to W1."""
    p, hidden = forward(params, x)
    delta2 = ((p - y) / len(x))[:, None]  # dL/dz for sigmoid + cross-entropy
    grads = {"W2": hidden.T @ delta2, "b2": delta2.sum(axis=0)}
    delta1 = (delta2 @ params["W2"].T) * (1 - hidden**2)  # back through W2, then tanh' = 1 - tanh^2
    grads["W1"] = x.T @ delta1
    grads["b1"] = delta1.sum(axis=0)
    return grads


def gradient_descent(
    params: Params, x: np.ndarray, y: np.ndarray, epochs: int, learning_rate: float
) -> list[float]:
    """Full-batch gradient descent with the hand-written gradients (updates params in place)."""
    losses = []
    for _ in range(epochs):
        grads = backward(params, x, y)
        for name in params:
            params[name] -= learning_rate * grads[name]
        losses.append(cross_entropy(forward(params, x)[0], y))
    return losses


def train_numpy(
    x: np.ndarray, y: np.ndarray, n_hidden: int, epochs: int, learning_rate: float, rng: np.random.Generator
) -> tuple[Params, list[float]]:
    params = init_params(x.shape[1], n_hidden, rng)
    return params, gradient_descent(params, x, y, epochs, learning_rate)


# --8<-- [end:scratch]


# --8<-- [start:autograd]
def autograd_gradients(params: Params, x: np.ndarray, y: np.ndarray) -> Params:
    """The same gradients from PyTorch's autograd (float64, so rounding stays tiny)."""
    tensors = {name: torch.tensor(value, requires_grad=True) for name, value in params.items()}
    inputs, targets = torch.tensor(x), torch.tensor(y)
    hidden = torch.tanh(inputs @ tensors["W1"] + tensors["b1"])
    logits = (hidden @ tensors["W2"] + tensors["b2"])[:, 0]
    loss = nn.functional.binary_cross_entropy_with_logits(logits, targets)
    loss.backward()
    return {name: tensor.grad.numpy() for name, tensor in tensors.items()}


# --8<-- [end:autograd]


# --8<-- [start:torch]
def make_mlp(n_inputs: int = 2, n_hidden: int = 8, activation: type[nn.Module] = nn.Tanh) -> nn.Sequential:
    """Input -> hidden layer with a nonlinearity -> one logit."""
    return nn.Sequential(nn.Linear(n_inputs, n_hidden), activation(), nn.Linear(n_hidden, 1))


def train_torch(
    model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, learning_rate: float
) -> list[float]:
    """Full-batch SGD on binary cross-entropy; autograd does the backward pass."""
    device = pick_device()
    model.to(device)
    inputs = torch.tensor(x, dtype=torch.float32, device=device)
    targets = torch.tensor(y, dtype=torch.float32, device=device).unsqueeze(1)
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    loss_fn = nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def torch_predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """Class 1 where the logit is positive (probability above 0.5)."""
    device = next(model.parameters()).device
    with torch.no_grad():
        logits = model(torch.tensor(x, dtype=torch.float32, device=device))
    return (logits[:, 0] > 0).cpu().numpy().astype(float)


# --8<-- [end:torch]


def accuracy(predicted: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(predicted == y))


def numpy_predict(params: Params, x: np.ndarray) -> np.ndarray:
    return (forward(params, x)[0] > 0.5).astype(float)


def max_gradient_error(params: Params, x: np.ndarray, y: np.ndarray) -> float:
    """Largest relative difference between hand-written and autograd gradients."""
    ours, theirs = backward(params, x, y), autograd_gradients(params, x, y)
    return max(
        float(np.max(np.abs(ours[name] - theirs[name])) / (np.max(np.abs(theirs[name])) + 1e-12))
        for name in params
    )


# --8<-- [start:solution-hand]
def step(z: np.ndarray) -> np.ndarray:
    return (z > 0).astype(float)


def hand_built_xor(x: np.ndarray) -> np.ndarray:
    """Hidden unit 1 computes OR, hidden unit 2 computes AND; the output fires for OR but not AND."""
    hidden = step(x @ np.array([[1.0, 1.0], [1.0, 1.0]]) + np.array([-0.5, -1.5]))
    return step(hidden @ np.array([1.0, -1.0]) - 0.5)


# --8<-- [end:solution-hand]


# --8<-- [start:solution-symmetry]
def constant_init(n_inputs: int, n_hidden: int, value: float = 0.5) -> Params:
    """Every weight equal: a bad idea, as training shows."""
    return {
        "W1": np.full((n_inputs, n_hidden), value),
        "b1": np.zeros(n_hidden),
        "W2": np.full((n_hidden, 1), value),
        "b2": np.zeros(1),
    }


# --8<-- [end:solution-symmetry]


# --8<-- [start:solution-universal]
def random_feature_error(width: int, rng: np.random.Generator, n_points: int = 200) -> float:
    """Fit sin(2x) on [-pi, pi] with `width` random tanh units; only the output layer is fitted.

    Returns the largest absolute error on a fine grid.
    """
    x = np.linspace(-np.pi, np.pi, n_points)
    slopes = rng.normal(0.0, 2.0, size=width)
    offsets = -slopes * rng.uniform(-np.pi, np.pi, size=width)  # each unit bends at a random point

    def features(points: np.ndarray) -> np.ndarray:
        hidden = np.tanh(np.outer(points, slopes) + offsets)
        return np.column_stack([hidden, np.ones(len(points))])  # last column: output bias

    output_weights, *_ = np.linalg.lstsq(features(x), np.sin(2 * x), rcond=None)
    grid = np.linspace(-np.pi, np.pi, 1001)
    return float(np.max(np.abs(features(grid) @ output_weights - np.sin(2 * grid))))


# --8<-- [end:solution-universal]


def plot_xor_boundary():
    """The regions the NumPy MLP learned on XOR, and the line each hidden unit draws."""
    import matplotlib.pyplot as plt

    params, _ = train_numpy(XOR_INPUTS, XOR_LABELS, 8, 500, 1.0, np.random.default_rng(0))
    grid = np.linspace(-0.5, 1.5, 201)
    xx, yy = np.meshgrid(grid, grid)
    probabilities = forward(params, np.column_stack([xx.ravel(), yy.ravel()]))[0].reshape(xx.shape)
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.8), sharey=True)
    for ax in axes:
        ax.contourf(xx, yy, probabilities, levels=[0, 0.5, 1], colors=["#fde0c5", "#c6dbef"])
        ax.contour(xx, yy, probabilities, levels=[0.5], colors="black", linewidths=1.5)
        for label, marker, color in [(0, "o", "#d95f02"), (1, "s", "#1b6ca8")]:
            chosen = XOR_LABELS == label
            ax.scatter(
                XOR_INPUTS[chosen, 0],
                XOR_INPUTS[chosen, 1],
                marker=marker,
                s=90,
                color=color,
                edgecolor="black",
                label=f"y = {label}",
                zorder=3,
            )
        ax.set_xlim(-0.5, 1.5)
        ax.set_ylim(-0.5, 1.5)
        ax.set_xlabel("$x_1$")
    axes[0].set_ylabel("$x_2$")
    axes[0].set_title("p = 0.5 boundary")
    axes[0].legend(loc="upper left", fontsize=8)
    # each hidden unit j is zero on the line W1[0, j] x1 + W1[1, j] x2 + b1[j] = 0
    for j in range(params["W1"].shape[1]):
        w1, w2, b = params["W1"][0, j], params["W1"][1, j], params["b1"][j]
        if abs(w2) > abs(w1):
            axes[1].plot(grid, -(w1 * grid + b) / w2, color="gray", linewidth=1, linestyle="--")
        else:
            axes[1].plot(-(w2 * grid + b) / w1, grid, color="gray", linewidth=1, linestyle="--")
    axes[1].set_title("hidden units: $w_j^T x + b_j = 0$")
    fig.tight_layout()
    return fig


FIGURES = {"mlp-xor-boundary": plot_xor_boundary}


def report(args: argparse.Namespace) -> None:
    """Check backpropagation against autograd, then train both MLPs on XOR."""
    print(f"seed={args.seed} hidden={args.hidden} epochs={args.epochs} learning_rate={args.lr}")
    rng = np.random.default_rng(args.seed)
    error = max_gradient_error(init_params(2, args.hidden, rng), XOR_INPUTS, XOR_LABELS)
    print(f"hand-written vs autograd gradients: largest relative difference {error:.1e}")
    params, losses = train_numpy(XOR_INPUTS, XOR_LABELS, args.hidden, args.epochs, args.lr, rng)
    probabilities = forward(params, XOR_INPUTS)[0]
    print(
        f"NumPy MLP: loss {losses[0]:.3f} -> {losses[-1]:.4f}, "
        f"accuracy {accuracy(numpy_predict(params, XOR_INPUTS), XOR_LABELS):.2f}, "
        f"p(y=1) = {' '.join(f'{value:.3f}' for value in probabilities)}"
    )
    model = make_mlp(n_hidden=args.hidden)
    torch_losses = train_torch(model, XOR_INPUTS, XOR_LABELS, args.epochs, args.lr)
    print(
        f"PyTorch MLP: loss {torch_losses[0]:.3f} -> {torch_losses[-1]:.4f}, "
        f"accuracy {accuracy(torch_predict(model, XOR_INPUTS), XOR_LABELS):.2f}"
    )
    linear = make_mlp(n_hidden=args.hidden, activation=nn.Identity)
    linear_losses = train_torch(linear, XOR_INPUTS, XOR_LABELS, args.epochs, args.lr)
    with torch.no_grad():
        linear_p = torch.sigmoid(linear(torch.tensor(XOR_INPUTS, dtype=torch.float32)))[:, 0]
    # Its accuracy is not printed: with every probability at 0.5 it depends on rounding noise.
    print(
        f"same network without the nonlinearity: loss {linear_losses[-1]:.4f} "
        f"(ln 2 = {np.log(2):.4f}), p(y=1) = {' '.join(f'{value:.3f}' for value in linear_p.tolist())}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.neural_networks.mlp",
        "Solve XOR with a one-hidden-layer MLP, by hand (NumPy) and with PyTorch.",
    )
    parser.add_argument("--hidden", type=positive_int, default=8, help="hidden units (default: 8)")
    parser.add_argument("--epochs", type=positive_int, default=500, help="gradient steps (default: 500)")
    parser.add_argument("--lr", type=positive_float, default=1.0, help="learning rate (default: 1.0)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
