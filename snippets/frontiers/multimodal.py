"""Multimodal learning: a tiny CLIP trained on digit images paired with generated captions.

Run ``python -m snippets.frontiers.multimodal --help`` for the options.
"""

from __future__ import annotations

import math
import argparse

# --8<-- [start:data]
import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.nn import functional as F


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
NUMERALS = [str(d) for d in range(10)]
STROKES = ["thin", "regular", "bold"]  # how much ink the digit uses
SLANTS = ["left-leaning", "upright", "right-leaning"]  # how the strokes lean
FILLER = ["a", "photo", "of", "the", "handwritten", "digit", "small", "scan", "number", "image"]
VOCAB = ["<pad>", *NUMBER_WORDS, *NUMERALS, *STROKES, *SLANTS, *FILLER]
TOKEN = {word: i for i, word in enumerate(VOCAB)}
MAX_TOKENS = 8


def style_of(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stroke (ink tertile) and slant (tertile of the ink's x-y covariance) of 8x8 images."""
    grids = images.reshape(-1, 8, 8)
    ink = grids.sum(axis=(1, 2))
    rows, cols = np.mgrid[0:8, 0:8]
    mass = grids / ink[:, None, None]
    mean_r = (mass * rows).sum(axis=(1, 2))
    mean_c = (mass * cols).sum(axis=(1, 2))
    cov = (mass * (rows - mean_r[:, None, None]) * (cols - mean_c[:, None, None])).sum(axis=(1, 2))
    slant = -cov  # the top (small row) further right (large column) means a right lean
    stroke_bin = np.digitize(ink, np.quantile(ink, [1 / 3, 2 / 3]))
    slant_bin = np.digitize(slant, np.quantile(slant, [1 / 3, 2 / 3]))
    return stroke_bin, slant_bin


def make_caption(label: int, stroke: int, slant: int, rng: np.random.Generator) -> list[int]:
    """Token ids for one caption: the class (as a word or a numeral), the style and filler words."""
    name = NUMBER_WORDS[label] if rng.random() < 0.5 else NUMERALS[label]
    words = [name, STROKES[stroke], SLANTS[slant]]
    words += list(rng.choice(FILLER, size=rng.integers(1, MAX_TOKENS - 2), replace=False))
    rng.shuffle(words)
    ids = [TOKEN[w] for w in words]
    return ids + [TOKEN["<pad>"]] * (MAX_TOKENS - len(ids))


def make_pairs(seed: int, n_test: int = 500) -> dict[str, torch.Tensor]:
    """Digits images (scaled to [0, 1]) and one generated caption each, split into train/test."""
    rng = np.random.default_rng(seed)
    digits = load_digits()
    images = digits.data / 16.0
    stroke, slant = style_of(images)
    captions = np.array(
        [make_caption(y, s, t, rng) for y, s, t in zip(digits.target, stroke, slant, strict=True)]
    )
    order = rng.permutation(len(images))
    test, train = order[:n_test], order[n_test:]
    x = torch.tensor(images, dtype=torch.float32)
    t = torch.tensor(captions, dtype=torch.long)
    y = torch.tensor(digits.target, dtype=torch.long)
    return {
        "train_images": x[train], "train_texts": t[train], "train_labels": y[train],
        "test_images": x[test], "test_texts": t[test], "test_labels": y[test],
    }  # fmt: skip


# --8<-- [end:data]

from snippets.common import make_parser, positive_float, positive_int, run_cli, seed_everything  # noqa: E402


# --8<-- [start:model]
class TinyCLIP(nn.Module):
    """Two encoders that map images and captions into one shared, normalised embedding space."""

    def __init__(self, vocab_size: int = len(VOCAB), dim: int = 32, hidden: int = 128) -> None:
        super().__init__()
        self.image_encoder = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.token_embedding = nn.EmbeddingBag(vocab_size, hidden, mode="mean", padding_idx=0)
        self.text_head = nn.Sequential(nn.ReLU(), nn.Linear(hidden, dim))
        # log of the inverse temperature, learned; CLIP starts at 1/0.07 and caps it at 100
        self.logit_scale = nn.Parameter(torch.tensor(float(np.log(1 / 0.07))))

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.image_encoder(images), dim=-1)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text_head(self.token_embedding(tokens)), dim=-1)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Logits s * cos(image_i, text_j) for every pair in the batch, shape (N, N)."""
        scale = self.logit_scale.exp().clamp(max=100.0)
        return scale * self.encode_image(images) @ self.encode_text(tokens).T


# --8<-- [end:model]


# --8<-- [start:scratch]
def clip_loss(logits: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE written out: the matching pair sits on the diagonal of ``logits``."""
    diagonal = logits.diagonal()
    image_to_text = (torch.logsumexp(logits, dim=1) - diagonal).mean()  # each row: one image
    text_to_image = (torch.logsumexp(logits, dim=0) - diagonal).mean()  # each column: one text
    return (image_to_text + text_to_image) / 2


