"""Reinforcement learning: the gymnasium API and REINFORCE on CartPole-v1.

Run ``python -m snippets.frontiers.reinforcement_learning --help`` for the options.
"""

from __future__ import annotations

import math
import argparse
import time

# --8<-- [start:setup]
import gymnasium as gym
import numpy as np
import torch
from torch import nn


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


ENV_ID = "CartPole-v1"  # 4 state numbers, 2 actions, reward +1 per step, at most 500 steps
SOLVED = 475.0  # gymnasium's reward_threshold for CartPole-v1
# --8<-- [end:setup]

from snippets.common import make_parser, positive_float, positive_int, run_cli  # noqa: E402


# --8<-- [start:random]
def random_policy_returns(episodes: int, seed: int) -> list[float]:
    """Play ``episodes`` episodes with uniformly random actions; return each episode's return."""
    env = gym.make(ENV_ID)
    env.action_space.seed(seed)
    returns = []
    for episode in range(episodes):
        state, info = env.reset(seed=seed + episode)  # seed every episode: reproducible starts
        total, done = 0.0, False
        while not done:
            action = env.action_space.sample()
            state, reward, terminated, truncated, info = env.step(action)
            total += float(reward)
            done = terminated or truncated  # fell over / hit the 500-step time limit
        returns.append(total)
    env.close()
    return returns


# --8<-- [end:random]


# --8<-- [start:returns]
def discounted_returns(rewards: list[float], gamma: float) -> np.ndarray:
    """G_t = r_t + gamma * G_{t+1}, computed backwards in one pass."""
    returns = np.zeros(len(rewards))
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


# --8<-- [end:returns]


# --8<-- [start:scratch]
def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def linear_policy_gradient(
    weights: np.ndarray, states: np.ndarray, actions: np.ndarray, advantages: np.ndarray
) -> np.ndarray:
    """Gradient of sum_t A_t log pi(a_t | s_t) for pi = softmax(W s), written out by hand.

    For a softmax policy, d log pi(a|s) / dW = (onehot(a) - pi(.|s)) s^T.
    """
    gradient = np.zeros_like(weights)
    for state, action, advantage in zip(states, actions, advantages, strict=True):
        probs = softmax(weights @ state)
        onehot = np.eye(len(probs))[action]
        gradient += advantage * np.outer(onehot - probs, state)
    return gradient


# --8<-- [end:scratch]


# --8<-- [start:torch]
def make_policy(hidden: int = 128) -> nn.Module:
    """A small MLP that maps the 4 state numbers to 2 action logits."""
    return nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 2))


def play_episode(
    env: gym.Env, policy: nn.Module, seed: int | None, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """Sample one episode from the policy; return its states, actions and rewards."""
    device = next(policy.parameters()).device
    state, _ = env.reset(seed=seed)
    states, actions, rewards, done = [], [], [], False
    while not done:
        with torch.no_grad():  # acting needs no gradients; they are computed once, below
            logits = policy(torch.as_tensor(state, dtype=torch.float32, device=device))
            action = int(torch.multinomial(logits.softmax(-1).cpu(), 1, generator=generator))
        states.append(state)
        actions.append(action)
        state, reward, terminated, truncated, _ = env.step(action)
        rewards.append(float(reward))
        done = terminated or truncated  # fell over, or reached the 500-step limit
    states_t = torch.as_tensor(np.array(states), dtype=torch.float32, device=device)
    return states_t, torch.as_tensor(actions, device=device), rewards


def reinforce(
    episodes: int, seed: int, lr: float = 0.005, gamma: float = 0.99, stop_at: float | None = None
) -> tuple[nn.Module, list[float]]:
    """Train a policy with REINFORCE; returns normalised per episode act as a baseline.

    Stops early once the mean return of the last 20 episodes reaches ``stop_at``.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    policy = make_policy().to(pick_device())
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
    env = gym.make(ENV_ID)
    history: list[float] = []
    for episode in range(episodes):
        states, actions, rewards = play_episode(env, policy, seed * 100_000 + episode, generator)
        log_probs = policy(states).log_softmax(-1).gather(1, actions[:, None]).squeeze(1)
        returns = torch.as_tensor(discounted_returns(rewards, gamma), dtype=torch.float32)
        returns = returns.to(states.device)
        advantages = (returns - returns.mean()) / (returns.std(correction=0) + 1e-8)
        loss = -(advantages * log_probs).sum()  # gradient ascent on sum_t A_t log pi(a_t|s_t)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(sum(rewards))
        if stop_at is not None and len(history) >= 20 and np.mean(history[-20:]) >= stop_at:
            break
    env.close()
    return policy, history


# --8<-- [end:torch]


# --8<-- [start:evaluate]
@torch.no_grad()
def evaluate(policy: nn.Module, episodes: int, seed: int) -> list[float]:
    """Returns of the greedy policy (most likely action) on ``episodes`` fresh episodes."""
    device = next(policy.parameters()).device
    env = gym.make(ENV_ID)
    returns = []
    for episode in range(episodes):
        state, _ = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            logits = policy(torch.as_tensor(state, dtype=torch.float32, device=device))
            state, reward, terminated, truncated, _ = env.step(int(logits.argmax()))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return returns


# --8<-- [end:evaluate]


# --8<-- [start:solution-return]
def direct_discounted_return(rewards: list[float], gamma: float, t: int) -> float:
    """G_t = sum_k gamma^k r_{t+k}, straight from the definition."""
    return float(sum(gamma**k * r for k, r in enumerate(rewards[t:])))


# --8<-- [end:solution-return]


def moving_average(values: list[float], window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each position (shorter at the start)."""
    cumulative = np.cumsum(np.insert(np.asarray(values, dtype=float), 0, 0.0))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)


