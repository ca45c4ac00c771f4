"""Diffusion models (DDPM, DDIM) and a variational autoencoder on two moons, checked against diffusers.

Run ``python -m snippets.architectures.diffusion --help`` for the options.
"""

from __future__ import annotations

import argparse
import functools
from dataclasses import dataclass

# --8<-- [start:setup]
import math

import torch
from sklearn.datasets import make_moons
from torch import nn


def two_moons(n: int, seed: int) -> torch.Tensor:
    """n points of scikit-learn's two moons, each coordinate scaled to mean 0 and std 1."""
    points, _ = make_moons(n, noise=0.05, random_state=seed)
    points = torch.tensor(points, dtype=torch.float32)
    return (points - points.mean(0)) / points.std(0)


def mmd(x: torch.Tensor, y: torch.Tensor, bandwidth: float = 0.5) -> float:
    """Squared maximum mean discrepancy with an RBF kernel (unbiased estimate): about 0 when
    x and y come from the same distribution, larger the more the two differ."""

    def kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.exp(-(torch.cdist(a, b) ** 2) / (2 * bandwidth**2))

    n, m = len(x), len(y)
    k_xx, k_yy = kernel(x, x), kernel(y, y)
    within_x = (k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))
    within_y = (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return float(within_x + within_y - 2 * kernel(x, y).mean())


# --8<-- [end:setup]

from snippets.common import at_least_two, make_parser, one_thread, positive_int, run_cli  # noqa: E402


# --8<-- [start:schedule]
T = 1000  # diffusion steps, as in Ho et al. (2020)
betas = torch.linspace(1e-4, 0.02, T)  # linear schedule beta_1 .. beta_T
alphas = 1 - betas
alphas_bar = torch.cumprod(alphas, dim=0)  # alpha-bar_t = prod of alpha_s for s <= t


def add_noise(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Sample q(x_t | x_0) in one step: sqrt(alpha-bar_t) x_0 + sqrt(1 - alpha-bar_t) noise."""
    a_bar = alphas_bar[t].unsqueeze(-1)
    return a_bar.sqrt() * x0 + (1 - a_bar).sqrt() * noise


# --8<-- [end:schedule]


# --8<-- [start:denoiser]
class Denoiser(nn.Module):
    """eps_theta(x_t, t): a small MLP that predicts the noise in x_t, told t by a sinusoidal embedding."""

    def __init__(self, hidden: int = 64, time_dim: int = 32) -> None:
        super().__init__()
        self.time_dim = time_dim
        self.net = nn.Sequential(
            nn.Linear(2 + time_dim, hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.SiLU(),
            nn.Linear(hidden, 2),
        )

    def embed(self, t: torch.Tensor) -> torch.Tensor:
        """Sines and cosines of t at geometrically spaced frequencies, as in the Transformer."""
        half = self.time_dim // 2
        frequencies = torch.exp(-math.log(10_000) * torch.arange(half) / half)
        angles = t.float().unsqueeze(-1) * frequencies
        return torch.cat([angles.sin(), angles.cos()], dim=-1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        t = t.expand(len(x)) if t.dim() == 0 else t  # one step for the whole batch, or one per point
        return self.net(torch.cat([x, self.embed(t)], dim=-1))


# --8<-- [end:denoiser]


# --8<-- [start:train]
def train_denoiser(data: torch.Tensor, steps: int = 1500, batch: int = 256, seed: int = 0) -> Denoiser:
    """Ho et al.'s simplified loss: pick x_0, t and noise; make x_t; regress the noise."""
    torch.manual_seed(seed)
    model = Denoiser()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)  # the loss is noisy: decay lr
    for _ in range(steps):
        x0 = data[torch.randint(len(data), (batch,))]
        t = torch.randint(T, (batch,))
        noise = torch.randn_like(x0)
        loss = ((model(add_noise(x0, noise, t), t) - noise) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return model.eval()


# --8<-- [end:train]


# --8<-- [start:ddpm]
@torch.no_grad()
def ddpm_sample(model: Denoiser, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Ancestral sampling from x_T = x: T network calls, fresh noise at every step but the last."""
    for t in reversed(range(T)):
        eps = model(x, torch.tensor(t))
        mean = (x - betas[t] / (1 - alphas_bar[t]).sqrt() * eps) / alphas[t].sqrt()
        if t > 0:
            # the posterior variance beta-tilde_t (diffusers' "fixed_small")
            variance = (1 - alphas_bar[t - 1]) / (1 - alphas_bar[t]) * betas[t]
            x = mean + variance.sqrt() * torch.randn(x.shape, generator=generator)
        else:
            x = mean
    return x


# --8<-- [end:ddpm]


# --8<-- [start:ddim]
@torch.no_grad()
def ddim_sample(model: Denoiser, x: torch.Tensor, steps: int = 50) -> torch.Tensor:
    """DDIM with eta = 0: deterministic, and only `steps` network calls on T // steps spaced times."""
    times = list(range(0, T, T // steps))[::-1]  # 980, 960, ..., 0 for 50 steps
    for i, t in enumerate(times):
        a_bar = alphas_bar[t]
        a_bar_prev = alphas_bar[times[i + 1]] if i + 1 < len(times) else torch.tensor(1.0)
        eps = model(x, torch.tensor(t))
        x0_pred = (x - (1 - a_bar).sqrt() * eps) / a_bar.sqrt()  # where the model thinks x_t came from
        x = a_bar_prev.sqrt() * x0_pred + (1 - a_bar_prev).sqrt() * eps  # jump straight to t_prev
    return x


# --8<-- [end:ddim]


# --8<-- [start:library]
from diffusers import DDIMScheduler, DDPMScheduler  # noqa: E402


@torch.no_grad()
def sample_with(scheduler, model: Denoiser, x: torch.Tensor, steps: int, generator=None) -> torch.Tensor:
    """The usual diffusers loop: the scheduler picks the times and takes each step."""
    scheduler.set_timesteps(steps)
    for t in scheduler.timesteps:
        eps = model(x, t)
        x = scheduler.step(eps, t, x, generator=generator).prev_sample
    return x


def schedulers(clip_sample: bool = False) -> tuple[DDPMScheduler, DDIMScheduler]:
    """The same linear schedule as above. clip_sample=True (the default) would clamp the
    predicted x_0 to [-1, 1], which is wrong for data that is not scaled into that range."""
    settings = dict(num_train_timesteps=T, beta_schedule="linear", beta_start=1e-4, beta_end=0.02)
    ddpm = DDPMScheduler(clip_sample=clip_sample, **settings)
    ddim = DDIMScheduler(clip_sample=clip_sample, **settings)
    return ddpm, ddim


# --8<-- [end:library]


# --8<-- [start:vae]
def mlp(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    """Two hidden layers with SiLU."""
    return nn.Sequential(
        nn.Linear(inputs, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, outputs)
    )


class VAE(nn.Module):
    """Kingma & Welling (2013): encoder q(z|x) = N(mu, diag sigma^2), decoder p(x|z) = N(f(z), s^2 I)."""

    def __init__(self, latent: int = 2, hidden: int = 64, decoder_std: float = 0.1) -> None:
        super().__init__()
        self.encoder = mlp(2, hidden, 2 * latent)  # -> mean and log-variance of z
        self.decoder = mlp(latent, hidden, 2)  # -> mean of x
        self.latent, self.decoder_std = latent, decoder_std

    def elbo(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per point: the ELBO = reconstruction - KL, and the two terms (in nats)."""
        mu, log_var = self.encoder(x).chunk(2, dim=-1)
        sigma = (0.5 * log_var).exp()
        z = mu + sigma * torch.randn_like(mu)  # reparameterisation: the randomness enters from outside
        x_hat = self.decoder(z)
        s2 = self.decoder_std**2
        reconstruction = -(((x - x_hat) ** 2) / (2 * s2) + 0.5 * math.log(2 * math.pi * s2)).sum(-1)
        kl = 0.5 * (mu**2 + log_var.exp() - 1 - log_var).sum(-1)  # KL(N(mu, sigma^2) || N(0, I)), closed form
        return reconstruction - kl, reconstruction, kl

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode draws from the prior N(0, I) (the decoder's mean, without its noise)."""
        return self.decoder(torch.randn(n, self.latent, generator=generator))


def train_vae(data: torch.Tensor, steps: int = 1000, batch: int = 128, seed: int = 0) -> VAE:
    """Maximise the mean ELBO with Adam: one encoder pass, one sampled z, one decoder pass per point."""
    torch.manual_seed(seed)
    vae = VAE()
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-2)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in range(steps):
        loss = -vae.elbo(data[torch.randint(len(data), (batch,))])[0].mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return vae.eval()


# --8<-- [end:vae]


# --8<-- [start:solution-ddim-eta]
def ddim_step(
    x: torch.Tensor, eps: torch.Tensor, t: int, t_prev: int, eta: float, z: torch.Tensor
) -> torch.Tensor:
    """One DDIM step from t to t_prev (t_prev < 0: to the data). eta = 0 is deterministic;
    eta = 1 adds as much fresh noise as a DDPM step over the same interval."""
    a_bar = alphas_bar[t]
    a_bar_prev = alphas_bar[t_prev] if t_prev >= 0 else torch.tensor(1.0)
    sigma = eta * ((1 - a_bar_prev) / (1 - a_bar) * (1 - a_bar / a_bar_prev)).sqrt()
    x0_pred = (x - (1 - a_bar).sqrt() * eps) / a_bar.sqrt()
    return a_bar_prev.sqrt() * x0_pred + (1 - a_bar_prev - sigma**2).sqrt() * eps + sigma * z


# --8<-- [end:solution-ddim-eta]


# --8<-- [start:solution-kl]
def kl_monte_carlo(
    mu: torch.Tensor, log_var: torch.Tensor, samples: int, generator: torch.Generator
) -> torch.Tensor:
    """KL(q || p) = E_q[log q(z) - log p(z)], estimated from `samples` draws of z per row."""
    q = torch.distributions.Normal(mu, (0.5 * log_var).exp())
    prior = torch.distributions.Normal(0.0, 1.0)
    z = mu + (0.5 * log_var).exp() * torch.randn(samples, *mu.shape, generator=generator)
    return (q.log_prob(z) - prior.log_prob(z)).sum(-1).mean(0)


# --8<-- [end:solution-kl]


TRAINING_POINTS = 4000


@dataclass
class Experiment:
    """Everything the report, the figure and the tests look at, for one seed."""

    held_out: torch.Tensor
    noise: torch.Tensor
    model: Denoiser
    samples: dict[str, torch.Tensor]
    vae: VAE
    vae_untrained: VAE


def experiment(seed: int, steps: int = 1500, n: int = 1000) -> Experiment:
    """Train the denoiser and the VAE on two moons, and draw n points every way the page shows.
    Cached: the report, the figure and the tests share one run per seed."""
    return cached_experiment(seed, steps, n)


@functools.cache
def cached_experiment(seed: int, steps: int, n: int) -> Experiment:
    """``experiment`` with its arguments always positional, so equal calls share the cache."""
    with one_thread():  # tiny models: a second thread only adds synchronisation
        return run_experiment(seed, steps, n)


def run_experiment(seed: int, steps: int, n: int) -> Experiment:
    """The work behind ``experiment``, uncached."""
    data = two_moons(TRAINING_POINTS, seed)
    held_out = two_moons(n, seed + 1000)
    model = train_denoiser(data, steps=steps, seed=seed)
    noise = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))
    ddpm, ddim = schedulers()
    clipping_ddpm, _ = schedulers(clip_sample=True)
    samples = {
        "ddpm": ddpm_sample(model, noise, torch.Generator().manual_seed(seed)),
        "ddpm_diffusers": sample_with(ddpm, model, noise, T, torch.Generator().manual_seed(seed)),
        "ddim": ddim_sample(model, noise, 50),
        "ddim_diffusers": sample_with(ddim, model, noise, 50),
        "ddpm_clipped": sample_with(clipping_ddpm, model, noise, T, torch.Generator().manual_seed(seed)),
    }
    torch.manual_seed(seed)
    vae_untrained = VAE()
    vae = train_vae(data, seed=seed)
    samples["vae"] = vae.sample(n, torch.Generator().manual_seed(seed))
    return Experiment(held_out, noise, model, samples, vae, vae_untrained)


def outside_unit_square(points: torch.Tensor) -> float:
    """The share of points with a coordinate outside [-1, 1]."""
    return float((points.abs() > 1).any(dim=-1).float().mean())


def held_out_elbo(vae: VAE, points: torch.Tensor, seed: int) -> tuple[float, float, float]:
    """Mean ELBO, reconstruction and KL on the given points (one z per point, seeded)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        return tuple(float(term.mean()) for term in vae.elbo(points))


def report(args: argparse.Namespace) -> None:
    """Train on two moons, sample with DDPM and DDIM (ours and diffusers'), train a VAE."""
    run = experiment(args.seed, args.steps, args.samples)
    x0 = run.held_out
    t = torch.randint(T, (len(x0),), generator=torch.Generator().manual_seed(args.seed))
    same_noising = torch.allclose(
        add_noise(x0, run.noise, t), schedulers()[0].add_noise(x0, run.noise, t), atol=1e-6
    )
    print(f"seed={args.seed} training steps={args.steps} samples={args.samples} (two moons, standardised)")
    print(f"linear schedule: beta from {betas[0]:.4f} to {betas[-1]:.2f}, alpha-bar_T = {alphas_bar[-1]:.1e}")
    print(f"our noising equals DDPMScheduler.add_noise: {same_noising}")
    print(f"MMD^2 to {len(x0)} held-out points (RBF kernel, bandwidth 0.5; lower is closer):")
    rows = [
        ("Gaussian noise", run.noise, 0),
        ("DDPM, ours", run.samples["ddpm"], T),
        ("DDPM, diffusers", run.samples["ddpm_diffusers"], T),
        ("DDIM eta=0, ours", run.samples["ddim"], 50),
        ("DDIM eta=0, diffusers", run.samples["ddim_diffusers"], 50),
        ("DDPM, clip_sample=True", run.samples["ddpm_clipped"], T),
        ("VAE, decoder mean", run.samples["vae"], 1),
    ]
    for name, points, calls in rows:
        print(f"  {name:<24} {mmd(points, x0):7.4f}   network calls {calls:>4}")
    ddpm_gap = float((run.samples["ddpm"] - run.samples["ddpm_diffusers"]).abs().max())
    ddim_gap = float((run.samples["ddim"] - run.samples["ddim_diffusers"]).abs().max())
    print(f"ours and diffusers' samples agree to 1e-3: DDPM {ddpm_gap < 1e-3}, DDIM {ddim_gap < 1e-3}")
    print(
        "points with a coordinate outside [-1, 1]: "
        f"held-out data {outside_unit_square(x0):.1%}, DDPM {outside_unit_square(run.samples['ddpm']):.1%}, "
        f"clip_sample=True {outside_unit_square(run.samples['ddpm_clipped']):.1%}"
    )
    before = held_out_elbo(run.vae_untrained, x0, args.seed)
    after = held_out_elbo(run.vae, x0, args.seed)
    print(f"VAE on held-out points: ELBO {before[0]:.1f} before training, {after[0]:.2f} after")
    print(f"  after training: reconstruction {after[1]:.2f}, KL {after[2]:.2f} (nats per point)")


def plot_diffusion():
    """Top: the forward process on two moons. Bottom: samples from each sampler and the VAE."""
    import matplotlib.pyplot as plt

    run = experiment(0)
    x0 = run.held_out
    fig, axes = plt.subplots(2, 4, figsize=(11, 5.6), sharex=True, sharey=True)
    for ax, t in zip(axes[0], (0, 100, 300, T - 1), strict=True):
        xt = add_noise(x0, run.noise, torch.full((len(x0),), t))
        ax.scatter(xt[:, 0], xt[:, 1], s=3, color="#7570b3", linewidths=0, rasterized=True)
        ax.set_title(f"$t = {t}$, $\\bar\\alpha = {float(alphas_bar[t]):.2g}$" if t else "data $x_0$")
    panels = [
        ("ddpm", "DDPM, 1000 steps"),
        ("ddim", "DDIM, 50 steps"),
        ("vae", "VAE (decoder mean)"),
        ("ddpm_clipped", "DDPM, clip_sample=True"),
    ]
    for ax, (key, title) in zip(axes[1], panels, strict=True):
        ax.scatter(x0[:, 0], x0[:, 1], s=3, color="#cccccc", linewidths=0, rasterized=True)
        points = run.samples[key]
        ax.scatter(points[:, 0], points[:, 1], s=3, color="#d95f02", linewidths=0, rasterized=True)
        ax.set_title(f"{title}\nMMD$^2$ {mmd(points, x0):.4f}")
    for ax in axes.flat:
        ax.set(xlim=(-3, 3), ylim=(-3, 3), aspect="equal")
    fig.tight_layout()
    return fig


FIGURES = {"diffusion-moons": plot_diffusion}


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.architectures.diffusion",
        "DDPM and DDIM from scratch and with diffusers' schedulers, and a VAE, on two moons.",
    )
    parser.add_argument("--steps", type=positive_int, default=1500, help="training steps (default: 1500)")
    parser.add_argument(
        "--samples", type=at_least_two, default=1000, help="points to generate (default: 1000)"
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
