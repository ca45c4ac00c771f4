"""Preference tuning on a table: Bradley-Terry rewards, the KL-regularised optimum, DPO and GRPO.

One prompt with six possible answers; a policy is a softmax over six logits. Small enough to
compute every optimum exactly, so each method can be checked against the formula it targets.
Run ``python -m snippets.llm.preference_tuning --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

# One prompt, six answers. The reference policy (the fine-tuned model before preference tuning)
# is a softmax over these logits; the reward is what the human labellers' choices are based on.
REF_LOGITS = torch.tensor([1.5, 1.0, 0.5, 0.0, -0.5, -2.0], dtype=torch.float64)
REWARD = torch.tensor([0.0, -0.5, 0.5, 1.2, 0.8, -1.0], dtype=torch.float64)
PI_REF = torch.softmax(REF_LOGITS, dim=0)
BETA = 1.0  # strength of the pull back towards the reference policy


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> float:
    """KL(p || q) = sum_y p(y) log(p(y) / q(y)) for two distributions over the same answers.
    xlogy counts 0 log 0 as 0: answers that p never gives contribute nothing."""
    return float(torch.xlogy(p, p / q).sum())


def total_variation(p: torch.Tensor, q: torch.Tensor) -> float:
    """Half the L1 distance: the largest difference in probability the two give any set of answers."""
    return 0.5 * float((p - q).abs().sum())


@contextmanager
def one_thread() -> Iterator[None]:
    """Six numbers per tensor: a second CPU thread would only wait. Use one, then restore."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# --8<-- [end:setup]


# --8<-- [start:bradley-terry]
def log_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """log(1 / (1 + exp(-x))), written so that large |x| neither overflows nor loses digits."""
    return -torch.logaddexp(torch.zeros_like(x), -x)


