"""Deep learning frameworks: one small classifier in PyTorch and in Keras 3 (on its PyTorch backend).

Run ``python -m snippets.foundations.frameworks --help`` for the options.
"""

from __future__ import annotations

import math
import argparse

# --8<-- [start:setup]
import os
from dataclasses import dataclass

os.environ["KERAS_BACKEND"] = "torch"  # choose Keras's backend before the first `import keras`

import keras
import numpy as np
import torch
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from torch import nn


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Iris: 70 % to train, 30 % to test (stratified), standardised with the training statistics."""
    x, y = load_iris(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, stratify=y, random_state=seed)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train = ((x_train - mean) / std).astype(np.float32)
    x_test = ((x_test - mean) / std).astype(np.float32)
    return x_train, x_test, y_train, y_test


# --8<-- [end:setup]

if keras.backend.backend() != "torch":  # Keras was imported earlier with another backend
    raise ImportError("snippets.foundations.frameworks needs Keras on its 'torch' backend")

from snippets.common import make_parser, positive_float, positive_int, run_cli  # noqa: E402


# --8<-- [start:torch]
def make_torch_model(n_features: int = 4, n_hidden: int = 16, n_classes: int = 3) -> nn.Sequential:
    """Two layers: 4 -> 16 (ReLU) -> 3 class scores (logits)."""
    return nn.Sequential(
        nn.Linear(n_features, n_hidden),
        nn.ReLU(),
        nn.Linear(n_hidden, n_classes),
    )


def train_torch(
    model: nn.Module, x: np.ndarray, y: np.ndarray, steps: int, learning_rate: float
) -> list[float]:
    """Full-batch gradient descent, written out; returns the loss at each step."""
    device = pick_device()
    model.to(device)
    inputs = torch.tensor(x, device=device)
    targets = torch.tensor(y, device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    loss_fn = nn.CrossEntropyLoss()  # softmax + negative log-likelihood, applied to logits
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()  # gradients accumulate unless cleared
        loss = loss_fn(model(inputs), targets)  # forward pass: runs eagerly, line by line
        loss.backward()  # autograd fills every parameter's .grad
        optimizer.step()  # w <- w - learning_rate * grad
        losses.append(loss.item())
    return losses


def torch_predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    device = next(model.parameters()).device
    with torch.no_grad():
        return model(torch.tensor(x, device=device)).argmax(dim=1).cpu().numpy()


# --8<-- [end:torch]


# --8<-- [start:keras]
def make_keras_model(n_features: int = 4, n_hidden: int = 16, n_classes: int = 3) -> keras.Model:
    """The same two layers in Keras: Dense = weights + bias (+ activation)."""
    return keras.Sequential(
        [
            keras.Input(shape=(n_features,)),
            keras.layers.Dense(n_hidden, activation="relu"),
            keras.layers.Dense(n_classes),
        ]
    )


def train_keras(
    model: keras.Model, x: np.ndarray, y: np.ndarray, steps: int, learning_rate: float
) -> list[float]:
    """compile() chooses optimizer and loss; fit() runs the loop. One batch = the whole set."""
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = model.fit(x, y, batch_size=len(x), epochs=steps, shuffle=False, verbose=0)
    return history.history["loss"]


def keras_predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    return model.predict(x, verbose=0).argmax(axis=1)


# --8<-- [end:keras]


# --8<-- [start:copy]
def torch_weights_as_keras(model: nn.Sequential) -> list[np.ndarray]:
    """nn.Linear keeps W as (out, in) and computes x W^T + b; Dense keeps (in, out): transpose."""
    weights = []
    for layer in model:
        if isinstance(layer, nn.Linear):
            weights.append(layer.weight.detach().cpu().numpy().T)
            weights.append(layer.bias.detach().cpu().numpy())
    return weights


def copy_weights(source: nn.Sequential, target: keras.Model) -> None:
    """Start the Keras model from exactly the PyTorch model's parameters."""
    target.set_weights(torch_weights_as_keras(source))


# --8<-- [end:copy]


# --8<-- [start:compare]
@dataclass
class Comparison:
    """The two frameworks trained side by side from the same start."""

    torch_losses: list[float]
    keras_losses: list[float]
    max_weight_difference: float
    train_accuracy: dict[str, float]
    test_accuracy: dict[str, float]


def compare(seed: int, steps: int = 100, learning_rate: float = 0.5) -> Comparison:
    """Train both models from the same weights on the same data; collect what differs."""
    x_train, x_test, y_train, y_test = load_data(seed)
    torch.manual_seed(seed)
    torch_model = make_torch_model()
    keras_model = make_keras_model()
    copy_weights(torch_model, keras_model)
    torch_losses = train_torch(torch_model, x_train, y_train, steps, learning_rate)
    keras_losses = train_keras(keras_model, x_train, y_train, steps, learning_rate)
    difference = max(
        float(np.abs(ours - theirs).max())
        for ours, theirs in zip(torch_weights_as_keras(torch_model), keras_model.get_weights(), strict=True)
    )
    predictions = {
        "PyTorch": (torch_predict(torch_model, x_train), torch_predict(torch_model, x_test)),
        "Keras": (keras_predict(keras_model, x_train), keras_predict(keras_model, x_test)),
    }
    return Comparison(
        torch_losses=torch_losses,
        keras_losses=keras_losses,
        max_weight_difference=difference,
        train_accuracy={name: float(np.mean(p[0] == y_train)) for name, p in predictions.items()},
        test_accuracy={name: float(np.mean(p[1] == y_test)) for name, p in predictions.items()},
    )


