"""Model compression: post-training quantization, pruning and knowledge distillation on digits.

Run ``python -m snippets.deployment.compression --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
from contextlib import contextmanager
import contextlib
import copy
import io
import statistics
import time
import warnings
from collections.abc import Iterator
from functools import lru_cache

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.nn.utils import prune
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


Split = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def digits_split(seed: int) -> Split:
    """8x8 digit images scaled to [0, 1]: 1347 training rows and 450 test rows."""
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data / 16.0, digits.target, test_size=0.25, random_state=seed, stratify=digits.target
    )
    x_train, x_test = (torch.tensor(x, dtype=torch.float32) for x in (x_train, x_test))
    return x_train, torch.tensor(y_train), x_test, torch.tensor(y_test)


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers of the given widths with ReLU in between, e.g. [64, 256, 256, 10]."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def train(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    lr: float = 1e-3,
    seed: int = 0,
    teacher_logits: torch.Tensor | None = None,
    temperature: float = 4.0,
    alpha: float = 0.9,
    batch_size: int = 64,
) -> nn.Module:
    """Adam on mini-batches; with ``teacher_logits`` the loss is the distillation loss."""
    device = pick_device()
    model.to(device).train()
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    order, position = torch.randperm(len(x), generator=generator), 0
    with one_thread():
        for _ in range(steps):
            if position >= len(x):  # a new pass over the data in a new order
                order, position = torch.randperm(len(x), generator=generator), 0
            batch = order[position : position + batch_size]
            position += batch_size
            logits = model(x[batch].to(device))
            if teacher_logits is None:
                loss = F.cross_entropy(logits, y[batch].to(device))
            else:
                soft = teacher_logits[batch].to(device)
                loss = distillation_loss(logits, soft, y[batch].to(device), temperature, alpha)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.cpu().eval()


@lru_cache(maxsize=4)
def train_teacher(seed: int, steps: int = 150) -> nn.Sequential:
    """The fp32 model we compress: 64-256-256-10, about 84k weights (cached per seed)."""
    torch.manual_seed(seed)
    x_train, y_train, _, _ = digits_split(seed)
    return train(mlp([64, 256, 256, 10]), x_train, y_train, steps, lr=5e-3, seed=seed, batch_size=128)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return (model(x).argmax(dim=1) == y).float().mean().item()


def serialized_bytes(model: nn.Module) -> int:
    """Size of the model's state_dict as torch.save writes it."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


@torch.no_grad()
def median_latency_ms(model: nn.Module, x: torch.Tensor, repeats: int = 50) -> float:
    """Median CPU time of one forward pass over ``x`` on one thread, after warm-up calls.

    Thread CPU time equals the latency on an idle core and, unlike wall time, does not count
    the time spent waiting while other processes use the CPU."""
    with one_thread():
        for _ in range(5):
            model(x)
        times = []
        for _ in range(repeats):
            start = time.thread_time()
            model(x)
            times.append(time.thread_time() - start)
    return 1000 * statistics.median(times)


# --8<-- [end:setup]

from snippets.common import make_parser, number, positive_float, positive_int, run_cli  # noqa: E402


# --8<-- [start:quant-scratch]
def affine_qparams(x: torch.Tensor, qmin: int = 0, qmax: int = 255) -> tuple[float, int]:
    """Scale and zero point mapping [min(x), max(x)] (widened to contain 0) onto [qmin, qmax]."""
    low = torch.clamp(x.min(), max=0.0)
    high = torch.clamp(x.max(), min=0.0)
    scale = torch.clamp((high - low) / (qmax - qmin), min=torch.finfo(torch.float32).eps)
    zero_point = torch.clamp(qmin - torch.round(low / scale), qmin, qmax)
    return float(scale), int(zero_point)


def quantize(x: torch.Tensor, scale: float, zero_point: int, qmin: int = 0, qmax: int = 255) -> torch.Tensor:
    """Real numbers -> integers: q = clamp(round(x / scale) + zero_point)."""
    return torch.clamp(torch.round(x / scale) + zero_point, qmin, qmax).to(torch.int32)


def dequantize(q: torch.Tensor, scale: float, zero_point: int) -> torch.Tensor:
    """Integers -> real numbers: x_hat = scale * (q - zero_point)."""
    return scale * (q - zero_point).to(torch.float32)


# --8<-- [end:quant-scratch]