def sample_preferences(
    pi_ref: torch.Tensor, reward: torch.Tensor, n_pairs: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw two answers from pi_ref; a labeller prefers the first with probability
    sigmoid(r_first - r_second) (Bradley-Terry). Pairs of the same answer are dropped."""
    rng = np.random.default_rng(seed)
    first = rng.choice(len(pi_ref), size=n_pairs, p=pi_ref.numpy())
    second = rng.choice(len(pi_ref), size=n_pairs, p=pi_ref.numpy())
    first, second = first[first != second], second[first != second]
    r = reward.numpy()
    first_wins = rng.random(first.size) < 1 / (1 + np.exp(-(r[first] - r[second])))
    winners = np.where(first_wins, first, second)
    losers = np.where(first_wins, second, first)
    return torch.from_numpy(winners), torch.from_numpy(losers)


def bradley_terry_loss(scores: torch.Tensor, winners: torch.Tensor, losers: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of the observed choices: -mean log sigmoid(s_winner - s_loser)."""
    return -log_sigmoid(scores[winners] - scores[losers]).mean()


def fit_bradley_terry(
    winners: torch.Tensor, losers: torch.Tensor, n_answers: int, steps: int = 300, lr: float = 0.1
) -> torch.Tensor:
    """A tabular reward model: one score per answer, fitted by maximum likelihood with Adam.
    Only differences are identified, so the scores are returned with mean zero."""
    scores = torch.zeros(n_answers, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([scores], lr=lr)
    with one_thread():
        for _ in range(steps):
            optimizer.zero_grad()
            bradley_terry_loss(scores, winners, losers).backward()
            optimizer.step()
    scores = scores.detach()
    return scores - scores.mean()


# --8<-- [end:bradley-terry]


# --8<-- [start:kl-optimum]
def kl_regularised_objective(
    pi: torch.Tensor, pi_ref: torch.Tensor, reward: torch.Tensor, beta: float
) -> float:
    """E_pi[r] - beta * KL(pi || pi_ref): what RLHF maximises."""
    return float((pi * reward).sum()) - beta * kl_divergence(pi, pi_ref)


def optimal_policy(pi_ref: torch.Tensor, reward: torch.Tensor, beta: float) -> torch.Tensor:
    """The maximiser in closed form: pi*(y) = pi_ref(y) exp(r(y) / beta) / Z."""
    return torch.softmax(pi_ref.log() + reward / beta, dim=0)


# --8<-- [end:kl-optimum]


# --8<-- [start:dpo]
def dpo_loss(
    logits: torch.Tensor,
    ref_logits: torch.Tensor,
    winners: torch.Tensor,
    losers: torch.Tensor,
    beta: float,
) -> torch.Tensor:
    """-mean log sigmoid(beta [(log pi(y_w) - log pi_ref(y_w)) - (log pi(y_l) - log pi_ref(y_l))])."""
    log_ratio = torch.log_softmax(logits, dim=0) - torch.log_softmax(ref_logits, dim=0)
    implicit_reward = beta * log_ratio  # one number per answer: beta log(pi / pi_ref)
    return -log_sigmoid(implicit_reward[winners] - implicit_reward[losers]).mean()


def train_dpo(
    ref_logits: torch.Tensor,
    winners: torch.Tensor,
    losers: torch.Tensor,
    beta: float,
    steps: int = 300,
    lr: float = 0.1,
) -> torch.Tensor:
    """Start the policy at the reference and minimise the DPO loss; return the policy's logits."""
    logits = ref_logits.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([logits], lr=lr)
    with one_thread():
        for _ in range(steps):
            optimizer.zero_grad()
            dpo_loss(logits, ref_logits, winners, losers, beta).backward()
            optimizer.step()
    return logits.detach()


# --8<-- [end:dpo]


# --8<-- [start:grpo]
CORRECT = torch.tensor([0.0, 0.0, 1.0, 1.0, 0.0, 0.0], dtype=torch.float64)  # answers 2 and 3 pass


def share_correct(logits: torch.Tensor) -> float:
    """Probability that the policy writes an answer the checker accepts."""
    return float(torch.softmax(logits, dim=0) @ CORRECT)


def group_advantages(rewards: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """GRPO's baseline: each answer's reward minus its group's mean, divided by the group's std."""
    centred = rewards - rewards.mean()
    return centred / (rewards.std(correction=0) + eps)


def grpo_loss(
    logits: torch.Tensor,
    old_logits: torch.Tensor,
    ref_logits: torch.Tensor,
    answers: torch.Tensor,
    advantages: torch.Tensor,
    clip: float = 0.2,
    kl_coef: float = 0.04,
) -> torch.Tensor:
    """PPO's clipped surrogate with group advantages, minus a KL penalty towards the reference."""
    log_pi = torch.log_softmax(logits, dim=0)[answers]
    log_old = torch.log_softmax(old_logits, dim=0)[answers]
    log_ref = torch.log_softmax(ref_logits, dim=0)[answers]
    ratio = torch.exp(log_pi - log_old)  # how much more likely each sampled answer has become
    surrogate = torch.minimum(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages)
    log_ref_ratio = log_ref - log_pi
    kl = torch.exp(log_ref_ratio) - log_ref_ratio - 1  # per-sample KL estimate, never negative
    return -(surrogate - kl_coef * kl).mean()


def train_grpo(
    ref_logits: torch.Tensor,
    reward: torch.Tensor,
    groups: int = 100,
    group_size: int = 8,
    updates_per_group: int = 4,
    lr: float = 0.05,
    seed: int = 0,
) -> torch.Tensor:
    """Sample a group of answers from the current policy, score them, take a few clipped steps."""
    rng = np.random.default_rng(seed)
    logits = ref_logits.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([logits], lr=lr)
    with one_thread():
        for _ in range(groups):
            old_logits = logits.detach().clone()
            pi_old = torch.softmax(old_logits, dim=0).numpy()
            answers = torch.from_numpy(rng.choice(len(pi_old), size=group_size, p=pi_old / pi_old.sum()))
            advantages = group_advantages(reward[answers])
            for _ in range(updates_per_group):
                optimizer.zero_grad()
                grpo_loss(logits, old_logits, ref_logits, answers, advantages).backward()
                optimizer.step()
    return logits.detach()


# --8<-- [end:grpo]


# --8<-- [start:library]
def bradley_terry_sklearn(winners: torch.Tensor, losers: torch.Tensor, n_answers: int) -> torch.Tensor:
    """Bradley-Terry is logistic regression without intercept on x = e_a - e_b: fit it with
    scikit-learn. Half the pairs are flipped so that both classes occur."""
    from sklearn.linear_model import LogisticRegression

    flip = torch.arange(len(winners)) % 2 == 1
    first = torch.where(flip, losers, winners)
    second = torch.where(flip, winners, losers)
    x = np.zeros((len(winners), n_answers))
    x[np.arange(len(winners)), first.numpy()] += 1.0
    x[np.arange(len(winners)), second.numpy()] -= 1.0
    model = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-10, max_iter=1000)
    model.fit(x, (~flip).numpy().astype(int))
    scores = torch.from_numpy(model.coef_[0].copy())
    return scores - scores.mean()


def dpo_loss_library(
    logits: torch.Tensor,
    ref_logits: torch.Tensor,
    winners: torch.Tensor,
    losers: torch.Tensor,
    beta: float,
) -> torch.Tensor:
    """The same loss with PyTorch's log-sigmoid and log-probabilities gathered per pair."""
    from torch.nn import functional as F

    log_pi, log_ref = F.log_softmax(logits, dim=0), F.log_softmax(ref_logits, dim=0)
    chosen = log_pi[winners] - log_ref[winners]
    rejected = log_pi[losers] - log_ref[losers]
    return -F.logsigmoid(beta * (chosen - rejected)).mean()


# --8<-- [end:library]


# --8<-- [start:reward-hacking]
# A reward model learned from few labels overrates answer 5, which pi_ref almost never writes.
PROXY_REWARD = REWARD.clone()
PROXY_REWARD[5] = 3.0
HACKING_BETAS = (4.0, 2.0, 1.0, 0.5, 0.25, 0.1)


def hacking_table(betas: tuple[float, ...] = HACKING_BETAS) -> list[tuple[float, float, float, float]]:
    """(beta, KL to pi_ref, proxy reward, true reward) of the optimum for the proxy reward."""
    rows = []
    for beta in betas:
        pi = optimal_policy(PI_REF, PROXY_REWARD, beta)
        rows.append((beta, kl_divergence(pi, PI_REF), float(pi @ PROXY_REWARD), float(pi @ REWARD)))
    return rows


# --8<-- [end:reward-hacking]


# --8<-- [start:solution-identity]
def objective_from_identity(
    pi: torch.Tensor, pi_ref: torch.Tensor, reward: torch.Tensor, beta: float
) -> float:
    """The same objective rewritten: beta log Z - beta KL(pi || pi*). The first term does not
    depend on pi and the second is never negative, so pi = pi* is the maximiser."""
    log_z = float(torch.logsumexp(pi_ref.log() + reward / beta, dim=0))
    return beta * log_z - beta * kl_divergence(pi, optimal_policy(pi_ref, reward, beta))


# --8<-- [end:solution-identity]


# --8<-- [start:solution-ipo]
def ipo_loss(
    logits: torch.Tensor,
    ref_logits: torch.Tensor,
    winners: torch.Tensor,
    losers: torch.Tensor,
    tau: float,
) -> torch.Tensor:
    """IPO (Azar et al., 2024): pull the log-ratio margin towards 1 / (2 tau) with a squared loss
    instead of pushing it through a sigmoid, so a pair that is always won cannot send it to infinity."""
    log_ratio = torch.log_softmax(logits, dim=0) - torch.log_softmax(ref_logits, dim=0)
    margin = log_ratio[winners] - log_ratio[losers]
    return ((margin - 1 / (2 * tau)) ** 2).mean()


def margin_after(loss_fn, strength: float, steps: int, lr: float = 0.1) -> float:
    """Train on one pair that is always won (answer 3 over answer 0); return the log-ratio margin."""
    winners, losers = torch.tensor([3]), torch.tensor([0])
    logits = REF_LOGITS.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([logits], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(logits, REF_LOGITS, winners, losers, strength).backward()
        optimizer.step()
    log_ratio = torch.log_softmax(logits.detach(), dim=0) - torch.log_softmax(REF_LOGITS, dim=0)
    return float(log_ratio[3] - log_ratio[0])


# --8<-- [end:solution-ipo]


# --8<-- [start:solution-flat-group]
def surrogate_gradient(rewards: torch.Tensor) -> torch.Tensor:
    """Gradient of GRPO's clipped surrogate alone (KL term off) for one group with these rewards."""
    answers = torch.arange(len(rewards)) % len(REF_LOGITS)
    logits = REF_LOGITS.clone().requires_grad_(True)
    loss = grpo_loss(logits, REF_LOGITS, REF_LOGITS, answers, group_advantages(rewards), kl_coef=0.0)
    loss.backward()
    return logits.grad


# --8<-- [end:solution-flat-group]


def plot_preference_tuning():
    """Left: pi_ref, the closed-form optimum and DPO's policy. Right: reward hacking against KL."""
    import matplotlib.pyplot as plt

    pi_star = optimal_policy(PI_REF, REWARD, BETA)
    winners, losers = sample_preferences(PI_REF, REWARD, 20000, seed=0)
    pi_dpo = torch.softmax(train_dpo(REF_LOGITS, winners, losers, BETA), dim=0)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    answers = np.arange(len(REWARD))
    for offset, (label, pi, color) in zip(
        (-0.27, 0.0, 0.27),
        [
            (r"$\pi_{ref}$", PI_REF, "#999999"),
            (r"$\pi^* \propto \pi_{ref}\, e^{r/\beta}$", pi_star, "#1b9e77"),
            ("DPO, 20000 pairs", pi_dpo, "#d95f02"),
        ],
        strict=True,
    ):
        left.bar(answers + offset, pi.numpy(), width=0.27, color=color, label=label)
    left.set(xlabel="answer", ylabel="probability", title=rf"one prompt, six answers, $\beta$ = {BETA}")
    left.set_xticks(answers, [f"{a}\nr={float(r):+.1f}" for a, r in zip(answers, REWARD, strict=True)])
    left.legend(fontsize=8)
    betas = tuple(np.geomspace(8.0, 0.1, 40))
    table = np.array(hacking_table(betas))
    right.plot(table[:, 1], table[:, 2], color="#d95f02", label="proxy reward (what is optimised)")
    right.plot(table[:, 1], table[:, 3], color="#1b9e77", label="true reward")
    right.set(
        xlabel=r"KL($\pi^*\,\|\,\pi_{ref}$), smaller $\beta$ to the right",
        ylabel="expected reward",
        title="reward hacking",
    )
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {"preference-tuning": plot_preference_tuning}


from snippets.common import make_parser, positive_float, positive_int, run_cli  # noqa: E402


def row(values: torch.Tensor) -> str:
    return " ".join(f"{float(v):6.3f}" for v in values)


def report(args: argparse.Namespace) -> None:
    """Fit the reward model, check the closed form, train DPO and GRPO, show reward hacking."""
    with one_thread():
        show(args)


def show(args: argparse.Namespace) -> None:
    """Print what the page shows for the given arguments."""
    beta = args.beta
    pi_star = optimal_policy(PI_REF, REWARD, beta)
    tv, kl = total_variation(PI_REF, pi_star), kl_divergence(pi_star, PI_REF)
    print(f"seed={args.seed} pairs={args.pairs} beta={beta}")
    print(f"pi_ref             {row(PI_REF)}")
    print(f"pi* (closed form)  {row(pi_star)}")
    print(f"TV(pi_ref, pi*) = {tv:.3f}   KL(pi*||pi_ref) = {kl:.3f}")

    winners, losers = sample_preferences(PI_REF, REWARD, args.pairs, args.seed)
    if len(winners) < 2:
        raise ValueError(f"--pairs {args.pairs}: only {len(winners)} compare two different answers; use more")
    print(f"{len(winners)} pairs with two different answers")
    print("Bradley-Terry reward, r - mean(r):")
    print(f"  true             {row(REWARD - REWARD.mean())}")
    print(f"  fitted (Adam)    {row(fit_bradley_terry(winners, losers, len(REWARD)))}")
    print(f"  scikit-learn     {row(bradley_terry_sklearn(winners, losers, len(REWARD)))}")

    start = float(dpo_loss(REF_LOGITS, REF_LOGITS, winners, losers, beta))
    logits = train_dpo(REF_LOGITS, winners, losers, beta)
    end = float(dpo_loss(logits, REF_LOGITS, winners, losers, beta))
    pi_dpo = torch.softmax(logits, dim=0)
    print(f"DPO loss: {start:.4f} at the start (ln 2 = {np.log(2):.4f}), {end:.4f} after 300 steps")
    print(f"pi_DPO             {row(pi_dpo)}")
    print(f"TV(pi_DPO, pi*) = {total_variation(pi_dpo, pi_star):.3f}")

    print("The optimum for larger beta stays closer to pi_ref:")
    for b in (0.25, 0.5, 1.0, 2.0, 4.0):
        print(
            f"  beta={b:<5} KL(pi*||pi_ref) = {kl_divergence(optimal_policy(PI_REF, REWARD, b), PI_REF):.3f}"
        )

    print("Reward hacking: optimum for a proxy reward that overrates answer 5")
    print("  beta    KL   proxy reward   true reward")
    for b, kl_b, proxy, true in hacking_table():
        print(f"  {b:<5} {kl_b:5.2f} {proxy:14.3f} {true:13.3f}")

    example = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    advantages = group_advantages(example)
    mean, std = float(advantages.mean()), float(advantages.std(correction=0))
    print(f"GRPO group rewards {row(example)}")
    print(f"     advantages    {row(advantages)}   mean {mean:.3f}, std {std:.3f}")
    grpo_logits = train_grpo(REF_LOGITS, CORRECT, args.groups, args.group_size, seed=args.seed)
    before, after = share_correct(REF_LOGITS), share_correct(grpo_logits)
    print(f"GRPO, {args.groups} groups of {args.group_size}: P(correct) {before:.2f} -> {after:.2f}")
    print(f"pi_GRPO            {row(torch.softmax(grpo_logits, dim=0))}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.llm.preference_tuning",
        "Bradley-Terry, the KL-regularised optimum, DPO and GRPO on one prompt with six answers.",
    )
    parser.add_argument(
        "--pairs", type=positive_int, default=20000, help="preference pairs drawn (default: 20000)"
    )
    parser.add_argument("--beta", type=positive_float, default=BETA, help=f"KL strength (default: {BETA})")
    parser.add_argument("--groups", type=positive_int, default=100, help="GRPO groups (default: 100)")
    parser.add_argument(
        "--group-size", type=positive_int, default=8, help="answers per GRPO group (default: 8)"
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