# --8<-- [end:compare]


# --8<-- [start:solution-interop]
def keras_model_is_a_torch_module(model: keras.Model) -> bool:
    """On the torch backend a Keras model is an nn.Module holding nn.Parameters."""
    parameters = list(model.parameters())
    return (
        isinstance(model, nn.Module)
        and len(parameters) == len(model.trainable_weights)
        and all(isinstance(p, nn.Parameter) for p in parameters)
    )


# --8<-- [end:solution-interop]


# --8<-- [start:solution-gap]
def loss_gap(seed: int, steps: int, torch_learning_rate: float, keras_learning_rate: float) -> float:
    """Largest loss difference when the two frameworks use different learning rates."""
    x_train, _, y_train, _ = load_data(seed)
    torch_model, keras_model = make_torch_model(), make_keras_model()
    copy_weights(torch_model, keras_model)
    torch_losses = train_torch(torch_model, x_train, y_train, steps, torch_learning_rate)
    keras_losses = train_keras(keras_model, x_train, y_train, steps, keras_learning_rate)
    return max(abs(a - b) for a, b in zip(torch_losses, keras_losses, strict=True))


# --8<-- [end:solution-gap]


def plot_loss_curves():
    """Loss per step for both frameworks, and their absolute difference."""
    import matplotlib.pyplot as plt

    result = compare(seed=0)
    steps = np.arange(1, len(result.torch_losses) + 1)
    gap = np.abs(np.array(result.torch_losses) - np.array(result.keras_losses))
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    left.plot(steps, result.torch_losses, color="#1b6ca8", linewidth=3, alpha=0.6, label="PyTorch")
    left.plot(steps, result.keras_losses, color="#d95f02", linestyle="--", label="Keras (torch backend)")
    left.set_xlabel("step")
    left.set_ylabel("cross-entropy")
    left.legend()
    floor = 1e-9  # exact zeros cannot be drawn on a log scale: show them on the bottom line
    equal = gap == 0
    right.semilogy(steps[~equal], gap[~equal], color="black", marker=".", linestyle="none", label="> 0")
    right.semilogy(
        steps[equal], np.full(equal.sum(), floor), color="#1b6ca8", marker="x", linestyle="none", label="= 0"
    )
    right.axhline(np.finfo(np.float32).eps, color="gray", linestyle=":", label="float32 eps")
    right.set_xlabel("step")
    right.set_ylabel("|loss PyTorch - loss Keras|")
    right.set_ylim(floor / 2, 1e-4)
    right.set_yticks([floor, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4], ["0", "1e-8", "1e-7", "1e-6", "1e-5", "1e-4"])
    right.legend()
    fig.tight_layout()
    return fig


FIGURES = {"frameworks-loss-curves": plot_loss_curves}
# Points a figure may move between CPUs (tools/figures.py), measured with ATEN_CPU_CAPABILITY
# default, avx2 and avx512: the default level draws them differently; math.inf: only the labels are compared.
FIGURE_TOLERANCE = {"frameworks-loss-curves": math.inf}


def report(args: argparse.Namespace) -> None:
    """Train the PyTorch and the Keras model from the same start and compare them."""
    print(f"seed={args.seed} steps={args.steps} learning_rate={args.lr}")
    torch_version = torch.__version__.split("+")[0]  # drop the build tag (+cpu, +cu128, ...)
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}; torch {torch_version}")
    result = compare(args.seed, args.steps, args.lr)
    for step in sorted({1, 2, 10, args.steps}):
        if step <= args.steps:
            print(
                f"step {step:>4}: loss PyTorch {result.torch_losses[step - 1]:.6f}  "
                f"Keras {result.keras_losses[step - 1]:.6f}"
            )
    gap = max(abs(a - b) for a, b in zip(result.torch_losses, result.keras_losses, strict=True))
    print(f"largest loss difference over all steps: {gap:.1e}")
    print(f"largest weight difference at the end:  {result.max_weight_difference:.1e}")
    for name in ("PyTorch", "Keras"):
        print(
            f"{name:>7}: train accuracy {result.train_accuracy[name]:.3f}, "
            f"test accuracy {result.test_accuracy[name]:.3f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.foundations.frameworks",
        "Train the same classifier in PyTorch and in Keras 3 (torch backend) and compare.",
    )
    parser.add_argument("--steps", type=positive_int, default=100, help="gradient steps (default: 100)")
    parser.add_argument("--lr", type=positive_float, default=0.5, help="learning rate (default: 0.5)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
