"""Probability and statistics for deep learning: sampling, expectation, maximum likelihood,
cross-entropy, softmax and a Bayesian update.

Run ``python -m snippets.foundations.probability_statistics --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats
from torch import distributions as D


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# A fair six-sided die: a discrete random variable with E[X] = 3.5 and Var[X] = 35/12.
DIE_FACES = np.arange(1, 7)
DIE_MEAN, DIE_VARIANCE = 3.5, 35 / 12
# --8<-- [end:setup]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402


# --8<-- [start:sampling]
def roll_dice(n: int, rng: np.random.Generator) -> np.ndarray:
    """n independent rolls of a fair die."""
    return rng.integers(1, 7, size=n)


def sample_mean_and_variance(x: np.ndarray) -> tuple[float, float]:
    """The sample mean and the unbiased sample variance (divide by n - 1)."""
    n = len(x)
    mean = x.sum() / n
    variance = ((x - mean) ** 2).sum() / (n - 1)
    return float(mean), float(variance)


def running_mean(x: np.ndarray) -> np.ndarray:
    """The mean of the first 1, 2, ..., n samples: it settles at E[X] (law of large numbers)."""
    return np.cumsum(x) / np.arange(1, len(x) + 1)


# --8<-- [end:sampling]


# --8<-- [start:distributions]
def common_distributions() -> dict[str, D.Distribution]:
    """Distributions that appear all over deep learning, from torch.distributions."""
    return {
        "Bernoulli(0.3)": D.Bernoulli(probs=torch.tensor(0.3)),  # a coin: a binary label
        "Binomial(10, 0.3)": D.Binomial(10, probs=torch.tensor(0.3)),  # successes in 10 coins
        "Categorical(.2,.5,.3)": D.Categorical(probs=torch.tensor([0.2, 0.5, 0.3])),  # a class label
        "Uniform(-1, 1)": D.Uniform(torch.tensor(-1.0), torch.tensor(1.0)),  # initialisation
        "Normal(0, 2)": D.Normal(torch.tensor(0.0), torch.tensor(2.0)),  # noise, initialisation
        "Poisson(4)": D.Poisson(torch.tensor(4.0)),  # counts
    }


def categorical_mean_and_variance(probs: torch.Tensor) -> tuple[float, float]:
    """Categorical over labels 0..K-1 has no .mean in torch: compute it from the definition."""
    labels = torch.arange(len(probs), dtype=probs.dtype)
    mean = (labels * probs).sum()
    return float(mean), float(((labels - mean) ** 2 * probs).sum())


def gaussian_log_pdf(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    """log N(x; mu, sigma^2), written from the formula."""
    return -0.5 * np.log(2 * math.pi * sigma**2) - (x - mu) ** 2 / (2 * sigma**2)


# --8<-- [end:distributions]


# --8<-- [start:mle]
def gaussian_mle(x: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood mean and variance of a Gaussian: the sample mean and the *biased* variance."""
    mu = x.mean()
    return float(mu), float(((x - mu) ** 2).mean())  # divide by n, not n - 1


def bernoulli_mle(x: np.ndarray) -> float:
    """Maximum-likelihood probability of a coin: the fraction of ones."""
    return float(x.mean())


def gaussian_mle_by_gradient(x: np.ndarray, steps: int = 200, lr: float = 0.3) -> tuple[float, float]:
    """Minimise the negative log-likelihood by gradient descent instead of using the formula."""
    data = torch.tensor(x, dtype=torch.float64, device=pick_device())
    mu = torch.zeros((), dtype=data.dtype, device=data.device, requires_grad=True)
    log_sigma = torch.zeros((), dtype=data.dtype, device=data.device, requires_grad=True)  # keeps sigma > 0
    for _ in range(steps):
        variance = torch.exp(2 * log_sigma)
        nll = 0.5 * torch.log(2 * math.pi * variance) + ((data - mu) ** 2).mean() / (2 * variance)
        grad_mu, grad_log_sigma = torch.autograd.grad(nll, (mu, log_sigma))
        with torch.no_grad():
            mu -= lr * grad_mu
            log_sigma -= lr * grad_log_sigma
    return mu.item(), torch.exp(2 * log_sigma).item()


# --8<-- [end:mle]


# --8<-- [start:softmax]
def softmax(logits: np.ndarray) -> np.ndarray:
    """exp(z_k) / sum_j exp(z_j) along the last axis; subtracting the max avoids overflow."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax(z) = z - logsumexp(z), computed stably."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels under softmax(logits)."""
    return float(-log_softmax(logits)[np.arange(len(labels)), labels].mean())