# --8<-- [start:quant-torch]
@contextlib.contextmanager
def legacy_quantization_api() -> Iterator[None]:
    """torch.ao.quantization still works in torch 2.13 but warns on every call that it is
    deprecated in favour of torchao; silence only those warnings."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"(?s).*torch\.ao\.quantization is deprecated")
        warnings.filterwarnings("ignore", message=r"(?s).*quantize_per_tensor.*deprecated")
        warnings.filterwarnings("ignore", message=r"(?s).*reduce_range will be deprecated")
        yield


def dynamic_quantize(model: nn.Module) -> nn.Module:
    """int8 weights for every nn.Linear; activations are quantized on the fly, per batch."""
    from torch.ao.quantization import quantize_dynamic

    with legacy_quantization_api():
        return quantize_dynamic(copy.deepcopy(model).cpu().eval(), {nn.Linear}, dtype=torch.qint8)


def static_quantize(model: nn.Sequential, calibration_x: torch.Tensor) -> nn.Module:
    """Eager-mode static quantization: fuse Linear+ReLU, observe ranges, convert to int8."""
    from torch.ao.quantization import DeQuantStub, QuantStub, convert, fuse_modules
    from torch.ao.quantization import get_default_qconfig, prepare

    with legacy_quantization_api():
        body = copy.deepcopy(model).cpu().eval()
        pairs = [
            [str(i), str(i + 1)]
            for i in range(len(body) - 1)
            if isinstance(body[i], nn.Linear) and isinstance(body[i + 1], nn.ReLU)
        ]
        fuse_modules(body, pairs, inplace=True)
        wrapped = nn.Sequential(QuantStub(), body, DeQuantStub()).eval()  # float in, float out
        wrapped.qconfig = get_default_qconfig(torch.backends.quantized.engine)  # "x86" on a PC
        prepare(wrapped, inplace=True)  # insert observers
        with torch.no_grad():
            wrapped(calibration_x)  # calibration: the observers record activation ranges
        return convert(wrapped, inplace=True)


# --8<-- [end:quant-torch]


# --8<-- [start:prune-scratch]
def magnitude_mask(weight: torch.Tensor, amount: float) -> torch.Tensor:
    """Unstructured: 0 for the round(amount * n) weights of smallest |w|, 1 elsewhere."""
    mask = torch.ones_like(weight)
    k = round(amount * weight.numel())
    if k > 0:
        smallest = torch.topk(weight.abs().flatten(), k, largest=False).indices
        mask.view(-1)[smallest] = 0
    return mask


def neuron_mask(weight: torch.Tensor, amount: float) -> torch.Tensor:
    """Structured: zero whole rows (output neurons) with the smallest L2 norm."""
    mask = torch.ones_like(weight)
    k = round(amount * weight.shape[0])
    if k > 0:
        weakest = torch.topk(weight.norm(dim=1), k, largest=False).indices
        mask[weakest, :] = 0
    return mask


def sparsity(weight: torch.Tensor) -> float:
    return (weight == 0).float().mean().item()


# --8<-- [end:prune-scratch]


# --8<-- [start:prune-torch]
def linear_layers(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def prune_weights(model: nn.Module, amount: float) -> nn.Module:
    """L1 (magnitude) unstructured pruning of every Linear layer's weight."""
    pruned = copy.deepcopy(model)
    for layer in linear_layers(pruned):
        prune.l1_unstructured(layer, name="weight", amount=amount)
    return pruned


def prune_neurons(model: nn.Module, amount: float) -> nn.Module:
    """Structured pruning: remove the weakest rows (L2 norm) of every hidden layer, and
    their biases, so a pruned neuron outputs exactly 0."""
    pruned = copy.deepcopy(model)
    for layer in linear_layers(pruned)[:-1]:  # keep all 10 output classes
        prune.ln_structured(layer, name="weight", amount=amount, n=2, dim=0)
        prune.custom_from_mask(layer, name="bias", mask=layer.weight_mask.amax(dim=1))
    return pruned


def make_permanent(model: nn.Module) -> nn.Module:
    """Fold the masks into the weights (weight_orig * weight_mask -> weight)."""
    for layer in linear_layers(model):
        for name in ("weight", "bias"):
            if hasattr(layer, name + "_orig"):
                prune.remove(layer, name)
    return model


# --8<-- [end:prune-torch]


# --8<-- [start:distill]
def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    temperature: float = 4.0,
    alpha: float = 0.9,
) -> torch.Tensor:
    """Hinton et al. (2015): alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE."""
    t = temperature
    soft = F.kl_div(
        F.log_softmax(student_logits / t, dim=1),
        F.log_softmax(teacher_logits / t, dim=1),
        log_target=True,
        reduction="batchmean",  # the true KL divergence, averaged over the batch
    )
    hard = F.cross_entropy(student_logits, labels)
    return alpha * t**2 * soft + (1 - alpha) * hard


