"""Model selection and ensembles: bagging, random forests, boosting, stacking and averaged MLPs.

Run ``python -m snippets.evaluation.ensembles --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
from typing import Self

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.ensemble import (
    AdaBoostClassifier,
    BaggingClassifier,
    BaggingRegressor,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    StackingClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_score, train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from torch import nn


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def tabular_problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """20 features (10 informative), 5% flipped labels: 400 examples to train on, 2000 to test."""
    x, y = make_classification(
        n_samples=2400,
        n_features=20,
        n_informative=10,
        n_redundant=0,
        flip_y=0.05,
        random_state=seed,
    )
    return train_test_split(x, y, train_size=400, stratify=y, random_state=seed)


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.predict(x) == y))


# --8<-- [end:setup]

from snippets.common import make_parser, positive_int, run_cli, seed_everything  # noqa: E402


# --8<-- [start:selection]
def choose_depth_by_cv(x: np.ndarray, y: np.ndarray, depths: list[int | None], seed: int = 0) -> dict:
    """Score a decision tree of each depth by 5-fold cross-validation on the training set."""
    folds = KFold(n_splits=5, shuffle=True, random_state=seed)
    scores = {
        depth: cross_val_score(
            DecisionTreeClassifier(max_depth=depth, random_state=seed), x, y, cv=folds
        ).mean()
        for depth in depths
    }
    return {"scores": scores, "best": max(scores, key=scores.get)}


def estimate_spread(x: np.ndarray, y: np.ndarray, repeats: int = 10) -> tuple[float, float]:
    """Standard deviation, over reshuffles, of a single 80/20 hold-out score and of a 5-fold CV score."""
    model = LogisticRegression(max_iter=1000)
    holdout, kfold = [], []
    for r in range(repeats):
        x_fit, x_val, y_fit, y_val = train_test_split(x, y, test_size=0.2, random_state=r)
        holdout.append(accuracy(model.fit(x_fit, y_fit), x_val, y_val))
        kfold.append(cross_val_score(model, x, y, cv=KFold(5, shuffle=True, random_state=r)).mean())
    return float(np.std(holdout)), float(np.std(kfold))


# --8<-- [end:selection]


# --8<-- [start:bias-variance]
def bias_variance(
    make_model, n_datasets: int = 20, n_points: int = 100, seed: int = 0
) -> tuple[float, float]:
    """Bias^2 and variance of a regressor on y = sin(2 pi x) + noise, over many training sets."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(0, 1, 200)[:, None]
    predictions = []
    for i in range(n_datasets):
        x = rng.uniform(0, 1, (n_points, 1))
        y = np.sin(2 * np.pi * x[:, 0]) + rng.normal(0, 0.3, n_points)
        predictions.append(make_model(i).fit(x, y).predict(grid))
    predictions = np.array(predictions)  # (n_datasets, 200)
    bias_squared = np.mean((predictions.mean(axis=0) - np.sin(2 * np.pi * grid[:, 0])) ** 2)
    variance = np.mean(predictions.var(axis=0))
    return float(bias_squared), float(variance)


def deep_tree(seed: int) -> DecisionTreeRegressor:
    return DecisionTreeRegressor(random_state=seed)  # grown until every leaf is pure: low bias, high variance


def bagged_trees(seed: int) -> BaggingRegressor:
    return BaggingRegressor(DecisionTreeRegressor(), n_estimators=10, random_state=seed)


# --8<-- [end:bias-variance]


