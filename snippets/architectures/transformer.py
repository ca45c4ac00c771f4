"""Attention and Transformers: attention and multi-head attention from scratch, checked against PyTorch,
sinusoidal positions, and a tiny Transformer that learns to reverse digit sequences.

Run ``python -m snippets.architectures.transformer --help`` for the options.
"""

from __future__ import annotations

import argparse
from functools import cache

# --8<-- [start:setup]
import random
from collections.abc import Iterator
from contextlib import contextmanager
import math

import torch
from torch import nn
from torch.nn import functional as F
import numpy as np
from threadpoolctl import threadpool_limits


def seed_everything(seed: int) -> int:
    """Seed Python, NumPy and PyTorch; return the seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return seed


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


# --8<-- [end:setup]
from snippets.common import DEFAULT_SEED, at_least_two, make_parser, positive_float, positive_int, run_cli  # noqa: E402


# --8<-- [start:scratch-attention]
def attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(Q K^T / sqrt(d_k)) V; ``mask`` is True where a query may look at a key.

    Shapes: q (..., L, d_k), k (..., S, d_k), v (..., S, d_v). Returns the output and the weights.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., L, S)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))  # weight exactly 0 after the softmax
    weights = scores.softmax(dim=-1)  # every row sums to 1
    return weights @ v, weights


def causal_mask(length: int) -> torch.Tensor:
    """True on and below the diagonal: position i sees positions 0..i only."""
    return torch.ones(length, length, dtype=torch.bool).tril()


# --8<-- [end:scratch-attention]


# --8<-- [start:scratch-mha]
class MultiHeadAttention(nn.Module):
    """h heads of size d_model / h, each with its own projections, concatenated and mixed by W_O."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        assert d_model % n_heads == 0, "d_model must be divisible by n_heads"
        self.n_heads, self.d_head = n_heads, d_model // n_heads
        self.q_proj, self.k_proj = nn.Linear(d_model, d_model), nn.Linear(d_model, d_model)
        self.v_proj, self.out_proj = nn.Linear(d_model, d_model), nn.Linear(d_model, d_model)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, length, d_model) -> (batch, heads, length, d_head)."""
        batch, length, _ = x.shape
        return x.view(batch, length, self.n_heads, self.d_head).transpose(1, 2)

    def forward(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        q, k, v = (
            self.split_heads(self.q_proj(query)),
            self.split_heads(self.k_proj(key)),
            self.split_heads(self.v_proj(value)),
        )
        out, weights = attention(q, k, v, mask)  # all heads at once
        batch, _, length, _ = out.shape
        out = out.transpose(1, 2).reshape(batch, length, -1)  # concatenate the heads
        return self.out_proj(out), weights


# --8<-- [end:scratch-mha]


# --8<-- [start:torch]
def torch_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False) -> torch.Tensor:
    """PyTorch's fused kernel (FlashAttention or memory-efficient attention where available)."""
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)


def copy_into(ours: MultiHeadAttention, theirs: nn.MultiheadAttention) -> None:
    """Give our module the weights of nn.MultiheadAttention, which stacks W_Q, W_K, W_V."""
    w_q, w_k, w_v = theirs.in_proj_weight.detach().chunk(3)
    b_q, b_k, b_v = theirs.in_proj_bias.detach().chunk(3)
    with torch.no_grad():
        for proj, w, b in [(ours.q_proj, w_q, b_q), (ours.k_proj, w_k, b_k), (ours.v_proj, w_v, b_v)]:
            proj.weight.copy_(w)
            proj.bias.copy_(b)
        ours.out_proj.weight.copy_(theirs.out_proj.weight)
        ours.out_proj.bias.copy_(theirs.out_proj.bias)


def compare_multi_head(d_model: int = 16, n_heads: int = 4, length: int = 6) -> float:
    """Largest output difference between ours and nn.MultiheadAttention, with a causal mask."""
    theirs = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
    ours = MultiHeadAttention(d_model, n_heads)
    copy_into(ours, theirs)
    x = torch.randn(2, length, d_model)
    mask = causal_mask(length)
    with torch.no_grad():
        out_ours, _ = ours(x, x, x, mask)
        # nn.MultiheadAttention's boolean mask means the opposite: True = may NOT attend.
        out_theirs, _ = theirs(x, x, x, attn_mask=~mask)
    return (out_ours - out_theirs).abs().max().item()


