"""Convolutional networks: convolution and pooling from scratch, residual and dense blocks, a CNN on digits.

Run ``python -m snippets.architectures.cnn --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import random
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
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


# --8<-- [end:setup]
from snippets.common import make_parser, one_thread, positive_float, positive_int, run_cli  # noqa: E402


# --8<-- [start:scratch-conv]
def output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Length of one output side: floor((size + 2 * padding - kernel) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def conv2d(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None, stride: int = 1, padding: int = 0
) -> np.ndarray:
    """Slide ``weight`` (C_out, C_in, k_h, k_w) over ``x`` (N, C_in, H, W), as deep-learning libraries do.

    Like every framework, this is cross-correlation: the kernel is not flipped.
    """
    n, _, height, width = x.shape
    c_out, _, k_h, k_w = weight.shape
    out_h, out_w = output_size(height, k_h, stride, padding), output_size(width, k_w, stride, padding)
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))  # zeros around the border
    out = np.zeros((n, c_out, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            patch = x[:, :, i * stride : i * stride + k_h, j * stride : j * stride + k_w]
            # every output channel: sum over input channels and the kernel window
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, weight)
    if bias is not None:
        out += bias[None, :, None, None]
    return out


# --8<-- [end:scratch-conv]


# --8<-- [start:scratch-pool]
def pool2d(x: np.ndarray, size: int, stride: int | None = None, reduce=np.max) -> np.ndarray:
    """Summarise each ``size`` x ``size`` window of every channel with ``reduce`` (max or mean)."""
    stride = size if stride is None else stride
    n, channels, height, width = x.shape
    out_h, out_w = output_size(height, size, stride), output_size(width, size, stride)
    out = np.empty((n, channels, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, :, i * stride : i * stride + size, j * stride : j * stride + size]
            out[:, :, i, j] = reduce(window, axis=(2, 3))
    return out


def max_pool2d(x: np.ndarray, size: int, stride: int | None = None) -> np.ndarray:
    return pool2d(x, size, stride, np.max)


def avg_pool2d(x: np.ndarray, size: int, stride: int | None = None) -> np.ndarray:
    return pool2d(x, size, stride, np.mean)


# --8<-- [end:scratch-pool]


# --8<-- [start:torch-ops]
def torch_conv_pool(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int, padding: int, size: int
) -> dict[str, np.ndarray]:
    """The same three operations from torch.nn.functional (float64, so results compare exactly)."""
    x_t, w_t, b_t = (torch.from_numpy(a) for a in (x, weight, bias))
    return {
        "conv": F.conv2d(x_t, w_t, b_t, stride=stride, padding=padding).numpy(),
        "max": F.max_pool2d(x_t, size).numpy(),
        "avg": F.avg_pool2d(x_t, size).numpy(),
    }


# --8<-- [end:torch-ops]


# --8<-- [start:counting]
def conv_params(c_in: int, c_out: int, kernel: int) -> int:
    """A k x k convolution: one k x k x C_in kernel and one bias per output channel."""
    return c_out * (c_in * kernel * kernel + 1)


def dense_params(n_in: int, n_out: int) -> int:
    """A fully connected layer: one weight per (input, output) pair and one bias per output."""
    return n_out * (n_in + 1)


def receptive_field(layers: list[tuple[int, int]]) -> int:
    """Side of the input window one output unit sees, for layers given as (kernel, stride)."""
    field, jump = 1, 1  # jump: distance in input pixels between neighbouring units of this layer
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field


# --8<-- [end:counting]


# --8<-- [start:blocks]
class ResidualBlock(nn.Module):
    """y = x + F(x), with F = BN-ReLU-conv-BN-ReLU-conv (the pre-activation form of He et al. 2016).

    With ``zero_init`` the last convolution starts at zero, so the block starts as the identity.
    """

    def __init__(self, channels: int, zero_init: bool = True) -> None:
        super().__init__()
        self.branch = nn.Sequential(
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
        )
        if zero_init:
            nn.init.zeros_(self.branch[-1].weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)  # the shortcut carries x through unchanged


class DenseBlock(nn.Module):
    """DenseNet's idea (Huang et al. 2017): each layer sees the concatenation of all earlier feature maps."""

    def __init__(self, in_channels: int, growth_rate: int, n_layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(
                nn.BatchNorm2d(in_channels + i * growth_rate),
                nn.ReLU(),
                nn.Conv2d(in_channels + i * growth_rate, growth_rate, 3, padding=1, bias=False),
            )
            for i in range(n_layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))  # new maps are added, none replaced
        return torch.cat(features, dim=1)  # in_channels + n_layers * growth_rate channels


# --8<-- [end:blocks]


# --8<-- [start:digits]
def digits_split(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 digits as (N, 1, 8, 8) tensors in [0, 1]; 25% held out, stratified."""
    digits = load_digits()
    images = digits.images.astype(np.float32)[:, None] / 16.0  # pixel values are 0..16
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, stratify=digits.target, random_state=seed
    )
    return torch.tensor(x_train), torch.tensor(x_test), torch.tensor(y_train), torch.tensor(y_test)


def digits_cnn() -> nn.Sequential:
    """Two 3x3 convolutions, a 2x2 max pool and a linear classifier: 8x8 -> 8x8 -> 4x4 -> 10."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),  # 16 x 8 x 8
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),  # 32 x 8 x 8
        nn.ReLU(),
        nn.MaxPool2d(2),  # 32 x 4 x 4
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 10),
    )


