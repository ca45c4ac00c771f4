"""Generative adversarial networks: a GAN on a ring of Gaussians and a conditional GAN on digits.

Run ``python -m snippets.architectures.gan --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import math

import torch
from sklearn.datasets import load_digits
from torch import nn


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


MODES, RADIUS, SPREAD = 8, 2.0, 0.05


def ring_of_gaussians(n: int, generator: torch.Generator) -> torch.Tensor:
    """n points from 8 Gaussians placed evenly on a circle: a distribution with 8 modes."""
    modes = torch.randint(0, MODES, (n,), generator=generator)
    angles = 2 * math.pi * modes / MODES
    centres = RADIUS * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return centres + SPREAD * torch.randn(n, 2, generator=generator)


def mlp(inputs: int, outputs: int, hidden: int = 128) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(inputs, hidden),
        nn.LeakyReLU(0.2),
        nn.Linear(hidden, hidden),
        nn.LeakyReLU(0.2),
        nn.Linear(hidden, outputs),
    )


# --8<-- [end:setup]


# --8<-- [start:train]
def train_gan(steps: int = 2000, batch: int = 256, latent: int = 8, seed: int = 0):
    """Alternate one discriminator step and one generator step (non-saturating loss)."""
    torch.manual_seed(seed)
    device = pick_device()
    data = torch.Generator().manual_seed(seed)
    generator, discriminator = mlp(latent, 2).to(device), mlp(2, 1).to(device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(batch, 1, device=device), torch.zeros(batch, 1, device=device)
    snapshots = {}
    for step in range(1, steps + 1):
        real = ring_of_gaussians(batch, data).to(device)
        fake = generator(torch.randn(batch, latent, device=device))
        # Discriminator: maximise log D(x) + log(1 - D(G(z))), i.e. classify real vs fake.
        loss_d = bce(discriminator(real), ones) + bce(discriminator(fake.detach()), zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        # Generator: maximise log D(G(z)) (the non-saturating form of minimising log(1 - D(G(z)))).
        loss_g = bce(discriminator(fake), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        if step in (steps // 10, steps // 2, steps):
            with torch.no_grad():
                snapshots[step] = generator(torch.randn(1000, latent, device=device)).cpu()
    return generator, snapshots


# --8<-- [end:train]


# --8<-- [start:coverage]
def mode_coverage(samples: torch.Tensor, min_share: float = 0.02) -> tuple[int, float]:
    """(modes holding at least ``min_share`` of the samples, share of samples near any mode)."""
    angles = 2 * math.pi * torch.arange(MODES) / MODES
    centres = RADIUS * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    distances = torch.cdist(samples, centres)
    nearest = distances.argmin(dim=1)
    close = distances.min(dim=1).values < 4 * SPREAD
    shares = torch.bincount(nearest[close], minlength=MODES).float() / len(samples)
    return int((shares >= min_share).sum()), close.float().mean().item()


# --8<-- [end:coverage]


# --8<-- [start:conditional]
def digits_data() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 digits (shipped with the package), scaled to [-1, 1]."""
    digits = load_digits()
    images = torch.tensor(digits.data, dtype=torch.float32) / 8.0 - 1.0
    return images, torch.tensor(digits.target)


