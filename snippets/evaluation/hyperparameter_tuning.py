"""Hyperparameter tuning: grid search, random search and Bayesian optimisation (Optuna TPE).

Run ``python -m snippets.evaluation.hyperparameter_tuning --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import random
import itertools
import tempfile
from pathlib import Path

import numpy as np
import optuna
import torch
from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV, cross_val_score, train_test_split
from torch import nn


def seed_everything(seed: int) -> int:
    """Seed Python, NumPy and PyTorch; return the seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return seed


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


optuna.logging.set_verbosity(optuna.logging.WARNING)  # keep the output short


def ridge_problem(seed: int = 0, n: int = 100, d: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Linear data whose best ridge penalty is known: weights ~ N(0, 0.1), noise ~ N(0, 1).

    For this prior the posterior mean of the weights is ridge regression with
    alpha = noise variance / prior variance = 1 / 0.1 = 10.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    weights = rng.normal(0.0, np.sqrt(0.1), d)
    return x, x @ weights + rng.normal(0.0, 1.0, n)


BEST_ALPHA = 10.0
ALPHAS = 10.0 ** np.arange(-2, 4.01, 0.5)  # 0.01, 0.0316, ..., 10000: 13 values
# --8<-- [end:setup]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402


# --8<-- [start:scratch]
def grid_search_by_hand(
    x: np.ndarray, y: np.ndarray, alphas: np.ndarray, seed: int = 0
) -> tuple[float, np.ndarray]:
    """Try every alpha, score each by 5-fold cross-validation, keep the best."""
    folds = KFold(n_splits=5, shuffle=True, random_state=seed)
    mean_scores = np.array(
        [
            cross_val_score(
                Ridge(alpha=alpha, fit_intercept=False), x, y, cv=folds, scoring="neg_mean_squared_error"
            ).mean()
            for alpha in alphas
        ]
    )
    return float(alphas[np.argmax(mean_scores)]), mean_scores


# --8<-- [end:scratch]


# --8<-- [start:sklearn]
def sklearn_searches(x: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[GridSearchCV, RandomizedSearchCV]:
    """Grid search over ALPHAS and random search over a log-uniform range, both 5-fold CV."""
    folds = KFold(n_splits=5, shuffle=True, random_state=seed)
    model = Ridge(fit_intercept=False)
    grid = GridSearchCV(model, {"alpha": ALPHAS}, cv=folds, scoring="neg_mean_squared_error")
    random = RandomizedSearchCV(
        model,
        {"alpha": loguniform(1e-2, 1e4)},  # sample log(alpha) uniformly
        n_iter=13,  # the same budget as the grid
        cv=folds,
        scoring="neg_mean_squared_error",
        random_state=seed,
    )
    return grid.fit(x, y), random.fit(x, y)


# --8<-- [end:sklearn]


# --8<-- [start:torch]
def digits_split(seed: int = 0) -> dict[str, torch.Tensor]:
    """scikit-learn's 8x8 digits: 60% train, 20% validation, 20% test."""
    x, y = load_digits(return_X_y=True)
    x_train, x_rest, y_train, y_rest = train_test_split(
        x / 16, y, test_size=0.4, random_state=seed, stratify=y
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=seed, stratify=y_rest
    )
    device = pick_device()
    data = {
        "x_train": x_train,
        "y_train": y_train,
        "x_val": x_val,
        "y_val": y_val,
        "x_test": x_test,
        "y_test": y_test,
    }
    return {
        k: torch.tensor(v, dtype=torch.float32 if k[0] == "x" else torch.long, device=device)
        for k, v in data.items()
    }


def make_mlp(hidden: int) -> nn.Module:
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10)).to(pick_device())


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> None:
    """One pass over the training set in mini-batches of 128."""
    model.train()
    for batch in torch.randperm(len(x), device=x.device).split(128):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
        optimizer.step()


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


def torch_grid_search(
    data: dict[str, torch.Tensor], learning_rates: list[float], hidden_sizes: list[int], epochs: int = 10
) -> list[dict[str, float]]:
    """Train one MLP per configuration; score each on the validation set."""
    results = []
    for lr, hidden in itertools.product(learning_rates, hidden_sizes):
        seed_everything(0)  # the same initial weights and batches for every configuration
        model = make_mlp(hidden)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        for _ in range(epochs):
            train_epoch(model, optimizer, data["x_train"], data["y_train"])
        results.append({"lr": lr, "hidden": hidden, "val_acc": accuracy(model, data["x_val"], data["y_val"])})
    return sorted(results, key=lambda r: r["val_acc"], reverse=True)


# --8<-- [end:torch]