def train_digits_cnn(
    seed: int, epochs: int = 12, batch_size: int = 32, learning_rate: float = 3e-3
) -> tuple[nn.Module, float]:
    """Train the CNN with Adam on mini-batches; return the model and its test accuracy."""
    seed_everything(seed)
    device = pick_device()
    x_train, x_test, y_train, y_test = (t.to(device) for t in digits_split(seed))
    model = digits_cnn().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x_train), device=device)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            loss = F.cross_entropy(model(x_train[batch]), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(dim=1) == y_test).float().mean().item()
    return model, accuracy


# --8<-- [end:digits]


# --8<-- [start:solution-im2col]
def conv2d_im2col(x: np.ndarray, weight: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Convolution as one matrix product: unfold every window into a column, then multiply."""
    x_t, w_t = torch.from_numpy(x), torch.from_numpy(weight)
    n, _, height, width = x.shape
    c_out, _, k_h, k_w = weight.shape
    columns = F.unfold(x_t, (k_h, k_w), padding=padding, stride=stride)  # (N, C_in*k_h*k_w, L)
    out = w_t.reshape(c_out, -1) @ columns  # (N, C_out, L)
    out_h, out_w = output_size(height, k_h, stride, padding), output_size(width, k_w, stride, padding)
    return out.reshape(n, c_out, out_h, out_w).numpy()


# --8<-- [end:solution-im2col]


# --8<-- [start:solution-stacking]
def stacked_vs_single(channels: int) -> dict[str, int]:
    """Three stacked 3x3 convolutions against one 7x7: same receptive field, fewer weights."""
    return {
        "field_3x3_x3": receptive_field([(3, 1)] * 3),
        "field_7x7": receptive_field([(7, 1)]),
        "params_3x3_x3": 3 * conv_params(channels, channels, 3),
        "params_7x7": conv_params(channels, channels, 7),
    }


# --8<-- [end:solution-stacking]


def plot_conv_pool():
    """A digit, one edge-detecting convolution, and its 2x2 max and average pooling."""
    import matplotlib.pyplot as plt

    image = load_digits().images[0][None, None] / 16.0  # a zero, shape (1, 1, 8, 8)
    vertical_edges = np.array([[[[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]]])  # Sobel
    feature_map = conv2d(image, vertical_edges, padding=1)
    panels = [
        ("input 8×8", image[0, 0]),
        ("kernel 3×3", vertical_edges[0, 0]),
        ("conv (padding 1): 8×8", feature_map[0, 0]),
        ("max pool 2×2: 4×4", max_pool2d(feature_map, 2)[0, 0]),
        ("avg pool 2×2: 4×4", avg_pool2d(feature_map, 2)[0, 0]),
    ]
    fig, axes = plt.subplots(1, 5, figsize=(11, 2.6))
    for ax, (title, values) in zip(axes, panels, strict=True):
        limit = np.abs(values).max()
        cmap, low = ("gray_r", 0.0) if values.min() >= 0 else ("RdBu_r", -limit)
        ax.imshow(values, cmap=cmap, vmin=low, vmax=limit)
        for (r, c), v in np.ndenumerate(values):
            if values.shape[0] <= 4:
                ax.text(c, r, f"{v:.1f}", ha="center", va="center", fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


FIGURES = {"cnn-conv-pool": plot_conv_pool}
VGG_LIKE = [(3, 1), (3, 1), (2, 2), (3, 1), (2, 2), (3, 1)]  # conv3 conv3 pool2 conv3 pool2 conv3


def report(args: argparse.Namespace) -> None:
    """Check the from-scratch operations, count parameters and train the digits CNN."""
    with one_thread():  # models this small run fastest on one CPU thread; restored afterwards
        print_report(args)


def print_report(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(args.seed)
    x = rng.normal(size=(2, 3, 8, 8))
    weight, bias = rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    library = torch_conv_pool(x, weight, bias, stride=2, padding=1, size=2)
    ours = {
        "conv": conv2d(x, weight, bias, stride=2, padding=1),
        "max": max_pool2d(x, 2),
        "avg": avg_pool2d(x, 2),
    }
    for name in ours:
        gap = np.abs(ours[name] - library[name]).max()
        print(f"{name:>4}: shape {tuple(ours[name].shape)}, largest difference from torch {gap:.1e}")
    conv, dense = conv_params(3, 64, 3), dense_params(3 * 32 * 32, 64 * 32 * 32)
    print(f"3x32x32 -> 64x32x32: conv 3x3 has {conv:,} parameters, a dense layer {dense:,}")
    print(f"receptive field of conv3-conv3-pool2-conv3-pool2-conv3: {receptive_field(VGG_LIKE)}")
    _, accuracy = train_digits_cnn(args.seed, epochs=args.epochs, learning_rate=args.lr)
    print(f"digits CNN ({args.epochs} epochs): test accuracy {accuracy:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.architectures.cnn",
        "Convolution and pooling from scratch, parameter counts, and a small CNN on 8x8 digits.",
    )
    parser.add_argument("--epochs", type=positive_int, default=12, help="training epochs (default: 12)")
    parser.add_argument("--lr", type=positive_float, default=3e-3, help="Adam learning rate (default: 0.003)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