def train_student(
    seed: int,
    n_labelled: int = 100,
    teacher: nn.Module | None = None,
    temperature: float = 4.0,
    alpha: float = 0.9,
    steps: int = 200,
) -> nn.Sequential:
    """A 64-32-10 student trained (full batch) on ``n_labelled`` random training rows:
    on their hard labels only, or distilled from ``teacher`` when one is given."""
    x_train, y_train, _, _ = digits_split(seed)
    subset = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(seed))[:n_labelled]
    x, y = x_train[subset], y_train[subset]
    teacher_logits = None
    if teacher is not None:
        with torch.no_grad():
            teacher_logits = teacher(x)  # computed once: the teacher is frozen
    torch.manual_seed(seed + 1)  # the same initial student with and without a teacher
    student = mlp([64, 32, 10])
    return train(
        student,
        x,
        y,
        steps,
        lr=1e-2,
        seed=seed,
        teacher_logits=teacher_logits,
        temperature=temperature,
        alpha=alpha,
        batch_size=len(x),
    )


# --8<-- [end:distill]


# --8<-- [start:solution-per-channel]
def weight_roundtrip_error(weight: torch.Tensor, per_channel: bool) -> float:
    """Mean |w - dequantize(quantize(w))| for symmetric int8, one scale per tensor or per row."""
    if per_channel:
        max_abs = weight.abs().amax(dim=1, keepdim=True)
    else:
        max_abs = weight.abs().max()
    scale = torch.clamp(max_abs / 127, min=torch.finfo(torch.float32).eps)
    q = torch.clamp(torch.round(weight / scale), -127, 127)
    return (weight - q * scale).abs().mean().item()


# --8<-- [end:solution-per-channel]


# --8<-- [start:solution-shrink]
def shrink(model: nn.Sequential) -> nn.Sequential:
    """Rebuild a pruned MLP without its dead hidden neurons (zero weight row and bias).

    Call make_permanent first. The outputs do not change, but the layers get smaller."""
    layers = [copy.deepcopy(m) for m in model]
    positions = [i for i, m in enumerate(layers) if isinstance(m, nn.Linear)]
    for i, j in zip(positions[:-1], positions[1:], strict=True):
        current, following = layers[i], layers[j]
        alive = (current.weight.abs().sum(dim=1) + current.bias.abs()) > 0
        smaller = nn.Linear(current.in_features, int(alive.sum()))
        smaller.weight.data, smaller.bias.data = current.weight.data[alive], current.bias.data[alive]
        narrower = nn.Linear(int(alive.sum()), following.out_features)
        narrower.weight.data, narrower.bias.data = following.weight.data[:, alive], following.bias.data
        layers[i], layers[j] = smaller, narrower
    return nn.Sequential(*layers).eval()


# --8<-- [end:solution-shrink]


# --8<-- [start:solution-logit-matching]
def logit_matching_gap(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float
) -> float:
    """Relative gap between T^2 * KL and the logit-matching loss sum((z - v)^2) / (2K).

    Hinton et al. show the two agree for large T when the logits have zero mean."""
    z = student_logits - student_logits.mean(dim=1, keepdim=True)
    v = teacher_logits - teacher_logits.mean(dim=1, keepdim=True)
    t = temperature
    kl = F.kl_div(F.log_softmax(z / t, 1), F.log_softmax(v / t, 1), log_target=True, reduction="batchmean")
    matching = ((z - v) ** 2).sum(dim=1).mean() / (2 * z.shape[1])
    return abs((t**2 * kl - matching) / matching).item()


# --8<-- [end:solution-logit-matching]


def fine_tune(model: nn.Module, seed: int, steps: int = 60) -> nn.Module:
    """A few Adam steps on the training set; pruning masks stay applied while training."""
    x_train, y_train, _, _ = digits_split(seed)
    return train(model, x_train, y_train, steps=steps, seed=seed + 7)


def plot_pruning_curves():
    """Test accuracy against the fraction pruned, by weights and by neurons."""
    import matplotlib.pyplot as plt

    teacher = train_teacher(0)
    _, _, x_test, y_test = digits_split(0)
    fractions = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for label, prune_fn, color in [
        ("weights (L1, unstructured)", prune_weights, "#1b6ca8"),
        ("neurons (L2 rows, structured)", prune_neurons, "#d95f02"),
    ]:
        before, after = [], []
        for amount in fractions:
            pruned = prune_fn(teacher, amount)
            before.append(accuracy(pruned, x_test, y_test))
            tuned = fine_tune(pruned, seed=0) if amount > 0 else pruned
            after.append(accuracy(tuned, x_test, y_test))
        ax.plot(fractions, before, "o-", color=color, label=f"{label}")
        ax.plot(fractions, after, "s--", color=color, alpha=0.7, label=f"{label} + 60 steps")
    ax.set_xlabel("fraction pruned")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def plot_temperature():
    """The teacher's class probabilities for one test image at three temperatures."""
    import matplotlib.pyplot as plt

    teacher = train_teacher(0)
    _, _, x_test, y_test = digits_split(0)
    with torch.no_grad():
        logits = teacher(x_test[:1])[0]
    fig, axes = plt.subplots(1, 4, figsize=(10, 2.6), gridspec_kw={"width_ratios": [0.8, 1, 1, 1]})
    axes[0].imshow(x_test[0].reshape(8, 8), cmap="gray_r")
    axes[0].set_title(f"label {int(y_test[0])}")
    axes[0].axis("off")
    for ax, t in zip(axes[1:], [1, 4, 10], strict=True):
        probs = torch.softmax(logits / t, dim=0).numpy()
        ax.bar(range(10), probs, color="#1b6ca8")
        ax.set_yscale("log")
        ax.set_ylim(1e-6, 1.5)
        ax.set_xticks(range(10))
        ax.set_title(f"T = {t}")
    axes[1].set_ylabel("softmax(z / T)")
    fig.tight_layout()
    return fig


