"""Claims of docs/architectures/diffusion.md.

The trained models come from ``experiment(seed)``, cached per process: the recorded-output test
(default seed) and the figure use the same run, so each seed is trained once.
"""

from __future__ import annotations

import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

from snippets.architectures.diffusion import (
    T,
    VAE,
    Denoiser,
    add_noise,
    alphas_bar,
    betas,
    ddim_sample,
    ddim_step,
    experiment,
    held_out_elbo,
    kl_monte_carlo,
    mmd,
    outside_unit_square,
    schedulers,
    two_moons,
)
from tests.helpers import seeds

pytestmark = pytest.mark.usefixtures("single_thread_module")

# Measured over seeds 0..5 (ATEN_CPU_CAPABILITY=default) and 0..2 (avx2, avx512; same values to four
# decimals), as shares of the noise's MMD^2: DDPM 0.012-0.046, DDIM 0.025-0.051, VAE 0.24-0.32,
# DDIM minus DDPM at most 0.038, one DDIM step 0.98-0.99, untrained denoiser 2.6-3.3, clipped DDPM
# 1.38-1.78. Ours vs diffusers: DDPM at most 9e-5 apart, DDIM 0. Held-out ELBO -97 .. -100 before
# training, -2.2 .. -2.4 after, KL about 4.0. Share of held-out points outside [-1, 1]: 0.73-0.74.
CLOSER_THAN_NOISE = 0.25  # a sampler passes if its MMD^2 is below this share of the noise's
VAE_CLOSER_THAN_NOISE = 0.5


def test_schedule_and_noising_equal_ddpm_scheduler() -> None:
    scheduler, _ = schedulers()
    assert torch.equal(betas, scheduler.betas)
    assert torch.equal(alphas_bar, scheduler.alphas_cumprod)
    for seed in seeds():
        generator = torch.Generator().manual_seed(seed)
        x0 = two_moons(500, seed)
        noise = torch.randn(x0.shape, generator=generator)
        t = torch.randint(T, (len(x0),), generator=generator)
        ours = add_noise(x0, noise, t)
        torch.testing.assert_close(ours, scheduler.add_noise(x0, noise, t), rtol=0, atol=1e-6)
        assert not torch.allclose(ours, add_noise(x0, noise, (t + 50).clamp(max=T - 1)), atol=1e-3)


def test_the_last_step_is_almost_pure_noise() -> None:
    assert float(alphas_bar[-1]) < 1e-4  # x_T keeps less than 1% of x_0's scale: sqrt(1e-4) = 0.01