def plot_learning_curve():
    """Training returns of REINFORCE (100 episodes, three seeds) against a random policy."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for seed in range(3):
        _, history = reinforce(episodes=100, seed=seed)
        line = ax.plot(history, alpha=0.25, linewidth=0.8)[0]
        ax.plot(moving_average(history, 20), color=line.get_color(), label=f"seed {seed}")
    random_mean = float(np.mean(random_policy_returns(100, seed=0)))
    ax.axhline(random_mean, color="black", linestyle="--", linewidth=1, label=f"random ≈ {random_mean:.0f}")
    ax.set_xlabel("episode")
    ax.set_ylabel("return")
    ax.set_title("REINFORCE on CartPole-v1")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {"reinforcement-learning-curve": plot_learning_curve}
# Points a figure may move between CPUs (tools/figures.py), measured with ATEN_CPU_CAPABILITY
# default, avx2 and avx512: the default level draws them differently; math.inf: only the labels are compared.
FIGURE_TOLERANCE = {"reinforcement-learning-curve": math.inf}


def discount(text: str) -> float:
    """argparse type: a discount factor 0 < gamma <= 1."""
    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text}")
    return value


def report(args: argparse.Namespace) -> None:
    """Compare a random policy with a REINFORCE policy on CartPole-v1."""
    print(f"seed={args.seed} episodes={args.episodes} lr={args.lr} gamma={args.gamma}")
    print("G_0 of rewards [1, 1, 1] with gamma 0.9:", round(float(discounted_returns([1, 1, 1], 0.9)[0]), 3))
    random_returns = random_policy_returns(args.eval_episodes, seed=10_000)
    print(f"random policy: mean return {np.mean(random_returns):.1f} over {args.eval_episodes} episodes")
    started = time.perf_counter()
    stop_at = SOLVED if args.full else None
    policy, history = reinforce(args.episodes, args.seed, lr=args.lr, gamma=args.gamma, stop_at=stop_at)
    trained_in = time.perf_counter() - started
    print(f"trained for {len(history)} episodes; mean return of the last 20: {np.mean(history[-20:]):.1f}")
    returns = evaluate(policy, args.eval_episodes, seed=10_000)
    mean, worst = np.mean(returns), min(returns)
    print(f"greedy policy: mean return {mean:.1f}, min {worst:.0f} over {args.eval_episodes} episodes")
    if args.full:
        print(f"solved (mean >= {SOLVED:.0f}): {mean >= SOLVED}; training wall time {trained_in:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.frontiers.reinforcement_learning",
        "Train REINFORCE on CartPole-v1 and compare it with a random policy.",
    )
    parser.add_argument("--episodes", type=positive_int, default=100, help="training episodes (default: 100)")
    parser.add_argument(
        "--lr", type=positive_float, default=0.005, help="Adam learning rate (default: 0.005)"
    )
    parser.add_argument("--gamma", type=discount, default=0.99, help="discount factor (default: 0.99)")
    parser.add_argument(
        "--eval-episodes", type=positive_int, default=20, help="evaluation episodes (default: 20)"
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="train until the last 20 training returns average 475 (use with --episodes 2000)",
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