FIGURES = {"compression-pruning": plot_pruning_curves, "compression-temperature": plot_temperature}
# Points a figure may move between CPUs (tools/figures.py), measured with ATEN_CPU_CAPABILITY
# default, avx2 and avx512: the default level draws them differently.
FIGURE_TOLERANCE = {"compression-pruning": 5.0, "compression-temperature": 3.0}


def fraction(text: str) -> float:
    """argparse type: a number strictly between 0 and 1."""
    value = number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text}")
    return value


def report(args: argparse.Namespace) -> None:
    """Compress the teacher in every way, then print size, accuracy and (optionally) latency."""
    x_train, y_train, x_test, y_test = digits_split(args.seed)
    if args.labels > len(x_train):
        raise ValueError(f"--labels must be at most {len(x_train)}, got {args.labels}")
    teacher = train_teacher(args.seed)
    rows: list[tuple[str, nn.Module, str]] = [("fp32 teacher 64-256-256-10", teacher, "")]
    rows.append(("dynamic int8 (Linear weights)", dynamic_quantize(teacher), ""))
    engine = torch.backends.quantized.engine
    rows.append((f"static int8 ({engine}, 256 rows)", static_quantize(teacher, x_train[:256]), ""))
    by_weight = make_permanent(fine_tune(prune_weights(teacher, args.sparsity), args.seed))
    nonzero = 1 - sum((m.weight == 0).sum().item() for m in linear_layers(by_weight)) / sum(
        m.weight.numel() for m in linear_layers(by_weight)
    )
    rows.append((f"{args.sparsity:.0%} of weights pruned + tune", by_weight, f"nonzero {nonzero:.0%}"))
    by_neuron = make_permanent(fine_tune(prune_neurons(teacher, args.neurons), args.seed))
    small = shrink(by_neuron)
    widths = "-".join(str(m.in_features) for m in linear_layers(small)) + "-10"
    rows.append((f"{args.neurons:.0%} of neurons pruned, shrunk", small, widths))
    plain = train_student(args.seed, args.labels, temperature=args.temperature)
    distilled = train_student(args.seed, args.labels, teacher=teacher, temperature=args.temperature)
    rows.append((f"student, {args.labels} labels", plain, "64-32-10"))
    rows.append((f"student distilled, T={args.temperature:g}", distilled, "64-32-10"))

    print(f"seed={args.seed} digits: {len(x_train)} training rows, {len(x_test)} test rows")
    header = f"{'model':<34}{'bytes':>9}{'ratio':>7}{'accuracy':>10}"
    if args.timing:
        header += f"{'ms b=1':>9}{'ms b=256':>10}"
    print(header)
    base = serialized_bytes(teacher)
    for name, model, note in rows:
        size = serialized_bytes(model)
        line = f"{name:<34}{size:>9}{base / size:>7.2f}{accuracy(model, x_test, y_test):>10.3f}"
        if args.timing:
            line += f"{median_latency_ms(model, x_test[:1], repeats=300):>9.3f}"
            line += f"{median_latency_ms(model, x_test[:256], repeats=300):>10.3f}"
        print(line + (f"  {note}" if note else ""))


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.deployment.compression",
        "Quantize, prune and distil a digits classifier; print size and accuracy.",
    )
    parser.add_argument(
        "--sparsity", type=fraction, default=0.8, help="fraction of weights to prune (default: 0.8)"
    )
    parser.add_argument(
        "--neurons", type=fraction, default=0.5, help="fraction of hidden neurons to prune (default: 0.5)"
    )
    parser.add_argument(
        "--labels",
        type=positive_int,
        default=100,
        help="labelled training rows the student sees (default: 100)",
    )
    parser.add_argument(
        "--temperature", type=positive_float, default=4.0, help="distillation temperature T (default: 4)"
    )
    parser.add_argument(
        "--timing",
        action="store_true",
        help="also print the median CPU latency (1 thread) for batches of 1 and 256",
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
