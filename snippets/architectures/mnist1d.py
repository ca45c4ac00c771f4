"""MNIST-1D (Greydanus 2020): logistic regression, an MLP, a CNN and a GRU, on ordered and shuffled signals.

The data is generated locally with ``mnist1d.data.make_dataset``; nothing is downloaded.
Run ``python -m snippets.architectures.mnist1d --help`` for the options, ``--full`` for the full-size run.
"""

from __future__ import annotations

import argparse
import time

# --8<-- [start:data]
import copy
import random
from functools import lru_cache

import numpy as np
import torch
from mnist1d.data import get_dataset_args, make_dataset  # make_dataset generates; never get_dataset
from torch import nn
from torch.nn import functional as F


def seed_everything(seed: int) -> int:
    """Seed Python, NumPy and PyTorch; return the seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return seed


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


SEQUENCE_LENGTH, N_CLASSES = 40, 10
MNIST1D_KEYS = (("x", np.float32), ("y", np.int64), ("x_test", np.float32), ("y_test", np.int64))


@lru_cache(maxsize=4)
def _generate(num_samples: int, data_seed: int) -> tuple[np.ndarray, ...]:
    """Run the generator once per size and seed; afterwards put the global generators back."""
    args = get_dataset_args()  # the paper's settings: 5000 samples, 80% for training, seed 42
    args.num_samples, args.seed = num_samples, data_seed
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)  # note: it reseeds NumPy's and Python's global generators
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return tuple(np.asarray(data[key], dtype=dtype) for key, dtype in MNIST1D_KEYS)


def make_mnist1d(num_samples: int = 5000, data_seed: int = 42) -> dict[str, np.ndarray]:
    """MNIST-1D as arrays: x (N, 40) and labels y, plus x_test, y_test. Cached; returns copies."""
    arrays = _generate(num_samples, data_seed)
    return {key: array.copy() for (key, _), array in zip(MNIST1D_KEYS, arrays, strict=True)}


def shuffle_positions(x: np.ndarray, permutation: np.ndarray) -> np.ndarray:
    """Apply one fixed permutation to the 40 positions of every signal (same for train and test)."""
    return x[:, permutation]


# --8<-- [end:data]

from snippets.common import make_parser, one_thread, positive_int, run_cli  # noqa: E402


# --8<-- [start:models]
def logistic_regression() -> nn.Module:
    """A linear map to 10 logits; softmax cross-entropy makes it multinomial logistic regression."""
    return nn.Linear(SEQUENCE_LENGTH, N_CLASSES)


def mlp(hidden: int = 100) -> nn.Sequential:
    """Two hidden ReLU layers; every position is just another input column."""
    return nn.Sequential(
        nn.Linear(SEQUENCE_LENGTH, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, N_CLASSES),
    )


class CNN(nn.Module):
    """1-D convolutions and max pooling, then a global max over positions: 40 -> 20 -> 10 -> 1."""

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(1, channels, 5, padding=2),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool1d(2),  # 40 -> 20 positions
            nn.Conv1d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool1d(2),  # 20 -> 10
            nn.Conv1d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveMaxPool1d(1),  # strongest response anywhere: invariant to where the digit is
        )
        self.classifier = nn.Linear(channels, N_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x.unsqueeze(1)).flatten(1))  # (N, 40) -> (N, 1, 40)


class GRUClassifier(nn.Module):
    """The paper's recurrent model: a bidirectional GRU (6 units each way) read at every position."""

    def __init__(self, hidden: int = 6) -> None:
        super().__init__()
        self.gru = nn.GRU(1, hidden, batch_first=True, bidirectional=True)
        self.classifier = nn.Linear(2 * hidden * SEQUENCE_LENGTH, N_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.gru(x.unsqueeze(-1))  # (N, 40, 1) -> (N, 40, 2 * hidden)
        return self.classifier(outputs.flatten(1))


MODELS = {"logistic": logistic_regression, "mlp": mlp, "cnn": CNN, "gru": GRUClassifier}
DENSE_MODELS = ("logistic", "mlp")  # the first layer sees all 40 positions at once
# --8<-- [end:models]


# --8<-- [start:train]
def train(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    steps: int,
    batch_size: int = 100,
    learning_rate: float = 1e-2,
    seed: int = 0,
) -> nn.Module:
    """Adam on random mini-batches, the paper's optimiser and step size."""
    device = next(model.parameters()).device
    inputs, targets = torch.tensor(x, device=device), torch.tensor(y, device=device)
    batches = torch.Generator().manual_seed(seed)  # the order of the mini-batches
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    model.train()
    for _ in range(steps):
        batch = torch.randint(len(inputs), (batch_size,), generator=batches).to(device)
        loss = F.cross_entropy(model(inputs[batch]), targets[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        predicted = model(torch.tensor(x, device=device)).argmax(dim=1).cpu().numpy()
    return float((predicted == y).mean())


def permute_first_layer(model: nn.Module, permutation: np.ndarray) -> nn.Module:
    """Reorder the input columns of the first linear layer to match inputs shuffled by ``permutation``.

    If x_shuffled = x[permutation], then W[:, permutation] @ x_shuffled == W @ x.
    """
    first = next(module for module in model.modules() if isinstance(module, nn.Linear))
    with torch.no_grad():
        first.weight.copy_(first.weight[:, torch.as_tensor(permutation)])
    return model


def run_benchmark(
    names: list[str], steps: int, seed: int, num_samples: int = 5000
) -> dict[str, dict[str, float]]:
    """Test accuracy of each model on the ordered signals and on position-shuffled signals."""
    data = make_mnist1d(num_samples)
    permutation = np.random.default_rng(seed).permutation(SEQUENCE_LENGTH)  # one fixed shuffle
    variants = {
        "original": (data["x"], data["x_test"]),
        "shuffled": (
            shuffle_positions(data["x"], permutation),
            shuffle_positions(data["x_test"], permutation),
        ),
    }
    results: dict[str, dict[str, float]] = {}
    for name in names:
        results[name] = {}
        for variant, (x_train, x_test) in variants.items():
            seed_everything(seed)  # same initial weights and batches for both variants
            model = MODELS[name]().to(pick_device())
            if variant == "shuffled" and name in DENSE_MODELS:
                permute_first_layer(model, permutation)  # start from the same function as unshuffled
            train(model, x_train, data["y"], steps, seed=seed)
            results[name][variant] = accuracy(model, x_test, data["y_test"])
    return results


# --8<-- [end:train]

# Test accuracy (%) in Greydanus (2020), Table 1 / the mnist1d README: (original, shuffled).
PAPER_ACCURACY = {"logistic": (32, 32), "mlp": (68, 68), "cnn": (94, 56), "gru": (91, 57)}

# Measured once with `python -m snippets.architectures.mnist1d --full` (seed 0, one CPU thread), in %:
# (original, shuffled). The accuracy figure shows them; the page quotes them with the run's time.
FULL_RUN_ACCURACY = {"logistic": (32.0, 32.0), "mlp": (67.2, 63.9), "cnn": (95.2, 55.8), "gru": (91.7, 56.5)}


# --8<-- [start:solution-permute]
def same_function_after_shuffle(model: nn.Module, permutation: np.ndarray, x: torch.Tensor) -> bool:
    """Does the model on x equal a column-permuted copy of it on the shuffled x?"""
    permuted = permute_first_layer(copy.deepcopy(model), permutation)
    with torch.no_grad():
        return torch.allclose(model(x), permuted(x[:, permutation]), atol=1e-5)


# --8<-- [end:solution-permute]


def plot_signals():
    """Five MNIST-1D signals, once in order and once with the 40 positions shuffled."""
    import matplotlib.pyplot as plt

    data = make_mnist1d()
    permutation = np.random.default_rng(0).permutation(SEQUENCE_LENGTH)
    chosen = [int(np.flatnonzero(data["y"] == digit)[0]) for digit in range(5)]
    fig, axes = plt.subplots(2, 5, figsize=(11, 3.6), sharex=True, sharey=True)
    for column, index in enumerate(chosen):
        for row, signal in enumerate((data["x"][index], shuffle_positions(data["x"], permutation)[index])):
            ax = axes[row, column]
            ax.plot(signal, color="#1b6ca8" if row == 0 else "#d95f02", marker=".", linewidth=1.2)
            ax.axhline(0, color="0.8", linewidth=0.6, zorder=0)
            if row == 0:
                ax.set_title(f"y = {data['y'][index]}", fontsize=10)
    axes[0, 0].set_ylabel("original")
    axes[1, 0].set_ylabel("shuffled")
    for ax in axes[1]:
        ax.set_xlabel("position")
    fig.tight_layout()
    return fig


def plot_accuracy():
    """Bars: the paper's test accuracy beside our full run, ordered and shuffled."""
    import matplotlib.pyplot as plt

    names = list(PAPER_ACCURACY)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    positions = np.arange(len(names))
    for column, (ax, variant) in enumerate(zip(axes, ("original", "shuffled"), strict=True)):
        for offset, (label, table, color) in enumerate(
            [("Greydanus 2020", PAPER_ACCURACY, "#9ecae1"), ("ours", FULL_RUN_ACCURACY, "#1b6ca8")]
        ):
            values = [table[name][column] for name in names]
            bars = ax.bar(positions + (offset - 0.5) * 0.38, values, 0.38, label=label, color=color)
            ax.bar_label(bars, fmt="%.0f", fontsize=7)
        ax.set_xticks(positions, ["logistic", "MLP", "CNN", "GRU"])
        ax.set_title(variant)
        ax.set_ylim(0, 105)
    axes[0].set_ylabel("test accuracy (%)")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {"cnn-mnist1d-signals": plot_signals, "cnn-mnist1d-accuracy": plot_accuracy}


def report(args: argparse.Namespace) -> None:
    """Train the chosen models on ordered and shuffled MNIST-1D and print a table."""
    with one_thread():  # models this small run fastest on one CPU thread; restored afterwards
        print_report(args)


def print_report(args: argparse.Namespace) -> None:
    steps = 2000 if args.full else args.steps
    names = list(MODELS) if args.full else args.models
    data = make_mnist1d()
    print(
        f"seed={args.seed} train={len(data['y'])} test={len(data['y_test'])} steps={steps} batch=100 lr=0.01"
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    results = run_benchmark(names, steps, args.seed)
    print("model     params  original  shuffled   paper: original  shuffled")
    for name in names:
        params = sum(p.numel() for p in MODELS[name]().parameters())
        paper = PAPER_ACCURACY[name]
        print(
            f"{name:<8} {params:>7}  {results[name]['original']:>8.3f}  {results[name]['shuffled']:>8.3f}"
            f"   {paper[0] / 100:>15.2f}  {paper[1] / 100:>8.2f}"
        )
    if args.full:
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        print(f"training time: {wall:.0f} s wall, {cpu:.0f} s CPU, {torch.get_num_threads()} threads")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.architectures.mnist1d",
        "Logistic regression, MLP, CNN and GRU on MNIST-1D, with and without shuffled positions.",
    )
    parser.add_argument(
        "--steps", type=positive_int, default=200, help="Adam steps of 100 examples (default: 200)"
    )
    parser.add_argument(
        "--models",
        nargs="+",
        choices=list(MODELS),
        default=["logistic", "mlp", "cnn"],
        help="models to train (default: logistic mlp cnn)",
    )
    parser.add_argument("--full", action="store_true", help="all four models, 2000 steps each")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
