"""Learning-rate schedules: closed forms from scratch, torch.optim.lr_scheduler, and a fixed-budget test.

Run ``python -m snippets.optimization.learning_rate_schedules --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import math
from collections.abc import Callable

import numpy as np
import torch
from torch.optim import lr_scheduler


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


BASE_LR = 0.1  # the learning rate every schedule starts from (or peaks at)
EPOCHS = 30  # the budget: every schedule is stepped once per epoch
# --8<-- [end:setup]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402


# --8<-- [start:scratch]
def step_decay(t: int, lr: float, step_size: int, gamma: float) -> float:
    """Multiply by gamma every step_size epochs."""
    return lr * gamma ** (t // step_size)


def exponential(t: int, lr: float, gamma: float) -> float:
    """Multiply by gamma every epoch."""
    return lr * gamma**t


def polynomial(t: int, lr: float, total: int, power: float) -> float:
    """Decay to 0 along (1 - t / total)^power."""
    return lr * (1 - min(t, total) / total) ** power


def cosine(t: int, lr: float, total: int, lr_min: float = 0.0) -> float:
    """Half a cosine from lr down to lr_min over ``total`` epochs (Loshchilov & Hutter)."""
    return lr_min + (lr - lr_min) * (1 + math.cos(math.pi * t / total)) / 2


def warmup_cosine(t: int, lr: float, warmup: int, total: int, start_factor: float) -> float:
    """Linear warm-up from start_factor * lr to lr (Goyal et al.), then cosine decay."""
    if t < warmup:
        return lr * (start_factor + (1 - start_factor) * t / warmup)
    return cosine(t - warmup, lr, total - warmup)


def one_cycle(
    t: int, max_lr: float, total: int, pct_start: float = 0.3, div: float = 25.0, final_div: float = 1e4
) -> float:
    """Smith & Topin's one-cycle, as torch builds it: cosine up from max_lr / div to max_lr,
    then cosine down to max_lr / (div * final_div)."""
    start, low = max_lr / div, max_lr / (div * final_div)
    peak = pct_start * total - 1

    def anneal(a: float, b: float, fraction: float) -> float:
        return b + (a - b) * (1 + math.cos(math.pi * fraction)) / 2

    if t <= peak:
        return anneal(start, max_lr, t / peak)
    return anneal(max_lr, low, (t - peak) / (total - 1 - peak))


# --8<-- [end:scratch]


# --8<-- [start:plateau]
def plateau(
    losses: list[float], lr: float, factor: float = 0.1, patience: int = 10, threshold: float = 1e-4
) -> list[float]:
    """ReduceLROnPlateau's rule in "min" mode: after more than ``patience`` epochs without a
    relative improvement of ``threshold``, multiply lr by ``factor``. Returns lr after each epoch."""
    best, bad, lrs = math.inf, 0, []
    for value in losses:
        if value < best * (1 - threshold):
            best, bad = value, 0
        else:
            bad += 1
        if bad > patience:
            lr, bad = lr * factor, 0
        lrs.append(lr)
    return lrs


# --8<-- [end:plateau]


# --8<-- [start:torch]
def make_scheduler(name: str, optimizer: torch.optim.Optimizer, epochs: int = EPOCHS):
    """The torch.optim.lr_scheduler objects for each schedule on this page."""
    if name == "constant":
        return lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    if name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=epochs // 4, gamma=0.3)
    if name == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    if name == "polynomial":
        return lr_scheduler.PolynomialLR(optimizer, total_iters=epochs, power=2.0)
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "warm-up + cosine":
        warmup = epochs // 8
        return lr_scheduler.SequentialLR(
            optimizer,
            [
                lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=warmup),
                lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs - warmup),
            ],
            milestones=[warmup],
        )
    if name == "one-cycle":
        # cycle_momentum=False: otherwise OneCycleLR switches plain SGD to momentum 0.85-0.95
        return lr_scheduler.OneCycleLR(optimizer, max_lr=BASE_LR, total_steps=epochs, cycle_momentum=False)
    if name == "one-cycle, default momentum":  # what you get without cycle_momentum=False
        return lr_scheduler.OneCycleLR(optimizer, max_lr=BASE_LR, total_steps=epochs)
    if name == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.3, patience=3)
    raise ValueError(f"unknown schedule {name!r}")


def torch_lrs(name: str, epochs: int = EPOCHS) -> list[float]:
    """The learning rate torch uses in each epoch (no training: the schedule alone)."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=BASE_LR)
    scheduler = make_scheduler(name, optimizer, epochs)
    lrs = []
    for _ in range(epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


# --8<-- [end:torch]


# --8<-- [start:manual]
def scratch_lr(name: str, t: int, epochs: int = EPOCHS) -> float:
    """The learning rate of epoch ``t`` from the closed forms above (same settings as torch's)."""
    formulas = {
        "constant": lambda: BASE_LR,
        "step": lambda: step_decay(t, BASE_LR, epochs // 4, 0.3),
        "exponential": lambda: exponential(t, BASE_LR, 0.9),
        "polynomial": lambda: polynomial(t, BASE_LR, epochs, 2.0),
        "cosine": lambda: cosine(t, BASE_LR, epochs),
        "warm-up + cosine": lambda: warmup_cosine(t, BASE_LR, epochs // 8, epochs, 0.1),
        "one-cycle": lambda: one_cycle(t, BASE_LR, epochs),
    }
    return formulas[name]()


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the learning rate by hand: every parameter group reads group["lr"] at each step."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def scratch_lrs(name: str, epochs: int = EPOCHS) -> list[float]:
    """The whole schedule from the closed forms."""
    return [scratch_lr(name, t, epochs) for t in range(epochs)]


# --8<-- [end:manual]


SCHEDULES = [
    "constant",
    "step",
    "exponential",
    "polynomial",
    "cosine",
    "warm-up + cosine",
    "one-cycle",
    "plateau",
]


# --8<-- [start:noisy-problem]
def make_problem(seed: int, n_samples: int = 128, n_features: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """Linear regression with label noise (standard deviation 1): mini-batch gradients are noisy."""
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n_samples, n_features, generator=generator)
    w = torch.randn(n_features, 1, generator=generator)
    y = X @ w + torch.randn(n_samples, 1, generator=generator)
    return X, y


def train(
    name: str,
    seed: int,
    epochs: int = EPOCHS,
    batch_size: int = 16,
    lr: float = BASE_LR,
    manual: bool = False,
) -> tuple[list[float], list[float]]:
    """Mini-batch SGD on the noisy problem with one schedule, from torch's scheduler or (manual=True)
    set by hand from the closed forms. Returns the full-data loss after each epoch and the
    learning rate used in each epoch."""
    device = pick_device()
    X, y = (tensor.to(device) for tensor in make_problem(seed))
    torch.manual_seed(seed)
    model = torch.nn.Linear(X.shape[1], 1).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = None if manual else make_scheduler(name, optimizer, epochs)
    losses, lrs = [], []
    for epoch in range(epochs):
        if manual:
            set_lr(optimizer, scratch_lr(name, epoch, epochs))
        lrs.append(optimizer.param_groups[0]["lr"])
        for batch in torch.randperm(len(X), device=device).split(batch_size):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(X[batch]), y[batch]).backward()
            optimizer.step()
        with torch.no_grad():
            losses.append(torch.nn.functional.mse_loss(model(X), y).item())
        if scheduler is None:
            continue
        if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
            scheduler.step(losses[-1])  # it needs the metric it watches
        else:
            scheduler.step()  # after optimizer.step(), once per epoch here
    return losses, lrs


def best_possible_loss(seed: int) -> float:
    """Training loss of the exact least-squares fit (with an intercept)."""
    X, y = make_problem(seed)
    design = torch.cat([X, torch.ones(len(X), 1)], dim=1).double()
    solution = torch.linalg.lstsq(design, y.double()).solution
    return torch.mean((design @ solution - y.double()) ** 2).item()


# --8<-- [end:noisy-problem]


# --8<-- [start:solution-lambda]
def warmup_cosine_factor(warmup: int, total: int, start_factor: float) -> Callable[[int], float]:
    """The warm-up + cosine schedule as one multiplier function for LambdaLR."""
    return lambda t: warmup_cosine(t, 1.0, warmup, total, start_factor)


# --8<-- [end:solution-lambda]


# --8<-- [start:solution-restarts]
def cosine_with_restarts(t: int, lr: float, first_period: int, multiplier: int = 2) -> float:
    """SGDR: cosine decay that restarts at lr, each period ``multiplier`` times longer."""
    period = first_period
    while t >= period:
        t -= period
        period *= multiplier
    return cosine(t, lr, period)


# --8<-- [end:solution-restarts]


def plot_shapes():
    """One panel per schedule; the plateau schedule is driven by a real training run."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(11, 4.6), sharex=True, sharey=True)
    for ax, name in zip(axes.ravel(), SCHEDULES, strict=True):
        lrs = train(name, 0)[1] if name == "plateau" else torch_lrs(name)
        ax.plot(range(EPOCHS), lrs, ".-", color="#1b6ca8", ms=3, lw=1.2)
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("learning rate")
    fig.tight_layout()
    return fig


def plot_budget():
    """Full-data loss per epoch under a constant rate, step decay and cosine decay (seed 0)."""
    import matplotlib.pyplot as plt

    best = best_possible_loss(0)
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name, color in [
        ("constant", "#666666"),
        ("step", "#d95f02"),
        ("cosine", "#1b9e77"),
        ("one-cycle", "#7570b3"),
    ]:
        losses, _ = train(name, 0)
        ax.semilogy(range(1, EPOCHS + 1), np.array(losses) - best, color=color, label=name)
    ax.set(
        xlabel="epoch", ylabel="loss - least-squares loss", title=f"mini-batch SGD, lr = {BASE_LR}, B = 16"
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {"schedules-shapes": plot_shapes, "schedules-budget": plot_budget}


def report(args: argparse.Namespace) -> None:
    """Train with each schedule on the same budget and compare the final losses."""
    print(f"seed={args.seed} epochs={args.epochs} base lr={BASE_LR} batch size 16")
    best = best_possible_loss(args.seed)
    print(f"least-squares training loss: {best:.4f}")
    print("schedule            final loss   excess over least squares   last lr")
    for name in SCHEDULES:
        losses, lrs = train(name, args.seed, args.epochs)
        print(f"  {name:<17} {losses[-1]:10.4f} {losses[-1] - best:27.2e} {lrs[-1]:9.2e}")


def budget(text: str) -> int:
    """argparse type: at least 8 epochs, so every schedule has room for its phases."""
    value = positive_int(text)
    if value < 8:
        raise argparse.ArgumentTypeError(f"expected at least 8 epochs, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.optimization.learning_rate_schedules",
        "Compare learning-rate schedules on a fixed budget of mini-batch SGD.",
    )
    parser.add_argument(
        "--epochs", type=budget, default=EPOCHS, help=f"budget in epochs, >= 8 (default: {EPOCHS})"
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
