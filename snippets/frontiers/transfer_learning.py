"""Transfer learning: pre-train a small CNN on digits 0-4, reuse it for digits 5-9 with few labels.

Run ``python -m snippets.frontiers.transfer_learning --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:data]
from collections.abc import Iterator
from contextlib import contextmanager
import copy

import numpy as np
import torch
from sklearn.datasets import load_digits
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


SOURCE_CLASSES, TARGET_CLASSES = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)


def load_task(classes: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """8x8 digit images of the given classes as (n, 1, 8, 8) in [0, 1], labels 0..len(classes)-1."""
    digits = load_digits()
    keep = np.isin(digits.target, classes)
    images = torch.tensor(digits.images[keep] / 16.0, dtype=torch.float32).unsqueeze(1)
    labels = torch.tensor(np.searchsorted(classes, digits.target[keep]))
    return images, labels


def few_labels(
    labels: torch.Tensor, per_class: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of ``per_class`` labelled examples per class, and of all the others (the test set)."""
    chosen = np.concatenate(
        [rng.choice(np.flatnonzero(labels.numpy() == c), per_class, replace=False) for c in labels.unique()]
    )
    return chosen, np.setdiff1d(np.arange(len(labels)), chosen)


# --8<-- [end:data]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402


# --8<-- [start:model]
def make_backbone() -> nn.Sequential:
    """Two convolutions and a pooling step: 8x8 image -> 512 features (32 maps of 4x4)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
    )


def make_model(n_classes: int = 5) -> nn.Sequential:
    """Backbone (index 0) followed by a linear classification head (index 1)."""
    return nn.Sequential(make_backbone(), nn.Linear(512, n_classes))


def random_shift(x: torch.Tensor) -> torch.Tensor:
    """Data augmentation: move the whole batch by up to one pixel in each direction."""
    dx, dy = torch.randint(-1, 2, (2,)).tolist()
    return torch.roll(x, (dx, dy), dims=(2, 3))


def train(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    lr: float,
    batch: int = 64,
    augment: bool = False,
) -> nn.Module:
    """Adam on the cross-entropy; only parameters with ``requires_grad`` are updated."""
    device = pick_device()
    model.to(device)
    x, y = x.to(device), y.to(device)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    for _ in range(steps):
        idx = torch.randint(len(x), (min(batch, len(x)),), device=device)
        inputs = random_shift(x[idx]) if augment else x[idx]
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(inputs), y[idx]).backward()
        optimizer.step()
    return model


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    device = next(model.parameters()).device
    with torch.no_grad():
        return (model(x.to(device)).argmax(1).cpu() == y).float().mean().item()


# --8<-- [end:model]


# --8<-- [start:transfer]
def pretrain(seed: int, steps: int = 250) -> nn.Sequential:
    """Train on the source task: digits 0-4, all ~900 labelled images, shifted at random."""
    torch.manual_seed(seed)
    x, y = load_task(SOURCE_CLASSES)
    return train(make_model(), x, y, steps, lr=1e-3, augment=True)


LEARNING_RATES = {"scratch": 1e-3, "features": 3e-3, "finetune": 1e-3}  # small steps keep the features


def adapt(
    pretrained: nn.Sequential | None, strategy: str, x: torch.Tensor, y: torch.Tensor, steps: int = 60
) -> nn.Sequential:
    """Build a model for the target task and train it with one of three strategies.

    - ``scratch``: new random backbone and head, everything trained;
    - ``features``: copy the pre-trained backbone, freeze it, train only a new head;
    - ``finetune``: copy the pre-trained backbone, train it and a new head.
    """
    model = make_model()
    if strategy != "scratch":
        model[0] = copy.deepcopy(pretrained[0])  # reuse the learnt features
    if strategy == "features":
        model[0].requires_grad_(False)  # frozen: the optimiser never sees these parameters
    return train(model, x, y, steps, lr=LEARNING_RATES[strategy])


# --8<-- [end:transfer]

STRATEGIES = ("scratch", "features", "finetune")


def compare(
    seed: int,
    per_class: tuple[int, ...],
    draws: int = 5,
    pretrained: nn.Sequential | None = None,
    pretrain_steps: int = 250,
) -> dict[str, list[float]]:
    """Mean target-task test accuracy of the three strategies for each number of labels per class.

    Each of the ``draws`` random choices of labelled images is used by all three strategies, with
    the same initial head, so the differences between strategies are paired.
    """
    with one_thread():
        pretrained = pretrained if pretrained is not None else pretrain(seed, pretrain_steps)
        x, y = load_task(TARGET_CLASSES)
        results: dict[str, list[float]] = {s: [] for s in STRATEGIES}
        for k in per_class:
            scores: dict[str, list[float]] = {s: [] for s in STRATEGIES}
            for draw in range(draws):
                labelled, test = few_labels(y, k, np.random.default_rng(1000 * seed + 100 * k + draw))
                for strategy in STRATEGIES:
                    torch.manual_seed(1000 * seed + draw)
                    model = adapt(pretrained, strategy, x[labelled], y[labelled])
                    scores[strategy].append(accuracy(model, x[test], y[test]))
            for strategy in STRATEGIES:
                results[strategy].append(float(np.mean(scores[strategy])))
    return results


# --8<-- [start:solution-frozen]
def changed_parameters(before: nn.Module, after: nn.Module) -> list[str]:
    """Names of parameters whose values differ between two copies of a model."""
    old = dict(before.named_parameters())
    return [name for name, p in after.named_parameters() if not torch.equal(p.cpu(), old[name].cpu())]


# --8<-- [end:solution-frozen]

FIGURE_LABELS = (1, 3, 10)


def plot_accuracy_vs_labels():
    """Test accuracy on digits 5-9 against labelled examples per class, for the three strategies."""
    import matplotlib.pyplot as plt

    results = compare(0, FIGURE_LABELS)
    fig, ax = plt.subplots(figsize=(6, 3.8))
    styles = {"scratch": ("#d95f02", "o"), "features": ("#7570b3", "s"), "finetune": ("#1b6ca8", "^")}
    for strategy, accuracies in results.items():
        color, marker = styles[strategy]
        ax.plot(FIGURE_LABELS, accuracies, marker=marker, color=color, label=strategy)
    ax.set_xscale("log")
    ax.set_xticks(FIGURE_LABELS, [str(k) for k in FIGURE_LABELS])
    ax.set_xlabel("labelled examples per class (digits 5-9)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.axhline(0.2, color="grey", ls=":", lw=1)
    ax.legend()
    fig.tight_layout()
    return fig


FIGURES = {"transfer-learning-accuracy": plot_accuracy_vs_labels}


def report(args: argparse.Namespace) -> None:
    """Pre-train once, then compare the three strategies for each label budget, over several draws."""
    per_class = tuple(args.labels)
    if max(per_class) > 100:
        raise ValueError("--labels: at most 100 per class (the classes have ~180 images)")
    print(
        f"seed={args.seed} pretrain_steps={args.pretrain_steps} draws={args.draws} "
        f"source={SOURCE_CLASSES} target={TARGET_CLASSES}"
    )
    results = compare(args.seed, per_class, args.draws, pretrain_steps=args.pretrain_steps)
    print("mean test accuracy over the draws; gain = transfer minus scratch (paired)")
    header = "".join(f"{s:>10}" for s in STRATEGIES) + f"{'gain feat':>11}{'gain fine':>11}"
    print(f"{'labels/class':<14}" + header)
    for i, k in enumerate(per_class):
        row = "".join(f"{results[s][i]:>10.3f}" for s in STRATEGIES)
        gains = [results[s][i] - results["scratch"][i] for s in ("features", "finetune")]
        print(f"{k:<14}" + row + "".join(f"{g:>+11.3f}" for g in gains))


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.frontiers.transfer_learning",
        "Compare training from scratch, feature extraction and fine-tuning with few labels.",
    )
    parser.add_argument(
        "--labels",
        type=positive_int,
        nargs="+",
        default=[1, 3],
        help="labels per class (default: 1 3)",
    )
    parser.add_argument(
        "--pretrain-steps", type=positive_int, default=250, help="source-task steps (default: 250)"
    )
    parser.add_argument(
        "--draws",
        type=positive_int,
        default=5,
        help="random draws of the labelled images, averaged (default: 5)",
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