# --8<-- [start:optuna]
def make_objective(data: dict[str, torch.Tensor], epochs: int = 10):
    """An Optuna objective: sample a configuration, train, report every epoch, maybe stop early."""

    def objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-5, 1.0, log=True)
        hidden = trial.suggest_int("hidden", 4, 256, log=True)
        seed_everything(trial.number)
        model = make_mlp(hidden)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        for epoch in range(epochs):
            train_epoch(model, optimizer, data["x_train"], data["y_train"])
            val_acc = accuracy(model, data["x_val"], data["y_val"])
            trial.report(val_acc, step=epoch)  # the learning curve so far
            if trial.should_prune():  # worse than the median of earlier trials at this epoch
                raise optuna.TrialPruned()
        return val_acc

    return objective


def tune_with_optuna(data: dict[str, torch.Tensor], n_trials: int = 12, seed: int = 0) -> optuna.Study:
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=3),
    )
    study.optimize(make_objective(data), n_trials=n_trials)
    return study


# --8<-- [end:optuna]


# --8<-- [start:storage]
def shared_study(path: Path, n_workers: int = 2, trials_each: int = 5) -> optuna.Study:
    """Workers share one study through a storage; here a journal file, one worker after another."""

    def objective(trial: optuna.Trial) -> float:
        return (trial.suggest_float("x", -5, 5) - 2) ** 2

    optuna.create_study(study_name="shared", storage=journal(path))
    for worker in range(n_workers):  # in real use: separate processes or machines
        study = optuna.load_study(
            study_name="shared", storage=journal(path), sampler=optuna.samplers.TPESampler(seed=worker)
        )
        study.optimize(objective, n_trials=trials_each)
    return optuna.load_study(study_name="shared", storage=journal(path))


def journal(path: Path) -> optuna.storages.JournalStorage:
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))


# --8<-- [end:storage]


# --8<-- [start:comparison]
def synthetic_objective(seed: int):
    """A validation loss over two hyperparameters in [0, 1]; only the first one matters much.

    The optimum (a, b) is placed at random; the best possible loss is 0.
    """
    a, b = np.random.default_rng(seed).uniform(0.1, 0.9, size=2)
    return lambda x, y: (x - a) ** 2 + 0.01 * (y - b) ** 2


def best_so_far(sampler: optuna.samplers.BaseSampler, loss, n_trials: int) -> np.ndarray:
    """The lowest loss found after 1, 2, ..., n_trials trials."""
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: loss(t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), n_trials=n_trials)
    return np.minimum.accumulate([t.value for t in study.trials])


def grid_best(loss, points_per_axis: int) -> float:
    """Grid search with points_per_axis**2 trials, endpoints included."""
    axis = np.linspace(0, 1, points_per_axis)
    return min(loss(x, y) for x in axis for y in axis)


def compare_searches(budgets: list[int], objective_seeds: list[int]) -> dict[int, dict[str, float]]:
    """Median best loss over several objectives after each budget: grid (k x k), random, TPE."""
    runs = {"grid": [], "random": [], "TPE": []}
    for seed in objective_seeds:
        loss = synthetic_objective(seed)
        runs["grid"].append([grid_best(loss, int(np.sqrt(n))) for n in budgets])
        for name, sampler in [
            ("random", optuna.samplers.RandomSampler(seed=seed)),
            ("TPE", optuna.samplers.TPESampler(seed=seed)),
        ]:
            history = best_so_far(sampler, loss, max(budgets))
            runs[name].append([history[n - 1] for n in budgets])
    return {
        n: {name: float(np.median(np.array(values)[:, i])) for name, values in runs.items()}
        for i, n in enumerate(budgets)
    }


# --8<-- [end:comparison]


# --8<-- [start:solution-random]
def random_search_by_hand(
    x: np.ndarray, y: np.ndarray, n_iter: int = 13, seed: int = 0
) -> tuple[float, np.ndarray]:
    """Draw n_iter alphas log-uniformly in [0.01, 10000] and keep the best by 5-fold CV."""
    alphas = loguniform(1e-2, 1e4).rvs(size=n_iter, random_state=np.random.RandomState(seed))
    best, _ = grid_search_by_hand(x, y, alphas, seed)
    return best, alphas


# --8<-- [end:solution-random]


# --8<-- [start:solution-trials]
def trials_needed(top_fraction: float, confidence: float) -> int:
    """Fewest random trials so that P(at least one lands in the top fraction) >= confidence."""
    # P(all n trials miss) = (1 - top_fraction) ** n  <=  1 - confidence
    return int(np.ceil(np.log(1 - confidence) / np.log(1 - top_fraction)))


# --8<-- [end:solution-trials]


