"""An end-to-end image-recognition project on scikit-learn's 8x8 digits, with no download.

Split, augment, train a small CNN with early stopping, pick hyper-parameters on the
validation set, evaluate once on the test set, look at the errors, save and reload safely.
Run ``python -m snippets.projects.image_recognition --help`` for the options.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.metrics import classification_report, confusion_matrix
from sklearn.model_selection import train_test_split
from torch import nn

from snippets.common import make_parser, pick_device, positive_int, run_cli

N_CLASSES = 10


# --8<-- [start:data]
@dataclass
class Split:
    """Images as float tensors of shape (N, 1, 8, 8) in [0, 1], labels as int64 tensors."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_split(seed: int, val_fraction: float = 0.2, test_fraction: float = 0.2) -> Split:
    """Stratified train / validation / test split of the 1,797 digits (60/20/20 by default)."""
    digits = load_digits()
    images = digits.images.astype(np.float32) / 16.0  # pixel values 0..16 -> 0..1
    labels = digits.target.astype(np.int64)
    x_rest, x_test, y_rest, y_test = train_test_split(
        images, labels, test_size=test_fraction, stratify=labels, random_state=seed
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest,
        y_rest,
        test_size=val_fraction / (1 - test_fraction),  # a fraction of what is left
        stratify=y_rest,
        random_state=seed,
    )

    def as_tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)

    return Split(*as_tensors(x_train, y_train), *as_tensors(x_val, y_val), *as_tensors(x_test, y_test))


# --8<-- [end:data]


# --8<-- [start:augment]
def augment(
    images: torch.Tensor,
    generator: torch.Generator,
    max_degrees: float = 10.0,
    max_shift: float = 1.0,
) -> torch.Tensor:
    """Rotate each image by up to ``max_degrees`` and shift it by up to ``max_shift`` pixels.

    One random affine map per image, applied with bilinear resampling; pixels that come
    from outside the image are 0 (background), so values stay in [0, 1].
    """
    n, _, height, width = images.shape
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(max_degrees)
    # affine_grid works in coordinates from -1 to 1, where one pixel is 2 / size
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * max_shift
    tx, ty = shift[:, 0] * 2 / width, shift[:, 1] * 2 / height
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta.to(images), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


# --8<-- [end:augment]


# --8<-- [start:model]
def build_cnn(width: int = 16, dropout: float = 0.25) -> nn.Sequential:
    """Two conv blocks (8x8 -> 4x4 -> 2x2) and a linear classifier."""
    return nn.Sequential(
        nn.Conv2d(1, width, kernel_size=3, padding=1),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 8x8 -> 4x4
        nn.Conv2d(width, 2 * width, kernel_size=3, padding=1),
        nn.BatchNorm2d(2 * width),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 4x4 -> 2x2
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(2 * width * 2 * 2, N_CLASSES),
    )


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --8<-- [end:model]


# --8<-- [start:train]
@dataclass
class History:
    """What happened during training, epoch by epoch."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    best_epoch: int = -1  # 0-based index of the epoch whose weights were kept
    stopped_early: bool = False

    @property
    def best_val_loss(self) -> float:
        return self.val_loss[self.best_epoch]


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy, in eval mode (dropout off), no augmentation."""
    model.eval()
    device = next(model.parameters()).device
    logits = model(x.to(device))
    loss = F.cross_entropy(logits, y.to(device)).item()
    accuracy = (logits.argmax(1).cpu() == y).float().mean().item()
    return loss, accuracy


