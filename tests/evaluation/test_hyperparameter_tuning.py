"""Claims of docs/evaluation/hyperparameter-tuning.md."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import optuna
import pytest

from snippets.evaluation.hyperparameter_tuning import (
    ALPHAS,
    BEST_ALPHA,
    best_so_far,
    digits_split,
    grid_best,
    grid_search_by_hand,
    random_search_by_hand,
    ridge_problem,
    shared_study,
    sklearn_searches,
    synthetic_objective,
    torch_grid_search,
    trials_needed,
    tune_with_optuna,
)
from tests.helpers import seeds


@cache
def searches(seed: int):
    """GridSearchCV and RandomizedSearchCV on the ridge problem, run once per seed."""
    x, y = ridge_problem(seed)
    return sklearn_searches(x, y, seed)


@pytest.mark.parametrize("seed", seeds(3))
def test_searches_find_the_known_ridge_penalty(seed: int) -> None:
    x, y = ridge_problem(seed)
    by_hand, mean_scores = grid_search_by_hand(x, y, ALPHAS, seed)
    grid, random = searches(seed)
    # our loop over the grid is exactly what GridSearchCV does
    assert by_hand == grid.best_params_["alpha"]
    np.testing.assert_allclose(mean_scores, grid.cv_results_["mean_test_score"], rtol=1e-10)
    # both searches land within one grid step (a factor sqrt(10)) of the Bayes-optimal alpha = 10
    for found in (grid.best_params_["alpha"], random.best_params_["alpha"]):
        assert BEST_ALPHA / np.sqrt(10) - 1e-9 <= found <= BEST_ALPHA * np.sqrt(10) + 1e-9
    # and the extreme penalties are clearly worse than the best one
    assert mean_scores.max() > mean_scores[0] + 0.1 and mean_scores.max() > mean_scores[-1] + 0.1


@pytest.mark.parametrize("seed", seeds(3))
def test_random_search_beats_grid_when_one_parameter_matters(seed: int) -> None:
    objectives = range(100 * seed, 100 * seed + 20)
    grid = [grid_best(synthetic_objective(s), 5) for s in objectives]  # 5 x 5 = 25 trials
    random = [
        best_so_far(optuna.samplers.RandomSampler(seed=s), synthetic_objective(s), 25)[-1] for s in objectives
    ]
    assert np.median(random) < 0.7 * np.median(grid)


@pytest.mark.parametrize("seed", seeds(3))
def test_tpe_beats_random_search(seed: int) -> None:
    objectives = range(100 * seed, 100 * seed + 8)
    tpe = [
        best_so_far(optuna.samplers.TPESampler(seed=s), synthetic_objective(s), 60)[-1] for s in objectives
    ]
    random = [
        best_so_far(optuna.samplers.RandomSampler(seed=s), synthetic_objective(s), 60)[-1] for s in objectives
    ]
    assert np.median(tpe) < 0.5 * np.median(random)


@pytest.mark.parametrize("seed", seeds(3))
def test_pytorch_grid_loop(seed: int) -> None:
    results = torch_grid_search(digits_split(seed), [1e-3, 1e-2, 1e-1], [16, 64])
    assert len(results) == 6
    best, worst = results[0], results[-1]
    assert best["val_acc"] >= 0.93
    assert (worst["lr"], worst["hidden"]) == (1e-3, 16)
    assert best["val_acc"] - worst["val_acc"] > 0.25


@pytest.mark.parametrize("seed", seeds(3))
def test_median_pruner_stops_bad_trials(seed: int) -> None:
    study = tune_with_optuna(digits_split(seed), n_trials=12, seed=seed)
    pruned = study.get_trials(states=(optuna.trial.TrialState.PRUNED,))
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(pruned) >= 2 and len(complete) >= 5
    assert all(len(t.intermediate_values) < 10 for t in pruned)  # stopped before the last epoch
    assert all(len(t.intermediate_values) == 10 for t in complete)
    assert study.best_value >= 0.88
    # The search space is the page's: both parameters sampled on a log scale, in their ranges.
    space = study.trials[0].distributions
    assert (space["lr"].low, space["lr"].high, space["lr"].log) == (1e-5, 1.0, True)
    assert (space["hidden"].low, space["hidden"].high, space["hidden"].log) == (4, 256, True)
    assert all(1e-5 <= t.params["lr"] <= 1.0 and 4 <= t.params["hidden"] <= 256 for t in study.trials)


def test_workers_share_one_study(tmp_path: Path) -> None:
    study = shared_study(tmp_path / "journal.log", n_workers=3, trials_each=4)
    assert len(study.trials) == 12
    assert {t.state for t in study.trials} == {optuna.trial.TrialState.COMPLETE}
    # Every trial recorded its x in [-5, 5] and the value (x - 2)^2 of the page's objective.
    for trial in study.trials:
        x = trial.params["x"]
        assert -5 <= x <= 5 and trial.value == pytest.approx((x - 2) ** 2)
    assert study.best_value == min(t.value for t in study.trials)


@pytest.mark.parametrize("seed", seeds(3))
def test_solution_random_search_by_hand_matches_scikit_learn(seed: int) -> None:
    x, y = ridge_problem(seed)
    best, alphas = random_search_by_hand(x, y, 13, seed)
    _, random = searches(seed)
    np.testing.assert_allclose(alphas, np.asarray(random.cv_results_["param_alpha"], dtype=float))
    assert best == pytest.approx(random.best_params_["alpha"])


@pytest.mark.parametrize("seed", seeds(3))
def test_solution_trials_needed(seed: int) -> None:
    n = trials_needed(0.05, 0.95)
    assert n == 59
    hits = np.random.default_rng(seed).random((20_000, n)) < 0.05  # 20000 searches of n trials
    assert hits.any(axis=1).mean() >= 0.94
    assert (hits[:, : n - 10].any(axis=1).mean()) < 0.95  # fewer trials are not enough
