"""Ethics and explainability: attributions checked against captum, fairness gaps and one mitigation.

Run ``python -m snippets.frontiers.ethics_explainability --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:model]
import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train_digits_mlp(seed: int, steps: int = 100) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A small MLP on scikit-learn's 8x8 digits (pixels scaled to [0, 1]); returns model and test set."""
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    train, test = order[:1300], order[1300:]
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10)).to(pick_device())
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    device = next(model.parameters()).device
    for _ in range(steps):  # full-batch training: 1300 images
        loss = nn.functional.cross_entropy(model(x[train].to(device)), y[train].to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), x[test].to(device), y[test].to(device)


# --8<-- [end:model]

from snippets.common import make_parser, positive_int, run_cli, seed_everything  # noqa: E402


# --8<-- [start:scratch]
def saliency(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Gradient of the target logit with respect to each input pixel (one row per example)."""
    x = x.clone().requires_grad_(True)
    logits = model(x).gather(1, target[:, None]).sum()  # the examples do not interact
    (grad,) = torch.autograd.grad(logits, x)
    return grad


def quadrature(steps: int, method: str = "gausslegendre") -> tuple[torch.Tensor, torch.Tensor]:
    """Points alpha_k in [0, 1] and weights w_k so that sum_k w_k g(alpha_k) ~ integral of g."""
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(steps)  # on [-1, 1]
        return torch.tensor((nodes + 1) / 2), torch.tensor(weights / 2)
    if method == "riemann_middle":  # midpoints of n equal slices
        alphas = (torch.arange(steps, dtype=torch.float64) + 0.5) / steps
        return alphas, torch.full((steps,), 1 / steps, dtype=torch.float64)
    raise ValueError(f"unknown method {method!r}")


def integrated_gradients(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor,
    baseline: torch.Tensor,
    steps: int = 50,
    method: str = "gausslegendre",
) -> torch.Tensor:
    """(x - x') times the path integral of the gradient from the baseline x' to x."""
    alphas, weights = quadrature(steps, method)
    total = torch.zeros_like(x)
    for alpha, weight in zip(alphas.tolist(), weights.tolist(), strict=True):
        point = baseline + alpha * (x - baseline)
        total += weight * saliency(model, point, target)
    return (x - baseline) * total


# --8<-- [end:scratch]


# --8<-- [start:captum]
def captum_attributions(
    model: nn.Module, x: torch.Tensor, target: torch.Tensor, baseline: torch.Tensor, steps: int, method: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """captum's Saliency (signed) and IntegratedGradients, with its completeness error."""
    from captum.attr import IntegratedGradients, Saliency

    x = x.clone().requires_grad_(True)  # captum warns if the input does not require gradients
    grads = Saliency(model).attribute(x, target=target, abs=False)
    ig, delta = IntegratedGradients(model).attribute(
        x, baselines=baseline, target=target, n_steps=steps, method=method, return_convergence_delta=True
    )
    return grads.detach(), ig.detach(), delta


# --8<-- [end:captum]


# --8<-- [start:completeness]
def completeness_gap(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor,
    baseline: torch.Tensor,
    attributions: torch.Tensor,
) -> torch.Tensor:
    """sum_i IG_i - (f(x) - f(x')) per example: zero if the integral were exact."""
    with torch.no_grad():
        f_x = model(x).gather(1, target[:, None]).squeeze(1)
        f_baseline = model(baseline).gather(1, target[:, None]).squeeze(1)
    return attributions.sum(dim=1) - (f_x - f_baseline)


# --8<-- [end:completeness]


# --8<-- [start:fairness-data]
def make_hiring_data(seed: int, n: int = 4000) -> dict[str, np.ndarray]:
    """Synthetic applicants: group a (0/1), a proxy that reveals a, two skills, historical labels.

    The skills have the same distribution in both groups, but the historical decisions
    (the labels) were harsher on group 1. The proxy (think: a postcode) carries no skill.
    """
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, size=n)
    proxy = group + rng.normal(0, 0.4, size=n)
    skills = rng.normal(0, 1, size=(n, 2))
    merit = skills[:, 0] + 0.5 * skills[:, 1]
    label = (merit - 0.8 * group + rng.normal(0, 0.5, size=n) > 0).astype(int)
    return {"group": group, "features": np.column_stack([skills, proxy]), "label": label}


# --8<-- [end:fairness-data]


# --8<-- [start:fairness-metrics]
def selection_rate(pred: np.ndarray, mask: np.ndarray) -> float:
    """P(y_hat = 1) among the examples in ``mask``."""
    return float(pred[mask].mean())


def demographic_parity_difference(pred: np.ndarray, group: np.ndarray) -> float:
    """|P(y_hat = 1 | a = 0) - P(y_hat = 1 | a = 1)|."""
    return abs(selection_rate(pred, group == 0) - selection_rate(pred, group == 1))


def equal_opportunity_difference(pred: np.ndarray, label: np.ndarray, group: np.ndarray) -> float:
    """|TPR(a = 0) - TPR(a = 1)|, the true-positive rates P(y_hat = 1 | y = 1, a)."""
    tpr = [selection_rate(pred, (group == a) & (label == 1)) for a in (0, 1)]
    return abs(tpr[0] - tpr[1])


# --8<-- [end:fairness-metrics]


# --8<-- [start:mitigation]
def parity_thresholds(scores: np.ndarray, group: np.ndarray, rate: float) -> dict[int, float]:
    """Per-group thresholds that select the same fraction ``rate`` of every group."""
    return {int(a): float(np.quantile(scores[group == a], 1 - rate)) for a in np.unique(group)}


def predict_with_thresholds(
    scores: np.ndarray, group: np.ndarray, thresholds: dict[int, float]
) -> np.ndarray:
    """Accept when the score reaches the threshold of the applicant's group."""
    cut = np.array([thresholds[int(a)] for a in group])
    return (scores >= cut).astype(int)


# --8<-- [end:mitigation]


# --8<-- [start:experiment]
def fairness_experiment(seed: int, drop_proxy: bool = False) -> dict[str, float]:
    """Train logistic regression, measure both gaps, then apply per-group thresholds."""
    from sklearn.linear_model import LogisticRegression

    train, test = make_hiring_data(seed), make_hiring_data(seed + 10_000)
    columns = [0, 1] if drop_proxy else [0, 1, 2]
    clf = LogisticRegression().fit(train["features"][:, columns], train["label"])
    scores_train = clf.predict_proba(train["features"][:, columns])[:, 1]
    scores_test = clf.predict_proba(test["features"][:, columns])[:, 1]
    pred = (scores_test >= 0.5).astype(int)  # one threshold for everybody
    rate = float((scores_train >= 0.5).mean())  # keep the overall selection rate
    thresholds = parity_thresholds(scores_train, train["group"], rate)  # chosen on training data
    fair_pred = predict_with_thresholds(scores_test, test["group"], thresholds)
    y, a = test["label"], test["group"]
    return {
        "accuracy": float((pred == y).mean()),
        "dp_gap": demographic_parity_difference(pred, a),
        "eo_gap": equal_opportunity_difference(pred, y, a),
        "mitigated_accuracy": float((fair_pred == y).mean()),
        "mitigated_dp_gap": demographic_parity_difference(fair_pred, a),
        "mitigated_eo_gap": equal_opportunity_difference(fair_pred, y, a),
    }


# --8<-- [end:experiment]


# --8<-- [start:solution-proxy]
def proxy_ablation(seed: int) -> dict[str, dict[str, float]]:
    """The same experiment with and without the proxy feature."""
    return {
        "with proxy": fairness_experiment(seed),
        "without proxy": fairness_experiment(seed, drop_proxy=True),
    }


# --8<-- [end:solution-proxy]


def plot_attributions():
    """Four test digits: the image, its saliency map and its integrated gradients."""
    import matplotlib.pyplot as plt

    seed_everything(0)
    model, x, y = train_digits_mlp(0)
    model, x, y = model.cpu(), x[:4].cpu(), y[:4].cpu()
    grads = saliency(model, x, y)
    ig = integrated_gradients(model, x, y, torch.zeros_like(x))
    fig, axes = plt.subplots(3, 4, figsize=(7.5, 6))
    rows = [(x, "input", "gray_r"), (grads, "saliency", "RdBu_r"), (ig, "IG", "RdBu_r")]
    for r, (maps, name, cmap) in enumerate(rows):
        for c in range(4):
            image = maps[c].detach().reshape(8, 8).numpy()
            limit = 1.0 if name == "input" else float(np.abs(image).max())
            low = 0.0 if name == "input" else -limit
            axes[r, c].imshow(image, cmap=cmap, vmin=low, vmax=limit)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if c == 0:
                axes[r, c].set_ylabel(name)
            if r == 0:
                axes[r, c].set_title(f"y = {int(y[c])}")
    fig.tight_layout()
    return fig


def plot_fairness():
    """Selection rate and true-positive rate per group, before and after per-group thresholds."""
    import matplotlib.pyplot as plt
    from sklearn.linear_model import LogisticRegression

    train, test = make_hiring_data(0), make_hiring_data(10_000)
    clf = LogisticRegression().fit(train["features"], train["label"])
    s_train = clf.predict_proba(train["features"])[:, 1]
    s_test = clf.predict_proba(test["features"])[:, 1]
    thresholds = parity_thresholds(s_train, train["group"], float((s_train >= 0.5).mean()))
    preds = {"t = 0.5": (s_test >= 0.5).astype(int),
             "per-group t": predict_with_thresholds(s_test, test["group"], thresholds)}  # fmt: skip
    y, a = test["label"], test["group"]
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), sharey=True)
    width = 0.35
    for ax, (name, pred) in zip(axes, preds.items(), strict=True):
        for g, color in [(0, "#1b6ca8"), (1, "#d95f02")]:
            values = [selection_rate(pred, a == g), selection_rate(pred, (a == g) & (y == 1))]
            ax.bar(np.arange(2) + (g - 0.5) * width, values, width, color=color, label=f"a = {g}")
        ax.set_xticks([0, 1], ["P(ŷ=1 | a)", "TPR(a)"])
        ax.set_title(name)
        ax.set_ylim(0, 1)
    axes[0].legend()
    fig.tight_layout()
    return fig


