"""Dropout: inverted dropout from scratch against nn.Dropout, and its effect on over-fitting.

Run ``python -m snippets.regularization.dropout --help`` for the options.
"""

from __future__ import annotations

import math
import argparse

# --8<-- [start:setup]
import random
import numpy as np
import torch
from torch import nn


def seed_everything(seed: int) -> int:
    """Seed Python, NumPy and PyTorch; return the seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return seed


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_noisy_data(
    n_train: int, n_test: int, rng: np.random.Generator, noise: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """y = sin(2x) + noise on [-2, 2]: few training samples, many test samples."""
    X = rng.uniform(-2, 2, size=(n_train + n_test, 1))
    y = np.sin(2 * X[:, 0]) + noise * rng.normal(size=len(X))
    X_t = torch.tensor(X, dtype=torch.float32)
    y_t = torch.tensor(y, dtype=torch.float32).unsqueeze(1)
    return X_t[:n_train], y_t[:n_train], X_t[n_train:], y_t[n_train:]


# --8<-- [end:setup]

from snippets.common import make_parser, number, positive_int, run_cli  # noqa: E402


# --8<-- [start:scratch]
def inverted_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Zero each entry with probability p and scale the survivors by 1/(1-p) (training only)."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p must be in [0, 1), got {p}")
    if not training or p == 0.0:
        return x  # evaluation: the identity, nothing to rescale
    keep = (torch.rand_like(x) >= p).to(x.dtype)  # 1 with probability 1 - p
    return x * keep / (1.0 - p)


class ScratchDropout(nn.Module):
    """A drop-in replacement for nn.Dropout built on inverted_dropout."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return inverted_dropout(x, self.p, self.training)


# --8<-- [end:scratch]


# --8<-- [start:stats]
def dropout_statistics(layer: nn.Module, n: int = 100_000) -> dict[str, float]:
    """Apply a dropout layer to n ones: fraction zeroed, mean in train mode, max change in eval."""
    x = torch.ones(n)
    layer.train()
    y = layer(x)
    layer.eval()
    eval_change = (layer(x) - x).abs().max().item()
    return {"zeroed": (y == 0).float().mean().item(), "mean": y.mean().item(), "eval_change": eval_change}


# --8<-- [end:stats]


# --8<-- [start:torch]
def make_mlp(p: float, width: int = 128) -> nn.Sequential:
    """A wide two-hidden-layer MLP; dropout after each hidden activation (p=0: no dropout)."""
    return nn.Sequential(
        nn.Linear(1, width),
        nn.ReLU(),
        nn.Dropout(p),
        nn.Linear(width, width),
        nn.ReLU(),
        nn.Dropout(p),
        nn.Linear(width, 1),
    )


def train(model: nn.Sequential, data: tuple, steps: int = 1000, lr: float = 3e-3, every: int = 25):
    """Full-batch Adam on the MSE; record train and test MSE (in eval mode) every few steps."""
    device = pick_device()
    X_train, y_train, X_test, y_test = (t.to(device) for t in data)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for step in range(1, steps + 1):
        model.train()  # dropout on
        optimizer.zero_grad()
        nn.functional.mse_loss(model(X_train), y_train).backward()
        optimizer.step()
        if step % every == 0 or step == steps:
            model.eval()  # dropout off: the identity
            with torch.no_grad():
                history.append(
                    (
                        step,
                        nn.functional.mse_loss(model(X_train), y_train).item(),
                        nn.functional.mse_loss(model(X_test), y_test).item(),
                    )
                )
    return history


# --8<-- [end:torch]


def gap_experiment(seed: int, p: float = 0.5, steps: int = 1000, n_train: int = 20):
    """Train the same MLP with and without dropout; return both histories (step, train, test)."""
    results = {}
    for name, rate in [("no dropout", 0.0), (f"dropout p={p}", p)]:
        data = make_noisy_data(n_train, 1000, np.random.default_rng(seed))
        seed_everything(seed)  # same initial weights for both models
        results[name] = train(make_mlp(rate), data, steps=steps)
    return results


# --8<-- [start:solution-mc]
def mc_dropout_predict(
    model: nn.Module, x: torch.Tensor, samples: int = 50
) -> tuple[torch.Tensor, torch.Tensor]:
    """MC dropout: keep dropout on at test time, average many passes; the spread is an uncertainty."""
    model.train()
    with torch.no_grad():
        outputs = torch.stack([model(x) for _ in range(samples)])
    model.eval()
    return outputs.mean(dim=0), outputs.std(dim=0)


# --8<-- [end:solution-mc]


def plot_curves():
    """Train and test MSE against the step, with and without dropout."""
    import matplotlib.pyplot as plt

    results = gap_experiment(seed=0)
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for (name, history), color in zip(results.items(), ["#d95f02", "#1b6ca8"], strict=True):
        steps, train_mse, test_mse = zip(*history, strict=True)
        ax.plot(steps, train_mse, "--", color=color, label=f"{name}: train")
        ax.plot(steps, test_mse, "-", color=color, label=f"{name}: test")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("MSE")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {"dropout-curves": plot_curves}
# Points a figure may move between CPUs (tools/figures.py), measured with ATEN_CPU_CAPABILITY
# default, avx2 and avx512: the default level draws them differently; math.inf: only the labels are compared.
FIGURE_TOLERANCE = {"dropout-curves": math.inf}


# Lines of the recorded output whose numbers differ between CPUs by more than tests/test_outputs.py
# allows by default: without dropout the 20-sample fit ends in a different place on each CPU
# (test MSE 0.413-0.425, gap 0.367-0.387 across ATEN_CPU_CAPABILITY levels).
OUTPUT_TOLERANCE = {"   no dropout:": 0.15}


def report(args: argparse.Namespace) -> None:
    """Check the dropout statistics, then measure the train-test gap with and without dropout."""
    print(f"seed={args.seed} p={args.p} steps={args.steps} train_samples={args.train}")
    for name, layer in [("scratch", ScratchDropout(args.p)), ("nn.Dropout", nn.Dropout(args.p))]:
        stats = dropout_statistics(layer)
        print(
            f"{name:>10}: zeroed {stats['zeroed']:.3f}, train-mode mean {stats['mean']:.3f}, "
            f"eval-mode max change {stats['eval_change']:.1f}"
        )
    for name, history in gap_experiment(args.seed, args.p, args.steps, args.train).items():
        _, train_mse, test_mse = history[-1]
        print(
            f"{name:>13}: train MSE {train_mse:.3f}, test MSE {test_mse:.3f}, gap {test_mse - train_mse:.3f}"
        )


def probability(text: str) -> float:
    """argparse type: a dropout rate in [0, 1)."""
    value = number(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected 0 <= p < 1, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.regularization.dropout",
        "Inverted dropout from scratch vs nn.Dropout, and the train-test gap with and without it.",
    )
    parser.add_argument("--p", type=probability, default=0.5, help="dropout rate (default: 0.5)")
    parser.add_argument("--steps", type=positive_int, default=1000, help="training steps (default: 1000)")
    parser.add_argument("--train", type=positive_int, default=20, help="training samples (default: 20)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
