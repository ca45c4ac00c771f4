"""Activation functions: definitions and derivatives, vanishing gradients and dying ReLUs.

Run ``python -m snippets.neural_networks.activations --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# --8<-- [end:setup]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402


# --8<-- [start:scratch]
def sigmoid(z: torch.Tensor) -> torch.Tensor:
    return 1 / (1 + torch.exp(-z))


def tanh(z: torch.Tensor) -> torch.Tensor:
    return 2 * sigmoid(2 * z) - 1  # = (e^z - e^-z) / (e^z + e^-z), without overflow


def relu(z: torch.Tensor) -> torch.Tensor:
    return torch.where(z > 0, z, 0.0)


def leaky_relu(z: torch.Tensor, slope: float = 0.01) -> torch.Tensor:
    return torch.where(z > 0, z, slope * z)


def gelu(z: torch.Tensor) -> torch.Tensor:
    """z * Phi(z), Phi the standard normal CDF."""
    return z * 0.5 * (1 + torch.erf(z / math.sqrt(2)))


def gelu_tanh(z: torch.Tensor) -> torch.Tensor:
    """The tanh approximation of GELU used by BERT and GPT-2."""
    return 0.5 * z * (1 + torch.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z**3)))


def softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """exp(z_k) / sum_j exp(z_j); subtracting the max first avoids overflow and changes nothing."""
    shifted = torch.exp(z - z.amax(dim=dim, keepdim=True))
    return shifted / shifted.sum(dim=dim, keepdim=True)


# --8<-- [end:scratch]


# --8<-- [start:derivatives]
def sigmoid_grad(z: torch.Tensor) -> torch.Tensor:
    s = sigmoid(z)
    return s * (1 - s)  # at most 1/4, at z = 0


def tanh_grad(z: torch.Tensor) -> torch.Tensor:
    return 1 - tanh(z) ** 2  # at most 1, at z = 0


def relu_grad(z: torch.Tensor) -> torch.Tensor:
    return (z > 0).to(z.dtype)  # PyTorch uses 0 at z = 0


def leaky_relu_grad(z: torch.Tensor, slope: float = 0.01) -> torch.Tensor:
    ones = torch.ones_like(z)  # same dtype as z: 0.01 is not exact in float32
    return torch.where(z > 0, ones, slope * ones)


def gelu_grad(z: torch.Tensor) -> torch.Tensor:
    cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    pdf = torch.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    return cdf + z * pdf  # product rule on z * Phi(z)


def softmax_jacobian(z: torch.Tensor) -> torch.Tensor:
    """d softmax_i / d z_j = s_i (delta_ij - s_j) for one vector z."""
    s = softmax(z)
    return torch.diag(s) - torch.outer(s, s)


# --8<-- [end:derivatives]


# --8<-- [start:torch]
# The same functions in PyTorch: as functions (torch.nn.functional) and as layers (torch.nn).
LAYERS = [nn.Sigmoid(), nn.Tanh(), nn.ReLU(), nn.LeakyReLU(0.01), nn.GELU(), nn.Softmax(dim=-1)]

# name: (our function, our derivative, PyTorch's function)
ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_grad, torch.sigmoid),
    "tanh": (tanh, tanh_grad, torch.tanh),
    "ReLU": (relu, relu_grad, F.relu),
    "Leaky ReLU": (leaky_relu, leaky_relu_grad, F.leaky_relu),  # default slope 0.01
    "GELU": (gelu, gelu_grad, F.gelu),  # exact form; approximate="tanh" gives gelu_tanh
}


def autograd_derivative(function: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    """f'(z) by autograd: each output depends only on its own input, so grad of sum(f(z)) is f'(z)."""
    z = z.detach().clone().requires_grad_(True)
    function(z).sum().backward()
    return z.grad


# --8<-- [end:torch]


# --8<-- [start:vanishing]
def deep_mlp(depth: int, width: int, activation: str, init: str = "matched") -> nn.Sequential:
    """`depth` hidden layers of `width` units and one output.

    init="matched": Glorot/Xavier for sigmoid and tanh, He/Kaiming for ReLU (zero biases);
    init="default": whatever nn.Linear does on its own.
    """
    layers: list[nn.Module] = []
    for _ in range(depth):
        linear = nn.Linear(width, width)
        if init == "matched":
            if activation == "relu":
                nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            else:
                nn.init.xavier_normal_(linear.weight, gain=nn.init.calculate_gain(activation))
            nn.init.zeros_(linear.bias)
        layers += [linear, {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[activation]()]
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def layer_gradient_norms(model: nn.Sequential, batch: int = 128) -> list[float]:
    """Norm of dLoss/dW for every hidden layer, first to last, on random data."""
    device = pick_device()
    model.to(device)
    width = model[0].in_features
    x = torch.randn(batch, width, device=device)
    y = torch.randn(batch, 1, device=device)
    F.mse_loss(model(x), y).backward()
    hidden = [layer for layer in model if isinstance(layer, nn.Linear)][:-1]
    return [layer.weight.grad.norm().item() for layer in hidden]


# --8<-- [end:vanishing]


# --8<-- [start:dying]
def regression_data(n: int = 256, d: int = 10, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth target y = sin(w . x) of standard-normal inputs."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=generator)
    w = torch.randn(d, 1, generator=generator)
    return x, torch.sin(x @ w)


def one_hidden_layer(d: int, width: int, activation: type[nn.Module], bias_shift: float) -> nn.Sequential:
    """He-initialised hidden layer whose biases are all moved by `bias_shift`."""
    model = nn.Sequential(nn.Linear(d, width), activation(), nn.Linear(width, 1))
    nn.init.kaiming_normal_(model[0].weight, nonlinearity="relu")
    with torch.no_grad():
        model[0].bias.fill_(bias_shift)
    return model


def dead_units(model: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """A unit is dead when its pre-activation is <= 0 for every input: then ReLU outputs 0 and its
    gradient is 0 for every input, so gradient descent can never change its incoming weights."""
    with torch.no_grad():
        return (model[0](x) <= 0).all(dim=0)


def train_regression(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, steps: int, lr: float) -> float:
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
    return loss.item()


# --8<-- [end:dying]


# --8<-- [start:solution-softmax]
def naive_softmax(z: torch.Tensor) -> torch.Tensor:
    return torch.exp(z) / torch.exp(z).sum(dim=-1, keepdim=True)


# --8<-- [end:solution-softmax]


# --8<-- [start:solution-two-class]
def two_class_softmax_is_sigmoid(z: torch.Tensor) -> torch.Tensor:
    """softmax([z, 0])[0] = e^z / (e^z + 1) = sigmoid(z)."""
    logits = torch.stack([z, torch.zeros_like(z)], dim=-1)
    return softmax(logits)[..., 0] - sigmoid(z)


# --8<-- [end:solution-two-class]

DYING = {"d": 10, "width": 100, "shift": -4.0, "steps": 200, "lr": 0.02}


def dying_experiment(seed: int, activation: type[nn.Module] = nn.ReLU, shift: float = DYING["shift"]) -> dict:
    """Shift the biases, train, and report which units were dead and whether their weights moved."""
    torch.manual_seed(seed)
    device = pick_device()
    x, y = (t.to(device) for t in regression_data(d=DYING["d"], seed=seed))
    model = one_hidden_layer(DYING["d"], DYING["width"], activation, shift).to(device)
    dead_before = dead_units(model, x)
    weights_before = model[0].weight.detach().clone()
    loss = train_regression(model, x, y, DYING["steps"], DYING["lr"])
    moved = (model[0].weight.detach() != weights_before).any(dim=1)
    return {
        "dead_before": dead_before,
        "dead_after": dead_units(model, x),
        "moved": moved,
        "loss": loss,
    }


def plot_activation_curves():
    """Each activation and its derivative; the last panel shows a softmax over three scores."""
    import matplotlib.pyplot as plt

    z = torch.linspace(-5, 5, 501)
    fig, axes = plt.subplots(2, 3, figsize=(10, 5.6))
    for ax, (name, (function, derivative, _)) in zip(axes.flat, ACTIVATIONS.items(), strict=False):
        ax.plot(z, function(z), color="#1b6ca8", linewidth=2, label="f(z)")
        ax.plot(z, derivative(z), color="#d95f02", linestyle="--", linewidth=2, label="f'(z)")
        if name == "GELU":
            ax.plot(z, relu(z), color="gray", linewidth=1, linestyle=":", label="ReLU")
        ax.axhline(0, color="black", linewidth=0.5)
        ax.axvline(0, color="black", linewidth=0.5)
        ax.set_title(name)
        ax.set_ylim(-1.5, 2.5)
        ax.legend(fontsize=8, loc="upper left")
    ax = axes.flat[-1]
    probabilities = softmax(torch.stack([z, torch.ones_like(z), torch.zeros_like(z)], dim=-1))
    for k, (label, style) in enumerate([("z", "-"), ("1", "--"), ("0", ":")]):
        ax.plot(z, probabilities[:, k], linestyle=style, linewidth=2, label=f"softmax, score {label}")
    ax.set_title("softmax([z, 1, 0])")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8, loc="center left")
    for ax in axes[-1]:
        ax.set_xlabel("z")
    fig.tight_layout()
    return fig


def plot_gradient_norms():
    """Per-layer weight-gradient norms of 20-layer networks (log scale)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    settings = [
        ("sigmoid", "matched", "sigmoid, Xavier init", "#d95f02", "-"),
        ("tanh", "matched", "tanh, Xavier init", "#7570b3", "-"),
        ("relu", "matched", "ReLU, He init", "#1b6ca8", "-"),
        ("relu", "default", "ReLU, PyTorch default init", "#1b6ca8", ":"),
    ]
    for activation, init, label, color, style in settings:
        torch.manual_seed(0)
        norms = layer_gradient_norms(deep_mlp(20, 64, activation, init))
        ax.semilogy(range(1, len(norms) + 1), norms, color=color, linestyle=style, marker=".", label=label)
    ax.set_xlabel("layer (1 = next to the input)")
    ax.set_ylabel("||dL/dW||")
    ax.set_xticks(range(1, 21, 2))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {
    "activations-curves": plot_activation_curves,
    "activations-gradient-norms": plot_gradient_norms,
}
# Points a figure may move between CPUs (tools/figures.py), measured with ATEN_CPU_CAPABILITY
# default, avx2 and avx512: the default level draws them differently; math.inf: only the labels are compared.
FIGURE_TOLERANCE = {"activations-curves": 2.0, "activations-gradient-norms": math.inf}


