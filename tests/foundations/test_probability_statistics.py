"""Claims of docs/foundations/probability-statistics.md."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats
from torch import distributions as D

from snippets.foundations.probability_statistics import (
    DIE_MEAN,
    DIE_VARIANCE,
    accuracy_interval,
    bernoulli_mle,
    beta_binomial_update,
    categorical_mean_and_variance,
    common_distributions,
    coverage_of_accuracy_interval,
    cross_entropy,
    entropy,
    gaussian_log_pdf,
    gaussian_mle,
    gaussian_mle_by_gradient,
    gaussian_nll,
    grid_posterior,
    probability_sick_given_positive,
    roll_dice,
    running_mean,
    simulate_sick_given_positive,
    sample_mean_and_variance,
    soft_cross_entropy,
    softmax,
    torch_cross_entropy,
)
from tests.helpers import seeds

SIGMA = math.sqrt(DIE_VARIANCE)


@pytest.mark.parametrize("seed", seeds(3))
def test_law_of_large_numbers_error_shrinks_like_one_over_sqrt_n(seed: int) -> None:
    rng = np.random.default_rng(seed)
    means = running_mean(roll_dice(100_000, rng))
    for n in (10, 100, 1_000, 10_000, 100_000):
        assert abs(means[n - 1] - DIE_MEAN) <= 5 * SIGMA / math.sqrt(n)
    # the typical (root-mean-square) error over 200 repetitions is sigma / sqrt(n)
    for n in (100, 10_000):
        errors = roll_dice(200 * n, rng).reshape(200, n).mean(axis=1) - DIE_MEAN
        assert 0.8 < math.sqrt((errors**2).mean()) / (SIGMA / math.sqrt(n)) < 1.2


@pytest.mark.parametrize("seed", seeds(3))
def test_sample_variance_unbiased_and_mle_variance_biased(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=50)
    mean, variance = sample_mean_and_variance(x)
    assert mean == pytest.approx(x.mean()) and variance == pytest.approx(np.var(x, ddof=1))
    samples = rng.normal(0.0, 2.0, size=(20_000, 5))  # true variance 4, n = 5
    assert gaussian_mle(samples[0])[1] == pytest.approx(samples[0].var(ddof=0))
    biased, unbiased = samples.var(axis=1, ddof=0).mean(), samples.var(axis=1, ddof=1).mean()
    assert abs(biased - 4 * (5 - 1) / 5) < 0.1  # E[biased] = (n-1)/n sigma^2 = 3.2
    assert abs(unbiased - 4.0) < 0.12


@pytest.mark.parametrize("seed", seeds(3))
def test_common_distributions_sample_means_and_variances(seed: int) -> None:
    torch.manual_seed(seed)
    n = 200_000
    for name, dist in common_distributions().items():
        draws = dist.sample((n,)).double()
        if isinstance(dist, D.Categorical):
            mean, variance = categorical_mean_and_variance(dist.probs.double())
        else:
            mean, variance = float(dist.mean), float(dist.variance)
        assert abs(draws.mean().item() - mean) <= 5 * math.sqrt(variance / n), name
        assert draws.var().item() == pytest.approx(variance, rel=0.03), name


def test_common_distributions_have_the_parameters_their_names_give() -> None:
    """The page names each distribution with its parameters; its moments follow from the textbook
    formulas for those parameters (a wrong parameter would pass the sampling test above)."""
    expected = {
        "Bernoulli(0.3)": (0.3, 0.3 * 0.7),
        "Binomial(10, 0.3)": (10 * 0.3, 10 * 0.3 * 0.7),
        "Categorical(.2,.5,.3)": (0.5 + 2 * 0.3, 0.2 * 1.1**2 + 0.5 * 0.1**2 + 0.3 * 0.9**2),
        "Uniform(-1, 1)": (0.0, 2**2 / 12),
        "Normal(0, 2)": (0.0, 2.0**2),
        "Poisson(4)": (4.0, 4.0),
    }
    distributions = common_distributions()
    assert list(distributions) == list(expected)
    for name, dist in distributions.items():
        if isinstance(dist, D.Categorical):
            moments = categorical_mean_and_variance(dist.probs.double())
        else:
            moments = (float(dist.mean), float(dist.variance))
        assert moments == pytest.approx(expected[name]), name


@pytest.mark.parametrize("seed", seeds(3))
def test_gaussian_log_pdf_matches_torch_and_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, mu, sigma = rng.normal(size=20), float(rng.normal()), float(rng.uniform(0.5, 3))
    ours = gaussian_log_pdf(x, mu, sigma)
    np.testing.assert_allclose(ours, stats.norm.logpdf(x, mu, sigma), rtol=1e-12)
    normal = D.Normal(torch.tensor(mu, dtype=torch.float64), torch.tensor(sigma, dtype=torch.float64))
    torch_value = normal.log_prob(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, torch_value, rtol=1e-10)


@pytest.mark.parametrize("seed", seeds(3))
def test_maximum_likelihood_formulas_match_numerical_optimisation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(1.5, 2.0, size=200)
    mu, var = gaussian_mle(x)
    assert var == pytest.approx(np.var(x, ddof=0))  # the MLE divides by n
    grad_mu, grad_var = gaussian_mle_by_gradient(x)
    assert grad_mu == pytest.approx(mu, abs=1e-3)
    assert grad_var == pytest.approx(var, rel=1e-3)
    coins = rng.random(50) < rng.uniform(0.1, 0.9)
    grid = np.linspace(0.001, 0.999, 999)
    log_likelihood = coins.sum() * np.log(grid) + (len(coins) - coins.sum()) * np.log(1 - grid)
    assert abs(grid[np.argmax(log_likelihood)] - bernoulli_mle(coins)) <= 0.001


@pytest.mark.parametrize("seed", seeds(3))
def test_softmax_and_cross_entropy_match_pytorch(seed: int) -> None:
    rng = np.random.default_rng(seed)
    logits, labels = rng.normal(size=(16, 7)) * 3, rng.integers(0, 7, size=16)
    probs = softmax(logits)
    np.testing.assert_allclose(probs, torch.softmax(torch.from_numpy(logits), dim=-1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    np.testing.assert_allclose(softmax(logits + 100.0), probs, rtol=1e-12)  # shift-invariant
    # cross-entropy = mean negative log-likelihood of the true class
    nll = -np.log(probs[np.arange(16), labels]).mean()
    assert cross_entropy(logits, labels) == pytest.approx(nll, rel=1e-12)
    assert cross_entropy(logits, labels) == pytest.approx(torch_cross_entropy(logits, labels), rel=1e-10)
    targets = softmax(rng.normal(size=(16, 7)))
    assert soft_cross_entropy(logits, targets) == pytest.approx(
        torch_cross_entropy(logits, targets), rel=1e-10
    )


def test_stable_softmax_survives_large_logits() -> None:
    logits = np.array([[1000.0, 999.0, -1000.0]])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(logits) / np.exp(logits).sum()
    assert np.isnan(naive).any()
    stable = softmax(logits)
    assert np.isfinite(stable).all()
    np.testing.assert_allclose(stable[0, :2], [1 / (1 + math.exp(-1)), 1 / (1 + math.e)], rtol=1e-12)
    assert math.isfinite(cross_entropy(logits, np.array([2])))  # log p = -2000, not -inf


@pytest.mark.parametrize("seed", seeds(3))
def test_cross_entropy_is_entropy_plus_kl(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p, logits = softmax(rng.normal(size=6)), rng.normal(size=6)
    q = softmax(logits)
    kl = D.kl_divergence(D.Categorical(probs=torch.from_numpy(p)), D.Categorical(probs=torch.from_numpy(q)))
    h_pq = soft_cross_entropy(logits[None], p[None])
    assert h_pq == pytest.approx(entropy(p) + kl.item(), rel=1e-10)
    assert kl.item() > 0 and h_pq > entropy(p)
    assert soft_cross_entropy(np.log(p)[None], p[None]) == pytest.approx(entropy(p), rel=1e-10)


@pytest.mark.parametrize("seed", seeds(3))
def test_beta_binomial_update_matches_numerical_bayes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b, theta_true = rng.uniform(1, 5), rng.uniform(1, 5), rng.uniform(0.1, 0.9)
    trials = 20
    k = int(rng.binomial(trials, theta_true))
    post_a, post_b = beta_binomial_update(a, b, k, trials)
    theta, numeric = grid_posterior(a, b, k, trials)
    exact = stats.beta.pdf(theta, post_a, post_b)
    assert np.abs(numeric - exact).max() < 1e-6 * exact.max()
    posterior_mean, prior_mean = post_a / (post_a + post_b), a / (a + b)
    assert min(prior_mean, k / trials) <= posterior_mean <= max(prior_mean, k / trials)
    # more data: the posterior narrows (about 1/sqrt(n)) around the true value
    big = 2_000
    k_big = int(rng.binomial(big, theta_true))
    small_sd = stats.beta.std(post_a, post_b)
    big_a, big_b = beta_binomial_update(a, b, k_big, big)
    assert stats.beta.std(big_a, big_b) < small_sd / 5
    assert abs(stats.beta.mean(big_a, big_b) - theta_true) < 5 * stats.beta.std(big_a, big_b)


@pytest.mark.parametrize("seed", seeds(3))
def test_solution_accuracy_interval_covers_about_95_percent(seed: int) -> None:
    rng = np.random.default_rng(seed)
    low, high = accuracy_interval(450, 500)
    assert high - low == pytest.approx(2 * 1.96 * math.sqrt(0.9 * 0.1 / 500))
    assert 0.92 < coverage_of_accuracy_interval(0.9, 500, 4_000, rng) < 0.97


@pytest.mark.parametrize("seed", seeds(3))
def test_solution_gaussian_nll_is_scaled_mse(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    prediction, target = torch.randn(30, generator=generator), torch.randn(30, generator=generator)
    variance = 0.5 + torch.rand((), generator=generator).item()
    ours = gaussian_nll(prediction, target, variance)
    theirs = F.gaussian_nll_loss(prediction, target, torch.full_like(target, variance), full=True)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)
    mse = F.mse_loss(prediction, target)
    constant = 0.5 * math.log(2 * math.pi * variance)
    assert ours.item() == pytest.approx(mse.item() / (2 * variance) + constant, rel=1e-5)


@pytest.mark.parametrize("seed", seeds(3))
def test_solution_bayes_rule_matches_simulation(seed: int) -> None:
    exact = probability_sick_given_positive(0.01, 0.99, 0.05)
    assert exact == pytest.approx(1 / 6)
    rng = np.random.default_rng(seed)
    people = 1_000_000
    simulated = simulate_sick_given_positive(0.01, 0.99, 0.05, people, rng)
    positives = people * (0.99 * 0.01 + 0.05 * 0.99)
    assert abs(simulated - exact) < 5 * math.sqrt(exact * (1 - exact) / positives)