def plot_trials():
    """Best loss found vs number of trials: grid, random and TPE (median over 10 objectives)."""
    import matplotlib.pyplot as plt

    seeds = range(10)
    budgets = np.arange(2, 9) ** 2
    grid = np.median(
        [[grid_best(synthetic_objective(s), int(np.sqrt(n))) for n in budgets] for s in seeds], axis=0
    )
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(budgets, grid, "s-", color="#7570b3", label="grid (k × k)")
    for name, make, color in [
        ("random", optuna.samplers.RandomSampler, "#d95f02"),
        ("TPE", optuna.samplers.TPESampler, "#1b6ca8"),
    ]:
        runs = np.array([best_so_far(make(seed=s), synthetic_objective(s), budgets[-1]) for s in seeds])
        trials = np.arange(1, budgets[-1] + 1)
        ax.plot(trials, np.median(runs, axis=0), color=color, label=f"{name} (median)")
        low, high = np.percentile(runs, [25, 75], axis=0)
        ax.fill_between(trials, low, high, color=color, alpha=0.15)
    ax.set(xscale="linear", yscale="log", xlabel="trials", ylabel="best loss so far (optimum 0)")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def plot_grid_vs_random():
    """Nine trials on a grid and nine at random, with the loss profile of the important parameter."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(2)
    layouts = {
        "grid": np.array(list(itertools.product(np.linspace(0.1, 0.9, 3), repeat=2))),
        "random": rng.uniform(0.05, 0.95, size=(9, 2)),
    }
    profile = np.linspace(0, 1, 200)
    important = np.exp(-((profile - 0.62) ** 2) / (2 * 0.06**2))
    fig, axes = plt.subplots(1, 2, figsize=(8, 4.2), sharey=True)
    for ax, (name, points) in zip(axes, layouts.items(), strict=True):
        ax.scatter(points[:, 0], points[:, 1], s=60, color="#1b6ca8", edgecolor="black", zorder=3)
        ax.plot(profile, -0.12 + 0.1 * important, color="#1b6ca8")  # the important parameter
        ax.plot(-0.12 + 0.1 * np.ones_like(profile) * 0.5, profile, color="#d95f02")  # the flat one
        for px, py in points:
            ax.plot([px, px], [-0.12, py], ":", color="gray", lw=0.8)
        ax.set(
            xlim=(-0.15, 1),
            ylim=(-0.15, 1),
            title=f"{name}: {len(np.unique(points[:, 0].round(6)))} distinct x",
            xlabel="x (important)",
        )
    axes[0].set_ylabel("y (unimportant)")
    fig.tight_layout()
    return fig


FIGURES = {"tuning-trials": plot_trials, "tuning-grid-vs-random": plot_grid_vs_random}


def report(args: argparse.Namespace) -> None:
    """Tune a ridge penalty, a PyTorch MLP and a synthetic loss; print what each search found."""
    x, y = ridge_problem(args.seed)
    by_hand, _ = grid_search_by_hand(x, y, ALPHAS, args.seed)
    grid, random = sklearn_searches(x, y, args.seed)
    grid_alpha, random_alpha = grid.best_params_["alpha"], random.best_params_["alpha"]
    print(
        f"ridge alpha, best by theory {BEST_ALPHA:g}: by hand {by_hand:.3g}, "
        f"GridSearchCV {grid_alpha:.3g}, RandomizedSearchCV {random_alpha:.3g}"
    )

    data = digits_split(args.seed)
    table = torch_grid_search(data, [1e-3, 1e-2, 1e-1], [16, 64])
    print("PyTorch MLP on digits, a grid of 6 configurations:")
    for row in sorted(table, key=lambda r: (r["lr"], r["hidden"])):
        mark = "  <- best" if row is table[0] else ""
        print(
            f"  lr={row['lr']:<6g} hidden={row['hidden']:<3d} validation accuracy {row['val_acc']:.3f}{mark}"
        )

    study = tune_with_optuna(data, n_trials=args.trials, seed=args.seed)
    states = [t.state for t in study.trials]
    pruned, complete = (
        states.count(optuna.trial.TrialState.PRUNED),
        states.count(optuna.trial.TrialState.COMPLETE),
    )
    best = study.best_trial
    print(f"Optuna TPE + MedianPruner, {args.trials} trials: {complete} complete, {pruned} pruned")
    lr, hidden = best.params["lr"], best.params["hidden"]
    print(f"  best: lr={lr:.2g} hidden={hidden} validation accuracy {best.value:.3f}")

    with tempfile.TemporaryDirectory() as folder:
        shared = shared_study(Path(folder) / "journal.log")
        print(f"shared journal storage: 2 workers x 5 trials -> {len(shared.trials)} trials in one study")

    medians = compare_searches([25, 64], list(range(args.seed, args.seed + 10)))
    print("synthetic loss (optimum 0), median best loss over 10 objectives:")
    for budget, row in medians.items():
        print(f"  {budget} trials: " + ", ".join(f"{name} {value:.1e}" for name, value in row.items()))


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.evaluation.hyperparameter_tuning",
        "Grid search, random search and Optuna's TPE on a ridge penalty, a PyTorch MLP and a synthetic loss.",
    )
    parser.add_argument(
        "--trials", type=positive_int, default=12, help="Optuna trials for the MLP (default: 12)"
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