def soft_cross_entropy(logits: np.ndarray, target_probs: np.ndarray) -> float:
    """H(p, q) = -sum_k p_k log q_k, averaged over the batch, for target distributions p."""
    return float(-(target_probs * log_softmax(logits)).sum(axis=-1).mean())


def entropy(p: np.ndarray) -> float:
    """H(p) = -sum_k p_k log p_k (in nats), with 0 log 0 = 0."""
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


# --8<-- [end:softmax]


# --8<-- [start:softmax-torch]
def torch_cross_entropy(logits: np.ndarray, target: np.ndarray) -> float:
    """PyTorch's cross_entropy takes raw logits, and either class indices or class probabilities."""
    device = pick_device()
    target_tensor = torch.from_numpy(target).to(device)
    return F.cross_entropy(torch.from_numpy(logits).to(device), target_tensor).item()


# --8<-- [end:softmax-torch]


# --8<-- [start:bayes]
def beta_binomial_update(a: float, b: float, successes: int, trials: int) -> tuple[float, float]:
    """Prior Beta(a, b) and k successes in n trials give the posterior Beta(a + k, b + n - k)."""
    return a + successes, b + trials - successes


def grid_posterior(
    a: float, b: float, successes: int, trials: int, grid_size: int = 2001
) -> tuple[np.ndarray, np.ndarray]:
    """Bayes' rule done numerically: prior x likelihood on a grid, divided by its integral."""
    theta = np.linspace(0.0, 1.0, grid_size)
    prior = stats.beta.pdf(theta, a, b)
    likelihood = theta**successes * (1 - theta) ** (trials - successes)
    unnormalised = prior * likelihood
    evidence = np.trapezoid(unnormalised, theta)  # p(data), the normalising constant
    return theta, unnormalised / evidence


# --8<-- [end:bayes]


# --8<-- [start:solution-accuracy]
def accuracy_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Approximate 95% interval for an accuracy measured on n test examples: p ± z sqrt(p(1-p)/n)."""
    p = correct / n
    half_width = z * math.sqrt(p * (1 - p) / n)
    return p - half_width, p + half_width


def coverage_of_accuracy_interval(accuracy: float, n: int, repeats: int, rng: np.random.Generator) -> float:
    """How often the interval contains the true accuracy, over many simulated test sets."""
    hits = 0
    for correct in rng.binomial(n, accuracy, size=repeats):
        low, high = accuracy_interval(int(correct), n)
        hits += low <= accuracy <= high
    return hits / repeats


# --8<-- [end:solution-accuracy]


# --8<-- [start:solution-gaussian-nll]
def gaussian_nll(prediction: torch.Tensor, target: torch.Tensor, variance: float) -> torch.Tensor:
    """Mean -log N(target; prediction, variance): squared error / (2 variance) plus a constant."""
    return (0.5 * math.log(2 * math.pi * variance) + (target - prediction) ** 2 / (2 * variance)).mean()


# --8<-- [end:solution-gaussian-nll]


# --8<-- [start:solution-bayes-rule]
def probability_sick_given_positive(
    prevalence: float, sensitivity: float, false_positive_rate: float
) -> float:
    """Bayes' rule: P(sick | +) = P(+ | sick) P(sick) / P(+)."""
    p_positive = sensitivity * prevalence + false_positive_rate * (1 - prevalence)
    return sensitivity * prevalence / p_positive


def simulate_sick_given_positive(
    prevalence: float, sensitivity: float, false_positive_rate: float, people: int, rng: np.random.Generator
) -> float:
    """The same number by sampling a population and counting."""
    sick = rng.random(people) < prevalence
    positive = np.where(sick, rng.random(people) < sensitivity, rng.random(people) < false_positive_rate)
    return float(sick[positive].mean())


# --8<-- [end:solution-bayes-rule]


