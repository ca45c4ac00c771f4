"""Recurrent networks: RNN, LSTM and GRU cells from scratch, checked against PyTorch, on a long-range task.

Run ``python -m snippets.architectures.rnn --help`` for the options.
"""

from __future__ import annotations

import argparse
from functools import cache

# --8<-- [start:setup]
import random
from collections.abc import Iterator
from contextlib import contextmanager
import torch
from torch import nn
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


Params = dict[str, torch.Tensor]
# The gates of each cell, in the order PyTorch stacks their weights.
GATES = {"rnn": "h", "lstm": "ifgo", "gru": "rzn"}
# --8<-- [end:setup]

from snippets.common import DEFAULT_SEED, at_least_two, make_parser, number, positive_int, run_cli  # noqa: E402


# --8<-- [start:scratch]
def rnn_cell(x: torch.Tensor, h: torch.Tensor, p: Params) -> torch.Tensor:
    """Elman's cell: h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)."""
    return torch.tanh(x @ p["W_xh"].T + h @ p["W_hh"].T + p["b_h"])


def lstm_cell(
    x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], p: Params
) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step; ``state`` is (h, c), the output and the cell state."""
    h, c = state
    i = torch.sigmoid(x @ p["W_xi"].T + h @ p["W_hi"].T + p["b_i"])  # input gate
    f = torch.sigmoid(x @ p["W_xf"].T + h @ p["W_hf"].T + p["b_f"])  # forget gate
    g = torch.tanh(x @ p["W_xg"].T + h @ p["W_hg"].T + p["b_g"])  # candidate values
    o = torch.sigmoid(x @ p["W_xo"].T + h @ p["W_ho"].T + p["b_o"])  # output gate
    c = f * c + i * g  # keep part of the old memory, write part of the new
    h = o * torch.tanh(c)
    return h, c


def gru_cell(x: torch.Tensor, h: torch.Tensor, p: Params) -> torch.Tensor:
    """One GRU step in PyTorch's convention: r multiplies (W_hn h + b_hn)."""
    r = torch.sigmoid(x @ p["W_xr"].T + h @ p["W_hr"].T + p["b_r"])  # reset gate
    z = torch.sigmoid(x @ p["W_xz"].T + h @ p["W_hz"].T + p["b_z"])  # update gate
    n = torch.tanh(x @ p["W_xn"].T + p["b_xn"] + r * (h @ p["W_hn"].T + p["b_hn"]))
    return (1 - z) * n + z * h  # z close to 1: keep the old state


def unroll(cell, x: torch.Tensor, state, p: Params) -> list[torch.Tensor]:
    """Run ``cell`` over a batch of sequences x (batch, time, features); return every output h_t."""
    outputs = []
    for t in range(x.shape[1]):
        state = cell(x[:, t], state, p)
        outputs.append(state[0] if isinstance(state, tuple) else state)
    return outputs


# --8<-- [end:scratch]


# --8<-- [start:copy]
def params_from_torch(cell: nn.RNNCellBase, kind: str) -> Params:
    """Split PyTorch's stacked weights into one matrix per gate (LSTM: i, f, g, o; GRU: r, z, n)."""
    gates = GATES[kind]
    w_x = cell.weight_ih.detach().chunk(len(gates))
    w_h = cell.weight_hh.detach().chunk(len(gates))
    b_x = cell.bias_ih.detach().chunk(len(gates))
    b_h = cell.bias_hh.detach().chunk(len(gates))
    p = {}
    for k, gate in enumerate(gates):
        p[f"W_x{gate}"], p[f"W_h{gate}"] = w_x[k], w_h[k]
        p[f"b_{gate}"] = b_x[k] + b_h[k]  # PyTorch keeps two biases; only their sum matters
    if kind == "gru":  # ... except in the GRU's candidate, where r sits between them
        del p["b_n"]
        p["b_xn"], p["b_hn"] = b_x[2], b_h[2]
    return p


def compare_with_torch(kind: str, n_in: int = 3, hidden: int = 5, batch: int = 4) -> float:
    """Largest difference between our cell and PyTorch's cell with the same weights."""
    cell = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[kind](n_in, hidden)
    p = params_from_torch(cell, kind)
    x, h, c = torch.randn(batch, n_in), torch.randn(batch, hidden), torch.randn(batch, hidden)
    with torch.no_grad():
        if kind == "lstm":
            ours, theirs = torch.cat(lstm_cell(x, (h, c), p)), torch.cat(cell(x, (h, c)))
        else:
            ours, theirs = {"rnn": rnn_cell, "gru": gru_cell}[kind](x, h, p), cell(x, h)
    return (ours - theirs).abs().max().item()