FIGURES = {"ethics-attributions": plot_attributions, "ethics-fairness": plot_fairness}


def report(args: argparse.Namespace) -> None:
    """Attributions against captum, then the fairness experiment."""
    model, x, y = train_digits_mlp(args.seed)
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    print(f"seed={args.seed} digits MLP test accuracy {accuracy:.3f} on {len(x)} images")
    x, y = x[:50], y[:50]
    baseline = torch.zeros_like(x)
    for method in ("gausslegendre", "riemann_middle"):
        ours = integrated_gradients(model, x, y, baseline, args.steps, method)
        grads, theirs, delta = captum_attributions(model, x, y, baseline, args.steps, method)
        gap = completeness_gap(model, x, y, baseline, ours).abs().max().item()
        diff, captum_gap = (ours - theirs).abs().max().item(), delta.abs().max().item()
        print(f"IG {method:<14} steps={args.steps}: max |ours - captum| = {diff:.1e}, "
              f"max |sum IG - (f(x) - f(x'))| = {gap:.1e} (captum {captum_gap:.1e})")  # fmt: skip
    print(f"saliency: max |ours - captum| = {(saliency(model, x, y) - grads).abs().max().item():.1e}")
    for drop in (False, True):
        r = fairness_experiment(args.seed, drop_proxy=drop)
        print(f"{'without' if drop else 'with   '} proxy: accuracy {r['accuracy']:.3f}, "
              f"DP gap {r['dp_gap']:.3f}, EO gap {r['eo_gap']:.3f} | per-group thresholds: accuracy "
              f"{r['mitigated_accuracy']:.3f}, DP gap {r['mitigated_dp_gap']:.3f}, "
              f"EO gap {r['mitigated_eo_gap']:.3f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.frontiers.ethics_explainability",
        "Saliency and integrated gradients checked against captum; fairness gaps and a mitigation.",
    )
    parser.add_argument("--steps", type=positive_int, default=50, help="IG integration steps (default: 50)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