# --8<-- [start:scratch]
class AdaBoost:
    """Discrete AdaBoost (Freund and Schapire) for labels in {0, 1}, with decision stumps."""

    def __init__(self, n_rounds: int = 50) -> None:
        self.n_rounds = n_rounds
        self.stumps: list[DecisionTreeClassifier] = []
        self.alphas: list[float] = []

    def fit(self, x: np.ndarray, y: np.ndarray) -> Self:
        weights = np.full(len(y), 1 / len(y))  # start with every example equally important
        for _ in range(self.n_rounds):
            stump = DecisionTreeClassifier(max_depth=1).fit(x, y, sample_weight=weights)
            wrong = stump.predict(x) != y
            error = weights[wrong].sum() / weights.sum()
            if error <= 0 or error >= 0.5:  # perfect, or no better than chance: stop
                break
            alpha = 0.5 * np.log((1 - error) / error)
            weights = weights * np.exp(np.where(wrong, alpha, -alpha))  # up-weight the mistakes
            weights /= weights.sum()
            self.stumps.append(stump)
            self.alphas.append(alpha)
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """sum_t alpha_t h_t(x), with each stump's vote h_t(x) in {-1, +1}."""
        votes = np.array([2 * stump.predict(x) - 1 for stump in self.stumps])
        return np.asarray(self.alphas) @ votes

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.decision_function(x) > 0).astype(int)


# --8<-- [end:scratch]


# --8<-- [start:bagging]
def bagging_and_forest(
    x_train, x_test, y_train, y_test, seed: int = 0
) -> dict[str, tuple[float, list[float]]]:
    """Ensemble accuracy and the accuracy of each member tree, on the test set."""
    bagging = BaggingClassifier(DecisionTreeClassifier(), n_estimators=25, random_state=seed)
    forest = RandomForestClassifier(n_estimators=50, max_features="sqrt", random_state=seed)
    results = {}
    for name, model in [("bagging", bagging), ("random forest", forest)]:
        model.fit(x_train, y_train)
        members = [accuracy(tree, x_test, y_test) for tree in model.estimators_]
        results[name] = (accuracy(model, x_test, y_test), members)
    return results


# --8<-- [end:bagging]


# --8<-- [start:boosting]
def boosting(x_train, x_test, y_train, y_test, seed: int = 0) -> dict[str, tuple[float, list[float]]]:
    """AdaBoost on stumps, gradient boosting and histogram gradient boosting.

    AdaBoost's members are classifiers, so we score each one. Gradient boosting's members fit
    residuals, not labels; we compare with one tree of the same size trained on the labels.
    """
    ada = AdaBoostClassifier(DecisionTreeClassifier(max_depth=1), n_estimators=50, random_state=seed)
    ada.fit(x_train, y_train)
    gbm = GradientBoostingClassifier(n_estimators=50, max_depth=3, learning_rate=0.2, random_state=seed)
    hist = HistGradientBoostingClassifier(
        max_iter=50, max_leaf_nodes=31, learning_rate=0.2, random_state=seed
    )
    same_size = {
        "gradient boosting": DecisionTreeClassifier(max_depth=3, random_state=seed),
        "hist gradient boosting": DecisionTreeClassifier(max_leaf_nodes=31, random_state=seed),
    }
    results = {
        "AdaBoost": (accuracy(ada, x_test, y_test), [accuracy(s, x_test, y_test) for s in ada.estimators_])
    }
    for name, model in [("gradient boosting", gbm), ("hist gradient boosting", hist)]:
        single = same_size[name].fit(x_train, y_train)
        results[name] = (
            accuracy(model.fit(x_train, y_train), x_test, y_test),
            [accuracy(single, x_test, y_test)],
        )
    return results


# --8<-- [end:boosting]


# --8<-- [start:stacking]
def stacking(x_train, x_test, y_train, y_test, seed: int = 0) -> dict[str, tuple[float, list[float]]]:
    """Four different models; a logistic regression learns how to combine their probabilities."""
    base = [
        ("logistic", LogisticRegression(max_iter=1000)),
        ("knn", make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=15))),
        ("tree", DecisionTreeClassifier(max_depth=5, random_state=seed)),
        ("naive bayes", GaussianNB()),
    ]
    # cv=5: the final model is trained on out-of-fold predictions, never on predictions
    # a base model made for examples it was trained on
    stack = StackingClassifier(base, final_estimator=LogisticRegression(), cv=5)
    stack.fit(x_train, y_train)
    members = [accuracy(model, x_test, y_test) for model in stack.estimators_]
    return {"stacking": (accuracy(stack, x_test, y_test), members)}