# --8<-- [end:copy]


# --8<-- [start:task]
N_TOKENS = 4  # vocabulary size: chance accuracy is 1/4
N_INPUTS = N_TOKENS + 1  # a one-hot token and a marker
LENGTH, HIDDEN = 40, 16


def first_token_batch(
    batch: int, length: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random token sequences; the label is the first token, which a marker input flags.

    Every step is a one-hot token (4 inputs) plus a marker that is 1 at step 0 only, so later
    tokens arrive on the same inputs as the one to remember.
    """
    tokens = torch.randint(0, N_TOKENS, (batch, length), generator=generator)
    marker = torch.zeros(batch, length, 1)
    marker[:, 0] = 1.0
    x = torch.cat([nn.functional.one_hot(tokens, N_TOKENS).float(), marker], dim=2)
    return x, tokens[:, 0]


# --8<-- [end:task]


# --8<-- [start:model]
class SequenceClassifier(nn.Module):
    """A recurrent layer (RNN, LSTM or GRU) and a linear read-out of its last output."""

    def __init__(self, kind: str, hidden: int, gate_bias: float = 4.0) -> None:
        super().__init__()
        layer = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
        self.rnn = layer(N_INPUTS, hidden, batch_first=True)
        self.head = nn.Linear(hidden, N_TOKENS)
        with torch.no_grad():  # start the gated cells out remembering (see "Pitfalls")
            if kind == "lstm":
                self.rnn.bias_hh_l0[hidden : 2 * hidden] += gate_bias  # forget gate f close to 1
                self.rnn.bias_hh_l0[:hidden] -= gate_bias  # input gate i close to 0
            elif kind == "gru":
                self.rnn.bias_hh_l0[hidden : 2 * hidden] += gate_bias  # update gate z close to 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.rnn(x)
        return self.head(outputs[:, -1])


def train_classifier(
    kind: str,
    seed: int,
    length: int = LENGTH,
    hidden: int = HIDDEN,
    steps: int = 300,
    gate_bias: float = 4.0,
    batch: int = 128,
    lr: float = 1e-2,
    clip: float = 1.0,
    patience: int = 20,
) -> tuple[SequenceClassifier, list[float]]:
    """Train with Adam and gradient clipping for at most ``steps`` steps.

    Stops early once ``patience`` batches in a row are classified perfectly.
    Returns the model and its accuracy on each training batch.
    """
    seed_everything(seed)
    generator = torch.Generator().manual_seed(seed)
    device = pick_device()
    model = SequenceClassifier(kind, hidden, gate_bias).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    curve = []
    for _ in range(steps):
        x, y = first_token_batch(batch, length, generator)
        x, y = x.to(device), y.to(device)
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)  # rescale the gradient if its norm > clip
        optimizer.step()
        curve.append((logits.argmax(1) == y).float().mean().item())
        if len(curve) >= patience and min(curve[-patience:]) == 1.0:
            break
    return model, curve


def accuracy(model: SequenceClassifier, length: int, seed: int, n: int = 1000) -> float:
    """Accuracy on ``n`` fresh sequences."""
    x, y = first_token_batch(n, length, torch.Generator().manual_seed(seed + 10_000))
    device = next(model.parameters()).device
    with torch.no_grad():
        return (model(x.to(device)).argmax(1).cpu() == y).float().mean().item()


# --8<-- [end:model]


# --8<-- [start:gradients]
def input_gradient_norms(model: SequenceClassifier, length: int, seed: int) -> torch.Tensor:
    """||dL/dx_t|| for every step t: how strongly the loss at the end reacts to each input."""
    x, y = first_token_batch(256, length, torch.Generator().manual_seed(seed))
    device = next(model.parameters()).device
    x = x.to(device).requires_grad_(True)
    loss = nn.functional.cross_entropy(model(x), y.to(device))
    (grad,) = torch.autograd.grad(loss, x)
    return grad.norm(dim=(0, 2)).cpu()  # one norm per time step


# --8<-- [end:gradients]


# --8<-- [start:solution-clip]
def clip_by_global_norm(grads: list[torch.Tensor], max_norm: float) -> float:
    """Scale all gradients in place so that their joint L2 norm is at most ``max_norm``.

    Returns the norm before clipping, as torch.nn.utils.clip_grad_norm_ does.
    """
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g.mul_(scale)
    return total.item()


# --8<-- [end:solution-clip]


# --8<-- [start:solution-count]
def recurrent_parameters(kind: str, n_in: int, hidden: int) -> int:
    """Parameters of one PyTorch recurrent layer: per gate, W_x, W_h and two biases."""
    return len(GATES[kind]) * (hidden * n_in + hidden * hidden + 2 * hidden)


# --8<-- [end:solution-count]


KINDS = ("rnn", "lstm", "gru")
LABELS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


@cache
def trained(kind: str, seed: int, length: int = LENGTH) -> tuple[SequenceClassifier, tuple[float, ...]]:
    """``train_classifier`` with the defaults, remembered so tests and figures train each model once."""
    with one_thread():
        model, curve = train_classifier(kind, seed, length)
    return model, tuple(curve)


def plot_long_range():
    """Left: batch accuracy while training; right: input gradient norms at initialisation."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    colors = {"rnn": "#d95f02", "lstm": "#1b6ca8", "gru": "#1b9e77"}
    for kind in KINDS:
        _, curve = trained(kind, DEFAULT_SEED)
        smooth = torch.tensor(curve).unfold(0, 10, 1).mean(1)  # moving average over 10 steps
        left.plot(range(10, len(curve) + 1), smooth, color=colors[kind], label=LABELS[kind])
        seed_everything(DEFAULT_SEED)
        norms = input_gradient_norms(SequenceClassifier(kind, HIDDEN), LENGTH, DEFAULT_SEED)
        right.semilogy(range(1, len(norms) + 1), norms, color=colors[kind], label=LABELS[kind])
    left.axhline(1 / N_TOKENS, color="gray", linestyle=":", label="chance")
    left.set(xlabel="training step", ylabel="batch accuracy", title=f"T = {LENGTH}", ylim=(0, 1.05))
    left.legend(loc="center right", fontsize=8)
    right.set(xlabel="input step t", ylabel=r"$\|\partial L / \partial x_t\|$", title="at initialisation")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {"rnn-long-range": plot_long_range}


def report(args: argparse.Namespace) -> None:
    """Check the cells, then train the three models on the first-token task."""
    for kind in KINDS:
        print(f"{LABELS[kind]:>4} cell vs PyTorch: max difference {compare_with_torch(kind):.1e}")
    print(f"task: remember the first of {args.length} tokens; chance accuracy {1 / N_TOKENS:.2f}")
    print(
        f"training: at most {args.steps} steps of 128 sequences, "
        f"hidden size {args.hidden}, gate bias {args.gate_bias}"
    )
    for kind in KINDS:
        seed_everything(args.seed)
        norms = input_gradient_norms(
            SequenceClassifier(kind, args.hidden, args.gate_bias), args.length, args.seed
        )
        model, curve = train_classifier(kind, args.seed, args.length, args.hidden, args.steps, args.gate_bias)
        print(
            f"{LABELS[kind]:>4}: {recurrent_parameters(kind, N_INPUTS, args.hidden):4d} parameters, "
            f"|dL/dx_1| / |dL/dx_T| at start {(norms[0] / norms[-1]).item():.1e}, "
            f"{len(curve):3d} steps, test accuracy {accuracy(model, args.length, args.seed):.3f}"
        )


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    value = number(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.architectures.rnn",
        "Compare RNN, LSTM and GRU cells with PyTorch and train them on a long-range memory task.",
    )
    parser.add_argument(
        "--length", type=at_least_two, default=LENGTH, help=f"sequence length (default: {LENGTH})"
    )
    parser.add_argument("--steps", type=positive_int, default=300, help="most training steps (default: 300)")
    parser.add_argument(
        "--hidden", type=positive_int, default=HIDDEN, help=f"hidden size (default: {HIDDEN})"
    )
    parser.add_argument(
        "--gate-bias",
        type=non_negative_float,
        default=4.0,
        help="initial bias that makes LSTM/GRU remember; 0 keeps PyTorch's init (default: 4.0)",
    )
    with one_thread():
        return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