@pytest.mark.parametrize("seed", seeds(2))
def test_our_samplers_take_the_same_steps_as_diffusers(seed: int) -> None:
    samples = experiment(seed).samples
    torch.testing.assert_close(samples["ddpm"], samples["ddpm_diffusers"], rtol=0, atol=1e-3)
    torch.testing.assert_close(samples["ddim"], samples["ddim_diffusers"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("seed", seeds(2))
def test_generated_points_are_closer_to_held_out_data_than_noise(seed: int) -> None:
    run = experiment(seed)
    noise = mmd(run.noise, run.held_out)
    assert noise > 0.02
    vae = mmd(run.samples["vae"], run.held_out)
    assert vae < VAE_CLOSER_THAN_NOISE * noise
    for key in ("ddpm", "ddim"):
        assert mmd(run.samples[key], run.held_out) < min(CLOSER_THAN_NOISE * noise, vae), key
    # The same check fails for an untrained denoiser: the test measures training, not sampling.
    torch.manual_seed(seed)
    untrained = ddim_sample(Denoiser(), run.noise, 50)
    assert mmd(untrained, run.held_out) > CLOSER_THAN_NOISE * noise


@pytest.mark.parametrize("seed", seeds(2))
def test_ddim_with_50_steps_is_about_as_good_as_ddpm_with_1000(seed: int) -> None:
    run = experiment(seed)
    noise = mmd(run.noise, run.held_out)
    ddpm = mmd(run.samples["ddpm"], run.held_out)
    assert T // 50 == 20  # 20 times fewer network calls
    assert mmd(run.samples["ddim"], run.held_out) < ddpm + 0.1 * noise
    # Too few steps are not enough: one DDIM step from pure noise is far off.
    assert mmd(ddim_sample(run.model, run.noise, 1), run.held_out) > ddpm + 0.1 * noise


@pytest.mark.parametrize("seed", seeds(2))
def test_clip_sample_squeezes_samples_into_the_unit_square(seed: int) -> None:
    run = experiment(seed)
    clipped = run.samples["ddpm_clipped"]
    assert float(clipped.abs().max()) <= 1.0 + 1e-6
    assert outside_unit_square(run.held_out) > 0.5  # most standardised points lie outside
    assert outside_unit_square(run.samples["ddpm"]) > 0.5  # and so do correct samples
    assert mmd(clipped, run.held_out) > mmd(run.noise, run.held_out)  # worse than no model at all


def test_clip_sample_is_on_by_default() -> None:
    for scheduler in (DDPMScheduler(), DDIMScheduler()):
        assert scheduler.config.clip_sample is True
        assert scheduler.config.clip_sample_range == 1.0
    assert not any(scheduler.config.clip_sample for scheduler in schedulers())


@pytest.mark.parametrize("seed", seeds())
def test_kl_term_is_never_negative_and_matches_torch_distributions(seed: int) -> None:
    torch.manual_seed(seed)
    vae = VAE()
    x = 3 * torch.randn(2000, 2)
    with torch.no_grad():
        elbo, reconstruction, kl = vae.elbo(x)
        mu, log_var = vae.encoder(x).chunk(2, dim=-1)
    assert float(kl.min()) >= 0
    torch.testing.assert_close(elbo, reconstruction - kl)
    q = torch.distributions.Normal(mu, (0.5 * log_var).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    torch.testing.assert_close(kl, torch.distributions.kl_divergence(q, p).sum(-1), rtol=1e-4, atol=1e-5)
    trained = experiment(seeds()[0]).vae  # trains on first use: outside no_grad
    with torch.no_grad():
        assert float(trained.elbo(x)[2].min()) >= 0  # the trained encoder's, too


@pytest.mark.parametrize("seed", seeds(2))
def test_training_improves_the_held_out_elbo(seed: int) -> None:
    run = experiment(seed)
    before = held_out_elbo(run.vae_untrained, run.held_out, seed)
    after = held_out_elbo(run.vae, run.held_out, seed)
    assert after[0] > before[0] + 50  # measured: about -100 -> -2.3 nats per point
    assert after[0] > -4
    assert after[2] > 0.5  # the code carries information: the posterior is not the prior


@pytest.mark.parametrize("seed", seeds())
def test_exercise_ddim_step_with_eta_matches_diffusers(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(100, 2, generator=generator)
    eps = torch.randn(100, 2, generator=generator)
    z = torch.randn(100, 2, generator=generator)
    _, scheduler = schedulers()
    scheduler.set_timesteps(50)
    for eta in (0.0, 0.5, 1.0):
        for t in (980, 500, 20, 0):
            theirs = scheduler.step(eps, t, x, eta=eta, variance_noise=z).prev_sample
            t_prev = t - T // 50
            torch.testing.assert_close(ddim_step(x, eps, t, t_prev, eta, z), theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", seeds())
def test_exercise_monte_carlo_kl_agrees_with_the_closed_form(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    mu = torch.randn(4, 2, generator=generator)
    log_var = torch.randn(4, 2, generator=generator)
    closed = 0.5 * (mu**2 + log_var.exp() - 1 - log_var).sum(-1)
    estimate = kl_monte_carlo(mu, log_var, 200_000, generator)
    torch.testing.assert_close(estimate, closed, rtol=0.03, atol=0.02)
    assert not torch.allclose(kl_monte_carlo(mu + 1, log_var, 200_000, generator), closed, atol=0.1)