def train_with_early_stopping(
    model: nn.Module,
    split: Split,
    lr: float,
    max_epochs: int = 40,
    patience: int = 5,
    batch_size: int = 64,
    use_augmentation: bool = True,
    seed: int = 0,
) -> History:
    """Adam on cross-entropy; stop after ``patience`` epochs without a lower validation loss,
    then restore the weights of the best epoch."""
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)  # batch order and augmentation
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = History()
    best_state = copy.deepcopy(model.state_dict())
    for epoch in range(max_epochs):
        model.train()
        order = torch.randperm(len(split.x_train), generator=generator)
        total = 0.0
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            x = split.x_train[batch]
            if use_augmentation:
                x = augment(x, generator)
            loss = F.cross_entropy(model(x.to(device)), split.y_train[batch].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        val_loss, val_accuracy = evaluate(model, split.x_val, split.y_val)
        history.train_loss.append(total / len(order))
        history.val_loss.append(val_loss)
        history.val_accuracy.append(val_accuracy)
        if history.best_epoch < 0 or val_loss < history.best_val_loss:
            history.best_epoch = epoch
            best_state = copy.deepcopy(model.state_dict())  # a copy, not a reference
        elif epoch - history.best_epoch >= patience:
            history.stopped_early = True
            break
    model.load_state_dict(best_state)
    model.eval()
    return history


# --8<-- [end:train]


# --8<-- [start:search]
@dataclass(frozen=True)
class Config:
    lr: float
    width: int


@dataclass
class Trial:
    config: Config
    history: History
    val_loss: float
    val_accuracy: float
    model: nn.Module


SMALL_GRID = [Config(3e-3, 8), Config(1e-2, 8), Config(1e-2, 16)]


def search(
    configs: Sequence[Config],
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    seed: int,
    max_epochs: int = 30,
    patience: int = 5,
) -> tuple[Trial, list[Trial]]:
    """Train one model per config; pick the highest validation accuracy (ties: lower
    validation loss). The test set is not an argument, so it cannot leak into the choice."""
    device = pick_device()
    no_test = torch.empty(0, 1, 8, 8), torch.empty(0, dtype=torch.int64)
    split = Split(x_train, y_train, x_val, y_val, *no_test)
    trials = []
    for config in configs:
        torch.manual_seed(seed)  # same initialisation rule for every config
        model = build_cnn(config.width).to(device)
        history = train_with_early_stopping(model, split, config.lr, max_epochs, patience, seed=seed)
        val_loss, val_accuracy = evaluate(model, x_val, y_val)
        trials.append(Trial(config, history, val_loss, val_accuracy, model))
    best = max(trials, key=lambda t: (t.val_accuracy, -t.val_loss))
    return best, trials


def describe(trial: Trial) -> str:
    """One line per trial: the config and its validation accuracy.

    The epoch at which early stopping fired is not printed: it hangs on tiny differences
    between validation losses, so it changes from one CPU to another (see ``trial.history``).
    """
    return f"lr={trial.config.lr:g} width={trial.config.width:>2}: val accuracy {trial.val_accuracy:.3f}"


# --8<-- [end:search]


# --8<-- [start:evaluate]
@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    device = next(model.parameters()).device
    return model(x.to(device)).argmax(1).cpu().numpy()


def evaluate_on_test(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, np.ndarray, str]:
    """Test accuracy, confusion matrix (rows: true, columns: predicted), per-class report."""
    predicted = predict(model, x)
    truth = y.numpy()
    accuracy = float((predicted == truth).mean())
    matrix = confusion_matrix(truth, predicted, labels=list(range(N_CLASSES)))
    report = classification_report(truth, predicted, digits=3, zero_division=0)
    return accuracy, matrix, report


# --8<-- [end:evaluate]


# --8<-- [start:save]
def save_model(model: nn.Module, config: Config, folder: Path) -> None:
    """Weights as a state_dict (tensors only) plus the config needed to rebuild the model."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), folder / "weights.pt")
    (folder / "config.json").write_text(json.dumps(asdict(config)))


def load_model(folder: Path) -> nn.Module:
    """Rebuild the architecture from code, then load tensors only (no pickled objects)."""
    config = Config(**json.loads((folder / "config.json").read_text()))
    model = build_cnn(config.width)
    state = torch.load(folder / "weights.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()


# --8<-- [end:save]


# --8<-- [start:solution-pairs]
def most_confused_pairs(matrix: np.ndarray, k: int = 3) -> list[tuple[int, int, int]]:
    """Up to ``k`` largest non-zero off-diagonal cells as (true class, predicted class, count)."""
    off_diagonal = matrix.copy()
    np.fill_diagonal(off_diagonal, 0)
    order = np.argsort(off_diagonal, axis=None, kind="stable")[::-1][:k]
    rows, cols = np.unravel_index(order, matrix.shape)
    pairs = [(int(r), int(c), int(off_diagonal[r, c])) for r, c in zip(rows, cols, strict=True)]
    return [pair for pair in pairs if pair[2] > 0]


# --8<-- [end:solution-pairs]


# --8<-- [start:solution-flip]
def accuracy_under(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor]
) -> float:
    """Accuracy of ``model`` on transformed copies of the images."""
    return float((predict(model, transform(x)) == y.numpy()).mean())


def horizontal_flip(x: torch.Tensor) -> torch.Tensor:
    return torch.flip(x, dims=[-1])  # mirror left-right


# --8<-- [end:solution-flip]


def misclassified(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Images the model gets wrong, with their true and predicted labels."""
    predicted = predict(model, x)
    wrong = np.flatnonzero(predicted != y.numpy())
    return x[wrong], y.numpy()[wrong], predicted[wrong]


# Figures (shown inline in the notebook).
def plot_augmented(images: torch.Tensor, seed: int = 0, copies: int = 5):
    """Each row: one original image, then ``copies`` random augmentations of it."""
    import matplotlib.pyplot as plt

    generator = torch.Generator().manual_seed(seed)
    fig, axes = plt.subplots(len(images), copies + 1, figsize=(1.1 * (copies + 1), 1.1 * len(images)))
    for row, image in enumerate(images):
        versions = [image] + [augment(image[None], generator)[0] for _ in range(copies)]
        for col, version in enumerate(versions):
            ax = axes[row, col]
            ax.imshow(version[0].numpy(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel("original" if row == 0 else "")
    fig.tight_layout()
    return fig


def plot_learning_curves(history: History):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    epochs = np.arange(1, len(history.val_loss) + 1)
    ax.plot(epochs, history.train_loss, label="train (augmented)")
    ax.plot(epochs, history.val_loss, label="validation")
    ax.axvline(
        history.best_epoch + 1, color="gray", linestyle="--", label=f"best epoch {history.best_epoch + 1}"
    )
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_confusion(matrix: np.ndarray):
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ConfusionMatrixDisplay(matrix, display_labels=list(range(N_CLASSES))).plot(
        ax=ax, colorbar=False, cmap="Blues"
    )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.tight_layout()
    return fig


def plot_misclassified(images: torch.Tensor, truth: np.ndarray, predicted: np.ndarray, columns: int = 8):
    import matplotlib.pyplot as plt

    n = max(len(images), 1)
    columns = min(columns, n)
    rows = math.ceil(n / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.2 * columns, 1.4 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            ax.imshow(images[i, 0].numpy(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_title(f"{truth[i]} → {predicted[i]}", fontsize=9)
    fig.tight_layout()
    return fig


FULL_GRID = [Config(lr, width) for lr in (1e-3, 3e-3, 1e-2) for width in (8, 16, 32)]


# Lines of the recorded output whose numbers differ between CPUs (tests/test_outputs.py): the
# validation accuracies of the configs can be a few digits apart, so which one wins may change.
OUTPUT_TOLERANCE = {"chosen on validation": math.inf}


def report(args: argparse.Namespace) -> None:
    """Run the whole project and print each step's numbers."""
    split = load_split(args.seed)
    print(f"seed={args.seed} train={len(split.x_train)} val={len(split.x_val)} test={len(split.x_test)}")
    grid = FULL_GRID if args.grid == "full" else SMALL_GRID
    best, trials = search(
        grid, split.x_train, split.y_train, split.x_val, split.y_val, args.seed, args.epochs, args.patience
    )
    for trial in trials:
        print(describe(trial))
    print(f"chosen on validation: lr={best.config.lr:g} width={best.config.width}")
    accuracy, matrix, _ = evaluate_on_test(best.model, split.x_test, split.y_test)
    print(f"test accuracy {accuracy:.3f} ({int(matrix.trace())}/{matrix.sum()} correct)")
    with tempfile.TemporaryDirectory() as folder:
        save_model(best.model, best.config, Path(folder))
        reloaded = load_model(Path(folder))
        same = np.array_equal(
            predict(reloaded.to(pick_device()), split.x_test), predict(best.model, split.x_test)
        )
    print(f"reloaded model gives identical test predictions: {same}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.projects.image_recognition",
        "Train, tune, evaluate and save a small CNN on scikit-learn's 8x8 digits.",
    )
    parser.add_argument(
        "--epochs", type=positive_int, default=30, help="most epochs per config (default: 30)"
    )
    parser.add_argument(
        "--patience", type=positive_int, default=5, help="early-stopping patience (default: 5)"
    )
    parser.add_argument(
        "--grid",
        choices=["small", "full"],
        default="small",
        help="3 configs (small) or 3 lr x 3 widths (full)",
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