# --8<-- [end:stacking]


# --8<-- [start:torch]
def train_mlp(x: torch.Tensor, y: torch.Tensor, seed: int, steps: int = 150) -> nn.Module:
    """A 2-hidden-layer MLP; the seed sets its initial weights."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(x.shape[1], 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2)
    )
    model = model.to(x.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):  # full-batch training: 400 examples
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model


def mlp_ensemble(x_train, x_test, y_train, y_test, n_members: int = 5, seed: int = 0) -> dict:
    """Train n_members MLPs from different seeds and average their predicted probabilities."""
    device = pick_device()
    scaler = StandardScaler().fit(x_train)
    xs = [torch.tensor(scaler.transform(a), dtype=torch.float32, device=device) for a in (x_train, x_test)]
    y_fit, y_true = (torch.tensor(a, device=device) for a in (y_train, y_test))
    probabilities = []
    for m in range(n_members):
        model = train_mlp(xs[0], y_fit, seed=1000 * seed + m)
        with torch.no_grad():
            probabilities.append(model(xs[1]).softmax(dim=1))
    members = [(p.argmax(dim=1) == y_true).float().mean().item() for p in probabilities]
    average = torch.stack(probabilities).mean(dim=0)
    ensemble = (average.argmax(dim=1) == y_true).float().mean().item()

    def log_loss(p: torch.Tensor) -> float:
        return nn.functional.nll_loss(p.clamp_min(1e-12).log(), y_true).item()

    return {
        "5 MLPs": (ensemble, members),
        "log loss": (log_loss(average), [log_loss(p) for p in probabilities]),
    }


# --8<-- [end:torch]


# --8<-- [start:solution-oob]
def oob_vs_test(seed: int = 0) -> tuple[float, float]:
    """A forest's out-of-bag accuracy (free, from the training set) and its test accuracy."""
    x_train, x_test, y_train, y_test = tabular_problem(seed)
    forest = RandomForestClassifier(n_estimators=100, oob_score=True, random_state=seed)
    forest.fit(x_train, y_train)
    return float(forest.oob_score_), accuracy(forest, x_test, y_test)


# --8<-- [end:solution-oob]


# --8<-- [start:solution-bootstrap]
def unique_fraction(n: int, rng: np.random.Generator) -> float:
    """Share of distinct examples in one bootstrap sample of size n (about 1 - 1/e)."""
    return len(np.unique(rng.integers(0, n, n))) / n


# --8<-- [end:solution-bootstrap]


# --8<-- [start:solution-correlation]
def variance_of_average(rho: float, n_members: int, rng: np.random.Generator, draws: int = 100_000) -> float:
    """Simulate the variance of the mean of n_members unit-variance values with correlation rho."""
    shared = rng.normal(size=(draws, 1))  # the part every member shares
    own = rng.normal(size=(draws, n_members))  # the part each member has alone
    members = np.sqrt(rho) * shared + np.sqrt(1 - rho) * own
    return float(members.mean(axis=1).var())


# --8<-- [end:solution-correlation]


def all_ensembles(seed: int = 0) -> dict[str, tuple[float, list[float]]]:
    """Every ensemble of the page on one train/test split: (ensemble accuracy, member accuracies)."""
    split = tabular_problem(seed)
    results = {**bagging_and_forest(*split, seed), **boosting(*split, seed), **stacking(*split, seed)}
    results["5 MLPs"] = mlp_ensemble(*split, seed=seed)["5 MLPs"]
    return results