# --8<-- [end:torch]


# --8<-- [start:positions]
def sinusoidal_encoding(length: int, d_model: int) -> torch.Tensor:
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d))."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = 10000.0 ** (-torch.arange(0, d_model, 2, dtype=torch.float32) / d_model)
    encoding = torch.zeros(length, d_model)
    encoding[:, 0::2] = torch.sin(position * frequency)
    encoding[:, 1::2] = torch.cos(position * frequency)
    return encoding


# --8<-- [end:positions]


# --8<-- [start:model]
def reversal_batch(batch: int, length: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random digit sequences and the same sequences reversed."""
    x = torch.randint(0, 10, (batch, length), generator=generator)
    return x, x.flip(1)


class TinyTransformer(nn.Module):
    """Digit embeddings + sinusoidal positions -> Transformer encoder -> a digit at every position."""

    def __init__(
        self, length: int, d_model: int = 32, n_heads: int = 2, n_layers: int = 1, positions: bool = True
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, d_model)
        self.register_buffer("positions", sinusoidal_encoding(length, d_model) if positions else None)
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, dim_feedforward=2 * d_model, dropout=0.0, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, 10)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens)
        if self.positions is not None:
            x = x + self.positions  # without this line the model cannot tell positions apart
        return self.head(self.encoder(x))


def train_reverser(
    seed: int, length: int = 10, steps: int = 200, positions: bool = True, lr: float = 3e-3, batch: int = 128
) -> tuple[TinyTransformer, list[float]]:
    """Train with Adam and cross-entropy on every position; return the model and the losses."""
    seed_everything(seed)
    generator = torch.Generator().manual_seed(seed)
    device = pick_device()
    model = TinyTransformer(length, positions=positions).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        x, y = reversal_batch(batch, length, generator)
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return model.eval(), losses


def reversal_accuracy(model: TinyTransformer, length: int, seed: int, n: int = 2000) -> tuple[float, float]:
    """Token accuracy and whole-sequence accuracy on ``n`` fresh sequences."""
    x, y = reversal_batch(n, length, torch.Generator().manual_seed(seed + 10_000))
    device = next(model.parameters()).device
    with torch.no_grad():
        correct = model(x.to(device)).argmax(-1).cpu() == y
    return correct.float().mean().item(), correct.all(dim=1).float().mean().item()


def attention_maps(model: TinyTransformer, tokens: torch.Tensor) -> torch.Tensor:
    """The attention weights of every layer and head: (layers, batch, heads, length, length)."""
    maps = []
    with torch.no_grad():
        x = model.embed(tokens.to(model.embed.weight.device))
        if model.positions is not None:
            x = x + model.positions
        for layer in model.encoder.layers:  # norm_first: attention sees the normalised input
            h = layer.norm1(x)
            _, weights = layer.self_attn(h, h, h, need_weights=True, average_attn_weights=False)
            maps.append(weights)
            x = layer(x)
    return torch.stack(maps).cpu()


# --8<-- [end:model]


# --8<-- [start:solution-shift]
def shift_matrix(offset: int, d_model: int) -> torch.Tensor:
    """The matrix M with PE[pos + offset] = M @ PE[pos] for every pos: one 2x2 rotation per frequency."""
    frequency = 10000.0 ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    matrix = torch.zeros(d_model, d_model, dtype=torch.float64)
    for i, w in enumerate(frequency):
        c, s = torch.cos(offset * w), torch.sin(offset * w)
        # sin(a + b) = sin a cos b + cos a sin b,  cos(a + b) = cos a cos b - sin a sin b
        matrix[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = torch.stack(
            [torch.stack([c, s]), torch.stack([-s, c])]
        )
    return matrix


# --8<-- [end:solution-shift]


# --8<-- [start:solution-permutation]
def permutation_gap(model: nn.Module, x: torch.Tensor, generator: torch.Generator) -> float:
    """Shuffle the positions of x (batch, length, d); how far is model(shuffled) from shuffled model(x)?"""
    order = torch.randperm(x.shape[1], generator=generator)
    with torch.no_grad():
        return (model(x[:, order]) - model(x)[:, order]).abs().max().item()


# --8<-- [end:solution-permutation]


# --8<-- [start:solution-scale]
def dot_product_spread(d_k: int, n: int, generator: torch.Generator) -> float:
    """Standard deviation of q . k for random q, k with independent unit-variance entries."""
    q, k = torch.randn(n, d_k, generator=generator), torch.randn(n, d_k, generator=generator)
    return (q * k).sum(dim=-1).std().item()


# --8<-- [end:solution-scale]


@cache
def trained(seed: int, positions: bool = True, length: int = 10) -> TinyTransformer:
    """``train_reverser`` with the defaults, remembered so tests and figures train each model once."""
    with one_thread():
        return train_reverser(seed, length, positions=positions)[0]


def plot_attention():
    """The two heads of the trained model on one sequence: the anti-diagonal is the reversal."""
    import matplotlib.pyplot as plt

    model = trained(DEFAULT_SEED)
    tokens = torch.tensor([[3, 1, 4, 1, 5, 9, 2, 6, 5, 3]])
    maps = attention_maps(model, tokens)[0, 0]  # first layer, first sequence: (heads, L, L)
    with torch.no_grad():
        output = model(tokens.to(model.embed.weight.device)).argmax(-1)[0].cpu()
    fig, axes = plt.subplots(1, maps.shape[0], figsize=(4 * maps.shape[0], 3.8))
    for head, ax in enumerate(axes):
        image = ax.imshow(maps[head], cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(10), [str(t) for t in tokens[0].tolist()])
        ax.set_yticks(range(10), [str(t) for t in output.tolist()])
        ax.set(xlabel="key: input digit", title=f"head {head + 1}")
    axes[0].set_ylabel("query: predicted digit")
    fig.colorbar(image, ax=axes, shrink=0.8, label="attention weight")
    return fig


FIGURES = {"transformer-attention": plot_attention}
# Points a figure may move between CPUs (tools/figures.py), measured with ATEN_CPU_CAPABILITY
# default, avx2 and avx512: the default level draws them differently; math.inf: only the labels are compared.
FIGURE_TOLERANCE = {"transformer-attention": math.inf}


def mirror_share(model: TinyTransformer, length: int, seed: int) -> float:
    """Share of output positions i where some head of the first layer attends most to input L-1-i."""
    x, _ = reversal_batch(500, length, torch.Generator().manual_seed(seed + 20_000))
    maps = attention_maps(model, x)[0]  # (batch, heads, L, L)
    mirror = torch.arange(length - 1, -1, -1)
    return (maps.argmax(dim=-1) == mirror).any(dim=1).float().mean().item()


def report(args: argparse.Namespace) -> None:
    """Check attention against PyTorch, then train the tiny Transformer with and without positions."""
    q, k, v = torch.randn(2, 4, 6, 8), torch.randn(2, 4, 6, 8), torch.randn(2, 4, 6, 8)
    for causal in (False, True):
        ours, _ = attention(q, k, v, causal_mask(6) if causal else None)
        gap = (ours - torch_attention(q, k, v, causal)).abs().max().item()
        print(f"attention vs F.scaled_dot_product_attention (causal={causal}): max difference {gap:.1e}")
    print(f"multi-head attention vs nn.MultiheadAttention: max difference {compare_multi_head():.1e}")
    print(f"task: reverse {args.length} digits; {args.steps} steps of 128 sequences")
    for positions in (True, False):
        model, losses = train_reverser(args.seed, args.length, args.steps, positions, args.lr)
        token, sequence = reversal_accuracy(model, args.length, args.seed)
        label = "with sinusoidal positions" if positions else "without positions    "
        print(
            f"{label}: final loss {losses[-1]:.3f}, "
            f"token accuracy {token:.3f}, sequence accuracy {sequence:.3f}"
        )
        if positions:
            share = mirror_share(model, args.length, args.seed)
            print(f"  positions where a head attends most to the mirrored input: {share:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.architectures.transformer",
        "Check attention against PyTorch and train a tiny Transformer to reverse digit sequences.",
    )
    parser.add_argument("--length", type=at_least_two, default=10, help="digits per sequence (default: 10)")
    parser.add_argument("--steps", type=positive_int, default=200, help="training steps (default: 200)")
    parser.add_argument("--lr", type=positive_float, default=3e-3, help="Adam learning rate (default: 0.003)")
    with one_thread():
        return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
