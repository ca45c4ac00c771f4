"""Normalization and residual connections: BatchNorm, LayerNorm and RMSNorm from scratch,
checked against torch.nn, and a 50-layer MLP that trains only with pre-LN residual blocks.

Run ``python -m snippets.optimization.normalization --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn


@contextmanager
def one_thread() -> Iterator[None]:
    """Run PyTorch on one CPU thread (faster for these tiny layers), then restore the setting."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# --8<-- [end:setup]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402


# --8<-- [start:batchnorm]
class BatchNorm(nn.Module):
    """Ioffe & Szegedy (2015) for inputs of shape (batch, features), as nn.BatchNorm1d computes it.

    Training: normalise each feature with the mean and (biased) variance of the current batch,
    and fold them into running averages. Evaluation: normalise with the running averages.
    """

    def __init__(self, features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(features))  # gamma
        self.bias = nn.Parameter(torch.zeros(features))  # beta
        self.register_buffer("running_mean", torch.zeros(features))
        self.register_buffer("running_var", torch.ones(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError("BatchNorm needs at least 2 examples per batch in training mode")
            mean = x.mean(dim=0)
            var = x.var(dim=0, correction=0)  # divide by n to normalise ...
            with torch.no_grad():
                m = self.momentum
                self.running_mean = (1 - m) * self.running_mean + m * mean
                self.running_var = (1 - m) * self.running_var + m * var * n / (n - 1)  # ... store n - 1
        else:
            mean, var = self.running_mean, self.running_var
        return self.weight * (x - mean) / torch.sqrt(var + self.eps) + self.bias


# --8<-- [end:batchnorm]


# --8<-- [start:layernorm]
class LayerNorm(nn.Module):
    """Ba, Kiros & Hinton (2016): normalise each example over its own features (the last axis).
    No batch statistics, so training and evaluation compute the same thing."""

    def __init__(self, features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(features))
        self.bias = nn.Parameter(torch.zeros(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, correction=0)
        return self.weight * (x - mean) / torch.sqrt(var + self.eps) + self.bias


# --8<-- [end:layernorm]


# --8<-- [start:rmsnorm]
class RMSNorm(nn.Module):
    """Zhang & Sennrich (2019): LayerNorm without the mean: divide by the root mean square.
    One reduction instead of two, and no bias."""

    def __init__(self, features: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rms = torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return self.weight * x / rms


# --8<-- [end:rmsnorm]


# --8<-- [start:block]
class Block(nn.Module):
    """One hidden layer of width ``width``.

    residual=True, norm=nn.LayerNorm: the pre-LN residual block  x + W relu(norm(x)) + b.
    residual=False, norm=None:        a plain layer              W relu(x) + b.
    ``norm`` is a class: nn.LayerNorm, nn.RMSNorm, or our LayerNorm (slower than the fused one).
    """

    def __init__(
        self, width: int, residual: bool = True, norm: type[nn.Module] | None = nn.LayerNorm
    ) -> None:
        super().__init__()
        self.residual = residual
        self.norm = norm(width) if norm is not None else nn.Identity()
        self.linear = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = self.linear(torch.relu(self.norm(x)))
        return x + update if self.residual else update


def deep_mlp(
    depth: int = 50,
    width: int = 32,
    residual: bool = True,
    norm: type[nn.Module] | None = nn.LayerNorm,
    seed: int = 0,
    inputs: int = 64,
    classes: int = 10,
) -> nn.Sequential:
    """Input layer, ``depth`` blocks, a final norm (as pre-LN Transformers have), output layer."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(inputs, width),
        *(Block(width, residual, norm) for _ in range(depth)),
        norm(width) if norm is not None else nn.Identity(),
        nn.ReLU(),
        nn.Linear(width, classes),
    )


# --8<-- [end:block]


# --8<-- [start:library]
def copy_parameters(source: nn.Module, target: nn.Module) -> None:
    """Give ``target`` the parameters and running statistics of ``source`` (same names)."""
    target.load_state_dict(source.state_dict(), strict=False)  # nn.BatchNorm1d also counts batches


def compare_with_torch(seed: int = 0, features: int = 6) -> dict[str, float]:
    """Largest absolute difference between each from-scratch layer and torch.nn, in float64.

    The inputs have feature scales from 0.003 to 3, so where eps goes matters, and the affine
    parameters are random, so a layer that ignored them would fail.
    """
    generator = torch.Generator().manual_seed(seed)

    def batch(*shape: int) -> torch.Tensor:
        scales = torch.logspace(-2.5, 0.5, features, dtype=torch.float64)
        shift = torch.randn(features, generator=generator, dtype=torch.float64)
        return shift + scales * torch.randn(*shape, features, generator=generator, dtype=torch.float64)

    pairs = {
        "BatchNorm1d": (BatchNorm(features), nn.BatchNorm1d(features)),
        "LayerNorm": (LayerNorm(features), nn.LayerNorm(features)),
        "RMSNorm": (RMSNorm(features, eps=1e-6), nn.RMSNorm(features, eps=1e-6)),
    }
    gaps = {}
    for name, (ours, theirs) in pairs.items():
        ours, theirs = ours.double(), theirs.double()
        with torch.no_grad():
            for parameter in ours.parameters():
                parameter.copy_(
                    1 + 0.5 * torch.randn(parameter.shape, generator=generator, dtype=torch.float64)
                )
        copy_parameters(ours, theirs)
        if name != "BatchNorm1d":
            x = batch(4, 5)  # (batch, sequence, features): both normalise over the last axis
            gaps[name] = (ours(x) - theirs(x)).abs().max().item()
            continue
        train_gap = 0.0
        for _ in range(3):  # three training steps: batch statistics, running averages updated
            x = batch(16)
            train_gap = max(train_gap, (ours(x) - theirs(x)).abs().max().item())
        gaps["BatchNorm1d, training mode"] = train_gap
        gaps["  running mean"] = (ours.running_mean - theirs.running_mean).abs().max().item()
        gaps["  running variance"] = (ours.running_var - theirs.running_var).abs().max().item()
        ours.eval(), theirs.eval()
        x = batch(16)
        gaps["BatchNorm1d, evaluation mode"] = (ours(x) - theirs(x)).abs().max().item()
    return gaps


# --8<-- [end:library]


# --8<-- [start:data]
def digits(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The 8x8 digits bundled with scikit-learn: 70% training, 30% test, pixels standardised."""
    images, labels = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=0.3, random_state=seed, stratify=labels
    )
    scaler = StandardScaler().fit(x_train)

    def to_tensor(x):
        return torch.tensor(scaler.transform(x), dtype=torch.float32)

    return to_tensor(x_train), torch.tensor(y_train), to_tensor(x_test), torch.tensor(y_test)


def train(
    model: nn.Module, data: tuple, steps: int = 60, batch_size: int = 64, lr: float = 0.02, seed: int = 0
) -> float:
    """Mini-batch SGD with momentum 0.9 on the training split; return the test accuracy."""
    x_train, y_train, x_test, y_test = data
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    with one_thread():
        for _ in range(steps):
            rows = torch.randint(len(x_train), (batch_size,), generator=generator)
            loss = nn.functional.cross_entropy(model(x_train[rows]), y_train[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        return (model(x_test).argmax(dim=1) == y_test).float().mean().item()


# --8<-- [end:data]


# --8<-- [start:spread]
@torch.no_grad()
def spread_by_depth(model: nn.Sequential, x: torch.Tensor) -> list[float]:
    """After each block: how much the hidden vectors of different inputs differ
    (standard deviation over the batch, averaged over the features)."""
    hidden, spreads = model[0](x), []
    with one_thread():
        for layer in model[1:]:
            if not isinstance(layer, Block):
                break
            hidden = layer(hidden)
            spreads.append(hidden.std(dim=0).mean().item())
    return spreads


def gradient_by_depth(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """The norm of the loss gradient with respect to each block's weight matrix."""
    model.zero_grad()
    with one_thread():
        nn.functional.cross_entropy(model(x), y).backward()
    return [layer.linear.weight.grad.norm().item() for layer in model if isinstance(layer, Block)]


# --8<-- [end:spread]


# --8<-- [start:solution-fold]
def fold_batchnorm(linear: nn.Linear, bn: nn.BatchNorm1d) -> nn.Linear:
    """One nn.Linear that computes bn(linear(x)) in evaluation mode: BatchNorm is then an
    affine map with fixed numbers, so it merges into the weights and bias before it."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # one factor per output feature
    folded = nn.Linear(linear.in_features, linear.out_features)
    with torch.no_grad():
        folded.weight.copy_(linear.weight * scale[:, None])
        folded.bias.copy_((linear.bias - bn.running_mean) * scale + bn.bias)
    return folded


# --8<-- [end:solution-fold]


# --8<-- [start:solution-invariance]
def invariance_gaps(x: torch.Tensor, factor: float = 3.0, shift: float = 2.0) -> dict[str, float]:
    """Largest change in the output when every example is scaled by ``factor`` or shifted by
    ``shift`` (the same number added to all its features)."""
    layers = {"LayerNorm": LayerNorm(x.shape[-1], eps=0.0), "RMSNorm": RMSNorm(x.shape[-1], eps=0.0)}
    gaps = {}
    for name, layer in layers.items():
        base = layer(x)
        gaps[f"{name}, scaled"] = (layer(factor * x) - base).abs().max().item()
        gaps[f"{name}, shifted"] = (layer(x + shift) - base).abs().max().item()
    return gaps


# --8<-- [end:solution-invariance]


# --8<-- [start:batch-dependence]
def batch_dependence(seed: int = 0, features: int = 4) -> dict[str, float]:
    """How much one example's BatchNorm output changes when its batch mates are replaced."""
    generator = torch.Generator().manual_seed(seed)
    bn = nn.BatchNorm1d(features)
    with torch.no_grad():  # running statistics as if trained for a while
        bn.running_mean.copy_(torch.randn(features, generator=generator))
        bn.running_var.copy_(torch.rand(features, generator=generator) + 0.5)
    example = torch.randn(1, features, generator=generator)
    batch_a = torch.cat([example, torch.randn(7, features, generator=generator)])
    batch_b = torch.cat([example, 3 + torch.randn(7, features, generator=generator)])
    changes = {}
    for mode in ("training", "evaluation"):
        bn.train(mode == "training")
        with torch.no_grad():
            changes[mode] = (bn(batch_a)[0] - bn(batch_b)[0]).abs().max().item()
    return changes


# --8<-- [end:batch-dependence]


def plot_depth() -> object:
    """Left: spread of the hidden vectors along depth (in float64, so that the plain MLP's
    curve is not cut off by float32's resolution). Right: gradient norm of each block's weights."""
    import matplotlib.pyplot as plt

    x_train, y_train, _, _ = digits(0)
    x, y = x_train[:256].double(), y_train[:256]
    colors = {"plain MLP": "#666666", "residual, no norm": "#d95f02", "pre-LN residual": "#1b9e77"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.0))
    with one_thread():
        for name, (residual, norm) in VARIANTS.items():
            model = deep_mlp(residual=residual, norm=norm, seed=0).double()
            blocks = range(1, 51)
            left.semilogy(blocks, spread_by_depth(model, x), color=colors[name], label=name)
            right.semilogy(blocks, gradient_by_depth(model, x, y), color=colors[name], label=name)
    left.set(xlabel="block", ylabel="spread across inputs", ylim=(1e-18, 1e2))
    left.set_title("forward: what the inputs still tell apart", fontsize=10)
    right.set(xlabel="block", ylabel=r"$\|\partial L / \partial W\|$")
    right.set_title("backward: gradient reaching each block", fontsize=10)
    left.legend(fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {"normalization-depth": plot_depth}


VARIANTS = {  # name: (residual, norm)
    "plain MLP": (False, None),
    "residual, no norm": (True, None),
    "pre-LN residual": (True, nn.LayerNorm),
}


def report(args: argparse.Namespace) -> None:
    """Compare with torch.nn, show BatchNorm's dependence on the batch, then the deep MLPs."""
    print(f"seed={args.seed}")
    print("from scratch vs torch.nn (float64), largest difference below 1e-6:")
    for name, gap in compare_with_torch(args.seed).items():
        print(f"  {name:<30} {gap < 1e-6}")
    changes = batch_dependence(args.seed)
    print("nn.BatchNorm1d: one example's output when the other 7 in its batch are replaced")
    print(f"  training mode:   changes by up to {changes['training']:.2f}")
    print(f"  evaluation mode: changes by up to {changes['evaluation']:.2f}")
    pair = nn.BatchNorm1d(3)(torch.tensor([[0.3, -1.2, 5.0], [2.0, 0.7, 4.0]]))
    print(f"  training mode, batch of 2: {[[round(v, 2) for v in row] for row in pair.tolist()]}")
    try:
        nn.BatchNorm1d(3)(torch.randn(1, 3))
    except ValueError as error:
        print(f"  training mode, batch of 1: ValueError: {str(error).split(',')[0]}")
    with one_thread():
        data = digits(args.seed)
        x, y = data[0][:256], data[1][:256]
        last = args.depth
        print(f"at initialization, {len(x)} training images:")
        print(f"  {'':<18} {'spread across inputs after block':<34} gradient norm")
        print(f"  {'':<18} {'1':<10} {'10':<10} {last:<12} block 1 / block {last}")
        for name, (residual, norm) in VARIANTS.items():
            spreads = spread_by_depth(deep_mlp(args.depth, args.width, residual, norm, args.seed), x)
            grads = gradient_by_depth(deep_mlp(args.depth, args.width, residual, norm, args.seed), x, y)
            shown = [spreads[0], spreads[min(9, args.depth - 1)], spreads[-1]]
            cells = [f"{v:.1e}" if v > 1e-6 * spreads[0] else "~0" for v in shown]
            print(f"  {name:<18} {cells[0]:<10} {cells[1]:<10} {cells[2]:<12} {grads[0] / grads[-1]:.1e}")
        print(
            f"digits: {args.depth} hidden layers of width {args.width}, {args.steps} SGD steps, test accuracy"
        )
        for name in ("plain MLP", "pre-LN residual"):
            model = deep_mlp(args.depth, args.width, *VARIANTS[name], seed=args.seed)
            print(f"  {name:<18} {train(model, data, steps=args.steps, seed=args.seed):.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.optimization.normalization",
        "BatchNorm, LayerNorm and RMSNorm from scratch against torch.nn; "
        "a deep plain MLP against a pre-LN residual one.",
    )
    parser.add_argument("--depth", type=positive_int, default=50, help="hidden layers (default: 50)")
    parser.add_argument("--width", type=positive_int, default=32, help="units per hidden layer (default: 32)")
    parser.add_argument("--steps", type=positive_int, default=60, help="SGD steps (default: 60)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