# --8<-- [end:scratch]


# --8<-- [start:torch]
def clip_loss_torch(logits: torch.Tensor) -> torch.Tensor:
    """The same loss as two cross-entropies whose targets are the diagonal."""
    targets = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


# --8<-- [end:torch]


# --8<-- [start:train]
def train_clip(
    data: dict[str, torch.Tensor], epochs: int = 25, batch_size: int = 256, lr: float = 5e-3
) -> tuple[TinyCLIP, list[float]]:
    """Train TinyCLIP with the symmetric contrastive loss; return it and the loss per epoch."""
    device = pick_device()
    model = TinyCLIP().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    images, texts = data["train_images"].to(device), data["train_texts"].to(device)
    history = []
    for _ in range(epochs):
        order = torch.randperm(len(images), device=device)
        total = 0.0
        for start in range(0, len(images), batch_size):
            batch = order[start : start + batch_size]
            loss = clip_loss(model(images[batch], texts[batch]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        history.append(total / len(images))
    return model, history


# --8<-- [end:train]


# --8<-- [start:evaluate]
@torch.no_grad()
def retrieval_recall(
    model: TinyCLIP, images: torch.Tensor, texts: torch.Tensor, k: int = 1
) -> tuple[float, float]:
    """Recall@k in both directions: is the true partner among the k most similar items?"""
    device = next(model.parameters()).device
    sims = model.encode_image(images.to(device)) @ model.encode_text(texts.to(device)).T
    truth = torch.arange(len(sims), device=device).unsqueeze(1)
    image_to_text = (sims.topk(k, dim=1).indices == truth).any(dim=1).float().mean().item()
    text_to_image = (sims.T.topk(k, dim=1).indices == truth).any(dim=1).float().mean().item()
    return image_to_text, text_to_image


def class_prompts() -> torch.Tensor:
    """One prompt per class, 'a photo of the digit <name>', in the model's tokens."""
    prompts = [["a", "photo", "of", "the", "digit", name] for name in NUMBER_WORDS]
    ids = [[TOKEN[w] for w in p] + [0] * (MAX_TOKENS - len(p)) for p in prompts]
    return torch.tensor(ids)


@torch.no_grad()
def zero_shot_accuracy(model: TinyCLIP, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Classify each image as the prompt it is most similar to; no classifier is trained."""
    device = next(model.parameters()).device
    sims = model.encode_image(images.to(device)) @ model.encode_text(class_prompts().to(device)).T
    return (sims.argmax(dim=1).cpu() == labels).float().mean().item()


# --8<-- [end:evaluate]


def held_out_batches(
    data: dict[str, torch.Tensor], batch_size: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Split the test pairs into batches of ``batch_size`` (the last partial one dropped)."""
    n = len(data["test_images"]) // batch_size * batch_size
    return [
        (data["test_images"][i : i + batch_size], data["test_texts"][i : i + batch_size])
        for i in range(0, n, batch_size)
    ]


def mean_recall(
    model: TinyCLIP, data: dict[str, torch.Tensor], batch_size: int, k: int
) -> tuple[float, float]:
    """Recall@k averaged over held-out batches of ``batch_size`` pairs (chance: k / batch_size)."""
    scores = [retrieval_recall(model, x, t, k) for x, t in held_out_batches(data, batch_size)]
    return float(np.mean([s[0] for s in scores])), float(np.mean([s[1] for s in scores]))


# --8<-- [start:solution-bag]
def order_blind(model: TinyCLIP) -> bool:
    """True when shuffling a caption's words leaves its embedding unchanged (a bag of words)."""
    tokens = torch.tensor([[TOKEN[w] for w in ["seven", "bold", "upright", "a", "photo"]]])
    shuffled = tokens[:, torch.randperm(tokens.shape[1])]
    with torch.no_grad():
        return torch.allclose(model.encode_text(tokens), model.encode_text(shuffled), atol=1e-6)


# --8<-- [end:solution-bag]


def plot_similarity():
    """Cosine similarities of 20 held-out pairs before and after training, and the loss curve."""
    import matplotlib.pyplot as plt

    data = make_pairs(seed=0)
    sort = torch.argsort(data["test_labels"][:20], stable=True)
    images, texts = data["test_images"][:20][sort], data["test_texts"][:20][sort]
    seed_everything(0)
    untrained = TinyCLIP()
    model, history = train_clip(data)
    model = model.cpu()
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1, 1, 1.1]})
    for ax, net, title in [(axes[0], untrained, "before training"), (axes[1], model, "after training")]:
        with torch.no_grad():
            sims = (net.encode_image(images) @ net.encode_text(texts).T).numpy()
        shown = ax.imshow(sims, vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_title(title)
        ax.set_xlabel("caption j")
        ax.set_ylabel("image i")
        labels = [str(int(v)) for v in data["test_labels"][:20][sort]]
        ax.set_xticks(range(20), labels, fontsize=7)
        ax.set_yticks(range(20), labels, fontsize=7)
    fig.colorbar(shown, ax=axes[:2], shrink=0.8, label="cos(image, caption)")
    axes[2].plot(range(1, len(history) + 1), history, color="#1b6ca8")
    axes[2].axhline(np.log(256), color="gray", linestyle="--", label="ln 256 (chance)")
    axes[2].set_xlabel("epoch")
    axes[2].set_ylabel("symmetric InfoNCE")
    axes[2].legend()
    return fig


FIGURES = {"multimodal-similarity": plot_similarity}
# Points a figure may move between CPUs (tools/figures.py), measured with ATEN_CPU_CAPABILITY
# default, avx2 and avx512: the default level draws them differently; math.inf: only the labels are compared.
FIGURE_TOLERANCE = {"multimodal-similarity": math.inf}


def report(args: argparse.Namespace) -> None:
    """Train TinyCLIP and print the loss, retrieval and zero-shot results."""
    data = make_pairs(args.seed)
    b = args.batch
    if b > len(data["test_images"]):
        raise ValueError(f"--batch must be at most {len(data['test_images'])}, got {b}")
    print(f"seed={args.seed} epochs={args.epochs} train pairs={len(data['train_images'])} "
          f"test pairs={len(data['test_images'])} vocabulary={len(VOCAB)}")  # fmt: skip
    print("example caption:", " ".join(VOCAB[i] for i in data["train_texts"][0] if i), end=" ")
    print(f"(label {int(data['train_labels'][0])})")
    seed_everything(args.seed)
    model, history = train_clip(data, epochs=args.epochs, lr=args.lr)
    temperature = 1 / model.logit_scale.exp().item()
    print(f"loss: first epoch {history[0]:.3f}, last epoch {history[-1]:.3f} "
          f"(ln 256 = {np.log(256):.3f}); learned temperature {temperature:.4f}")  # fmt: skip
    for k in (1, 5):
        i2t, t2i = mean_recall(model, data, b, k)
        print(f"held-out recall@{k} in batches of {b}: image->text {i2t:.3f}, text->image {t2i:.3f} "
              f"(chance {k / b:.3f})")  # fmt: skip
    accuracy = zero_shot_accuracy(model, data["test_images"], data["test_labels"])
    print(f"zero-shot accuracy with 10 prompts 'a photo of the digit <name>': {accuracy:.3f} (chance 0.100)")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.frontiers.multimodal",
        "Train a tiny CLIP on digit images and generated captions.",
    )
    parser.add_argument("--epochs", type=positive_int, default=25, help="passes over the data (default: 25)")
    parser.add_argument("--lr", type=positive_float, default=5e-3, help="Adam learning rate (default: 0.005)")
    parser.add_argument("--batch", type=positive_int, default=100, help="retrieval batch size (default: 100)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