def report(args: argparse.Namespace) -> None:
    """Compare the definitions with PyTorch, then measure vanishing gradients and dead units."""
    print(f"seed={args.seed} depth={args.depth} width={args.width}")
    z = torch.linspace(-8, 8, 1601, dtype=torch.float64)
    for name, (function, _, library) in ACTIVATIONS.items():
        print(f"{name:>10}: max |ours - torch| = {(function(z) - library(z)).abs().max().item():.1e}")
    print(f"first/last hidden-layer gradient norm, {args.depth} layers of {args.width}:")
    for activation, init in [
        ("sigmoid", "matched"),
        ("tanh", "matched"),
        ("relu", "matched"),
        ("relu", "default"),
    ]:
        torch.manual_seed(args.seed)
        norms = layer_gradient_norms(deep_mlp(args.depth, args.width, activation, init))
        ratio = norms[0] / norms[-1]
        print(f"  {activation:>7} ({init:>7} init): {norms[0]:.1e} / {norms[-1]:.1e} = {ratio:.1e}")
    width, shift, steps = DYING["width"], DYING["shift"], DYING["steps"]
    print(f"one hidden layer of {width}, all biases set to {shift}, {steps} SGD steps:")
    for activation in (nn.ReLU, nn.LeakyReLU):
        result = dying_experiment(args.seed, activation)
        before, after = result["dead_before"].float().mean(), result["dead_after"].float().mean()
        print(
            f"  {activation.__name__:>9}: units with z <= 0 on every input {before:.2f} -> {after:.2f}, "
            f"units whose weights changed {result['moved'].float().mean():.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.neural_networks.activations",
        "Check activation functions against PyTorch; measure vanishing gradients and dead ReLUs.",
    )
    parser.add_argument("--depth", type=positive_int, default=20, help="hidden layers (default: 20)")
    parser.add_argument("--width", type=positive_int, default=64, help="units per layer (default: 64)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