def plot_members():
    """Accuracy of each member (dots) and of the ensemble (bar) for every method."""
    import matplotlib.pyplot as plt

    seed_everything(0)
    results = all_ensembles(0)
    fig, ax = plt.subplots(figsize=(8, 4))
    rng = np.random.default_rng(0)
    boosted = ("gradient boosting", "hist gradient boosting")
    for i, (name, (ensemble, members)) in enumerate(results.items()):
        if name in boosted:  # members fit residuals: show one tree of the same size instead
            label = "one tree, same size" if name == boosted[0] else None
            ax.scatter([i], members, marker="x", s=40, color="black", label=label)
        else:
            jitter = rng.uniform(-0.18, 0.18, len(members))
            ax.scatter(
                i + jitter, members, s=12, color="#d95f02", alpha=0.6, label="member" if i == 0 else None
            )
        ax.hlines(ensemble, i - 0.3, i + 0.3, color="#1b6ca8", lw=3, label="ensemble" if i == 0 else None)
        ax.text(i, ensemble + 0.01, f"{ensemble:.3f}", ha="center", fontsize=8, color="#1b6ca8")
    ax.set_xticks(range(len(results)))
    ax.set_xticklabels([name.replace(" ", "\n", 1) for name in results], fontsize=8)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(top=max(e for e, _ in results.values()) + 0.05)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_bagging_1d():
    """Five deep trees fitted to bootstrap samples, and the average of 25 such trees."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (100, 1))
    y = np.sin(2 * np.pi * x[:, 0]) + rng.normal(0, 0.3, 100)
    grid = np.linspace(0, 1, 400)[:, None]
    bag = BaggingRegressor(DecisionTreeRegressor(), n_estimators=25, random_state=0).fit(x, y)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.scatter(x[:, 0], y, s=10, color="gray", alpha=0.6)
    for i, tree in enumerate(bag.estimators_[:5]):
        ax.plot(
            grid, tree.predict(grid), color="#d95f02", lw=0.8, alpha=0.6, label="one tree" if i == 0 else None
        )
    ax.plot(grid, bag.predict(grid), color="#1b6ca8", lw=2.5, label="average of 25 trees")
    ax.plot(grid, np.sin(2 * np.pi * grid), "k--", lw=1, label=r"$\sin(2\pi x)$")
    ax.set(xlabel="x", ylabel="y")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


FIGURES = {"ensembles-members": plot_members, "ensembles-bagging-1d": plot_bagging_1d}


def report(args: argparse.Namespace) -> None:
    """Model selection numbers, bias and variance, and every ensemble against its members."""
    x_train, x_test, y_train, y_test = tabular_problem(args.seed)
    choice = choose_depth_by_cv(x_train, y_train, [1, 2, 4, 6, 8, None], args.seed)
    print(
        "5-fold CV accuracy of a decision tree by depth: "
        + ", ".join(f"{d}: {s:.3f}" for d, s in choice["scores"].items())
    )
    best = DecisionTreeClassifier(max_depth=choice["best"], random_state=args.seed).fit(x_train, y_train)
    print(f"chosen depth {choice['best']}, test accuracy {accuracy(best, x_test, y_test):.3f}")
    holdout, kfold = estimate_spread(x_train, y_train)
    print(f"spread of the estimate over 10 reshuffles: hold-out {holdout:.3f}, 5-fold CV {kfold:.3f}")
    for name, make in [("one deep tree", deep_tree), ("10 bagged trees", bagged_trees)]:
        bias2, variance = bias_variance(make, n_datasets=args.datasets, seed=args.seed)
        print(f"{name:>16}: bias^2 {bias2:.4f}, variance {variance:.4f}")
    ours = AdaBoost(50).fit(x_train, y_train)
    theirs = AdaBoostClassifier(DecisionTreeClassifier(max_depth=1), n_estimators=50).fit(x_train, y_train)
    same = int(np.sum(ours.predict(x_test) == theirs.predict(x_test)))
    print(f"AdaBoost from scratch vs scikit-learn: {same} of {len(y_test)} test predictions agree")
    print(f"{'method':>22}  ensemble  mean member  best member")
    for name, (ensemble, members) in all_ensembles(args.seed).items():
        print(f"{name:>22}  {ensemble:8.3f}  {np.mean(members):11.3f}  {max(members):11.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.evaluation.ensembles",
        "Compare bagging, random forests, boosting, stacking and an MLP ensemble with their members.",
    )
    parser.add_argument(
        "--datasets",
        type=positive_int,
        default=20,
        help="training sets drawn to estimate bias and variance (default: 20)",
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