def train_conditional_gan(steps: int = 1500, batch: int = 128, latent: int = 32, seed: int = 0) -> nn.Module:
    """A conditional GAN: generator and discriminator both see the class as a one-hot vector."""
    torch.manual_seed(seed)
    device = pick_device()
    images, labels = digits_data()
    images, labels = images.to(device), labels.to(device)
    generator = nn.Sequential(mlp(latent + 10, 64, hidden=128), nn.Tanh()).to(device)
    discriminator = mlp(64 + 10, 1, hidden=128).to(device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(batch, 1, device=device), torch.zeros(batch, 1, device=device)
    for _ in range(steps):
        index = torch.randint(0, len(images), (batch,), device=device)
        real, onehot = images[index], nn.functional.one_hot(labels[index], 10).float()
        fake = generator(torch.cat([torch.randn(batch, latent, device=device), onehot], dim=1))
        loss_d = bce(discriminator(torch.cat([real, onehot], 1)), ones) + bce(
            discriminator(torch.cat([fake.detach(), onehot], 1)), zeros
        )
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = bce(discriminator(torch.cat([fake, onehot], 1)), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    return generator


def generate_digits(generator: nn.Module, labels: torch.Tensor, latent: int = 32) -> torch.Tensor:
    device = next(generator.parameters()).device
    onehot = nn.functional.one_hot(labels.to(device), 10).float()
    with torch.no_grad():
        return generator(torch.cat([torch.randn(len(labels), latent, device=device), onehot], dim=1)).cpu()


# --8<-- [end:conditional]


def digit_classifier():
    """A logistic-regression judge trained on the real digits (about 96% test accuracy)."""
    from sklearn.linear_model import LogisticRegression

    images, labels = digits_data()
    return LogisticRegression(max_iter=2000).fit(images.numpy(), labels.numpy())


def conditional_accuracy(generator: nn.Module, per_class: int = 50) -> float:
    """Share of generated digits that the judge classifies as the class they were asked for."""
    labels = torch.arange(10).repeat_interleave(per_class)
    fakes = generate_digits(generator, labels)
    return float((digit_classifier().predict(fakes.numpy()) == labels.numpy()).mean())


def plot_training():
    """Samples of the ring GAN at three points of training, over the real data."""
    import matplotlib.pyplot as plt

    _, snapshots = train_gan(seed=0)
    real = ring_of_gaussians(1000, torch.Generator().manual_seed(1))
    fig, axes = plt.subplots(1, len(snapshots), figsize=(9, 3.2), sharex=True, sharey=True)
    for ax, (step, samples) in zip(axes, snapshots.items(), strict=True):
        ax.scatter(real[:, 0], real[:, 1], s=4, color="#bbbbbb", label="data", rasterized=True)
        ax.scatter(samples[:, 0], samples[:, 1], s=4, color="#d95f02", label="G(z)", rasterized=True)
        covered, _ = mode_coverage(samples)
        ax.set_title(f"step {step}: {covered}/{MODES} modes")
        ax.set_aspect("equal")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def plot_digits():
    """One row per class: digits drawn by the conditional generator."""
    import matplotlib.pyplot as plt

    generator = train_conditional_gan(seed=0)
    fakes = generate_digits(generator, torch.arange(10).repeat_interleave(6))
    fig, axes = plt.subplots(10, 6, figsize=(3.6, 6))
    for ax, image in zip(axes.flat, fakes, strict=True):
        ax.imshow(image.view(8, 8).numpy(), cmap="gray_r", vmin=-1, vmax=1)
        ax.axis("off")
    fig.tight_layout(pad=0.2)
    return fig


FIGURES = {"gan-ring-training": plot_training, "gan-conditional-digits": plot_digits}
# Points a figure may move between CPUs (tools/figures.py), measured with ATEN_CPU_CAPABILITY
# default, avx2 and avx512: the default level draws them differently; math.inf: only the labels are compared.
FIGURE_TOLERANCE = {"gan-conditional-digits": math.inf, "gan-ring-training": math.inf}


# Lines of the recorded output whose numbers differ between CPUs (tests/test_outputs.py): which
# modes survive depends on rounding that the game amplifies, so the counts are not compared
# (the page says so; tests/architectures/test_gan.py checks the bounds).
OUTPUT_TOLERANCE = {"ring GAN step": math.inf}


def report(args: argparse.Namespace) -> None:
    _, snapshots = train_gan(steps=args.steps, seed=args.seed)
    for step, samples in snapshots.items():
        covered, near = mode_coverage(samples)
        print(f"ring GAN step {step:>5}: {covered}/{MODES} modes covered, {near:.0%} of samples near a mode")
    generator = train_conditional_gan(steps=args.cgan_steps, seed=args.seed)
    print(
        f"conditional GAN on digits: {conditional_accuracy(generator):.0%} of generated digits "
        "are classified as the requested class (chance: 10%)"
    )


def main(argv: list[str] | None = None) -> int:
    from snippets.common import make_parser, positive_int, run_cli

    parser = make_parser("python -m snippets.architectures.gan", "Train a GAN and a conditional GAN.")
    parser.add_argument("--steps", type=positive_int, default=2000, help="ring GAN steps (default: 2000)")
    parser.add_argument(
        "--cgan-steps", type=positive_int, default=1500, help="conditional GAN steps (default: 1500)"
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