def plot_law_of_large_numbers():
    """Running means of die rolls for five runs, inside the band E[X] ± 2 sigma / sqrt(n)."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    n = np.unique(np.geomspace(1, 10_000, 300).astype(int))  # log-spaced points keep the file small
    fig, ax = plt.subplots(figsize=(7, 3.4))
    band = 2 * math.sqrt(DIE_VARIANCE) / np.sqrt(n)
    ax.fill_between(n, DIE_MEAN - band, DIE_MEAN + band, color="#c6dbef", label="3.5 ± 2σ/√n")
    for run in range(5):
        means = running_mean(roll_dice(n[-1], rng))[n - 1]
        ax.plot(n, means, linewidth=1, label="runs" if run == 0 else None)
    ax.axhline(DIE_MEAN, color="black", linewidth=1, linestyle="--", label="E[X] = 3.5")
    ax.set_xscale("log")
    ax.set_ylim(1.5, 5.5)
    ax.set_xlabel("n")
    ax.set_ylabel("mean of n rolls")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def plot_beta_binomial():
    """Prior, likelihood and posterior of a coin's probability after 7 heads in 10 tosses."""
    import matplotlib.pyplot as plt

    a, b, k, n = 2.0, 2.0, 7, 10
    theta, numeric = grid_posterior(a, b, k, n)
    likelihood = theta**k * (1 - theta) ** (n - k)
    likelihood /= np.trapezoid(likelihood, theta)  # scaled to area 1, to share the axis
    post_a, post_b = beta_binomial_update(a, b, k, n)
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.plot(theta, stats.beta.pdf(theta, a, b), color="gray", label="prior Beta(2, 2)")
    ax.plot(theta, likelihood, color="#d95f02", linestyle="--", label="likelihood, 7/10 (scaled)")
    ax.plot(theta, stats.beta.pdf(theta, post_a, post_b), color="#1b6ca8", label="posterior Beta(9, 5)")
    ax.plot(theta[::80], numeric[::80], "o", color="#1b6ca8", markersize=4, label="grid: prior × likelihood")
    ax.set_xlabel("θ")
    ax.set_ylabel("density")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {
    "probability-law-of-large-numbers": plot_law_of_large_numbers,
    "probability-beta-binomial": plot_beta_binomial,
}


def report(args: argparse.Namespace) -> None:
    """Run every check of the page and print the numbers."""
    if args.samples < 10:
        raise ValueError(f"--samples must be at least 10, got {args.samples}")
    rng = np.random.default_rng(args.seed)
    print(f"seed={args.seed} samples={args.samples}")
    rolls = roll_dice(args.samples, rng)
    print(
        f"die: E[X] = {DIE_MEAN}, Var[X] = {DIE_VARIANCE:.4f}, sigma/sqrt(n) at n = {args.samples}: "
        f"{math.sqrt(DIE_VARIANCE / args.samples):.4f}"
    )
    n = 10
    while n <= args.samples:
        mean, variance = sample_mean_and_variance(rolls[:n])
        print(
            f"  n = {n:>7}: sample mean {mean:.4f}, |error| {abs(mean - DIE_MEAN):.4f}, "
            f"sample variance {variance:.4f}"
        )
        n *= 10

    torch.manual_seed(args.seed)
    print("distribution           mean (theory / sample)   variance (theory / sample)")
    for name, dist in common_distributions().items():
        draws = dist.sample((args.samples,)).double()
        if isinstance(dist, D.Categorical):
            mean, variance = categorical_mean_and_variance(dist.probs.double())
        else:
            mean, variance = float(dist.mean), float(dist.variance)
        print(f"  {name:<21} {mean:7.3f} / {draws.mean():7.3f}        {variance:7.3f} / {draws.var():7.3f}")

    x = rng.normal(1.5, 2.0, size=200)
    closed_mu, closed_var = gaussian_mle(x)
    grad_mu, grad_var = gaussian_mle_by_gradient(x)
    print(
        f"Gaussian MLE on 200 draws of N(1.5, 4): formula mu={closed_mu:.4f} var={closed_var:.4f}; "
        f"gradient descent mu={grad_mu:.4f} var={grad_var:.4f}"
    )
    coins = rng.random(50) < 0.3
    print(f"Bernoulli MLE on 50 coin tosses with p = 0.3: {bernoulli_mle(coins):.2f} ({coins.sum()} ones)")

    logits, labels = rng.normal(size=(8, 5)), rng.integers(0, 5, size=8)
    print(
        f"cross-entropy: ours {cross_entropy(logits, labels):.6f}, "
        f"F.cross_entropy {torch_cross_entropy(logits, labels):.6f}"
    )
    targets = softmax(rng.normal(size=(8, 5)))
    print(
        f"soft targets:  ours {soft_cross_entropy(logits, targets):.6f}, "
        f"F.cross_entropy {torch_cross_entropy(logits, targets):.6f}"
    )

    a, b, k, trials = 2.0, 2.0, 7, 10
    post_a, post_b = beta_binomial_update(a, b, k, trials)
    theta, numeric = grid_posterior(a, b, k, trials)
    gap = np.abs(numeric - stats.beta.pdf(theta, post_a, post_b)).max()
    print(
        f"Beta(2, 2) prior, 7 heads in 10: posterior Beta({post_a:g}, {post_b:g}), "
        f"mean {post_a / (post_a + post_b):.4f}; grid vs formula max |difference| {gap:.1e}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.foundations.probability_statistics",
        "Check sampling, maximum likelihood, cross-entropy and a Bayesian update numerically.",
    )
    parser.add_argument(
        "--samples", type=positive_int, default=100_000, help="draws per distribution (default: 100000)"
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
