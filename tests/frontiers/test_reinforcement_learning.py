"""Claims of docs/frontiers/reinforcement-learning.md."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from snippets.frontiers.reinforcement_learning import (
    ENV_ID,
    direct_discounted_return,
    discounted_returns,
    evaluate,
    linear_policy_gradient,
    random_policy_returns,
    reinforce,
)
from tests.helpers import seeds

TRAIN_EPISODES = 100
EVAL_EPISODES = 10


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.99, 1.0])
def test_discounted_returns_match_the_definition(seed: int, gamma: float) -> None:
    rewards = np.random.default_rng(seed).normal(size=30).tolist()
    returns = discounted_returns(rewards, gamma)
    direct = [direct_discounted_return(rewards, gamma, t) for t in range(len(rewards))]
    np.testing.assert_allclose(returns, direct, rtol=1e-12, atol=1e-12)


def test_step_returns_five_values_and_truncation_is_not_termination() -> None:
    assert gym.make(ENV_ID).spec.max_episode_steps == 500
    env = gym.make(ENV_ID, max_episode_steps=5)
    env.reset(seed=0)
    results = [env.step(0 if t % 2 else 1) for t in range(5)]
    assert all(len(result) == 5 for result in results)
    terminated = [result[2] for result in results]
    truncated = [result[3] for result in results]
    assert terminated == [False] * 5  # the pole cannot fall in 5 alternating pushes
    assert truncated == [False] * 4 + [True]  # the time limit ends the episode instead


@pytest.mark.parametrize("seed", seeds(3))
def test_random_policy_scores_about_twenty(seed: int) -> None:
    assert 15 <= np.mean(random_policy_returns(100, seed)) <= 30


@pytest.mark.parametrize("seed", seeds(3))
def test_linear_policy_gradient_matches_autograd(seed: int) -> None:
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(2, 4))
    states, actions, advantages = rng.normal(size=(7, 4)), rng.integers(0, 2, 7), rng.normal(size=7)
    w = torch.tensor(weights, requires_grad=True)
    log_probs = (torch.tensor(states) @ w.T).log_softmax(-1)[torch.arange(7), torch.tensor(actions)]
    (torch.tensor(advantages) * log_probs).sum().backward()
    ours = linear_policy_gradient(weights, states, actions, advantages)
    np.testing.assert_allclose(ours, w.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", seeds(3))
def test_reinforce_beats_a_random_policy(seed: int) -> None:
    random_mean = np.mean(random_policy_returns(100, seed=10_000))
    policy, _ = reinforce(TRAIN_EPISODES, seed)
    trained_mean = np.mean(evaluate(policy, EVAL_EPISODES, seed=10_000))
    assert trained_mean >= 2 * random_mean, (trained_mean, random_mean)
