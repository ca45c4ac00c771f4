"""Claims of docs/evaluation/ensembles.md."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from snippets.common import seed_everything
from sklearn.ensemble import AdaBoostClassifier
from sklearn.tree import DecisionTreeClassifier

from snippets.evaluation.ensembles import (
    AdaBoost,
    bagged_trees,
    bagging_and_forest,
    bias_variance,
    boosting,
    deep_tree,
    estimate_spread,
    mlp_ensemble,
    oob_vs_test,
    stacking,
    tabular_problem,
    unique_fraction,
    variance_of_average,
)
from tests.helpers import seeds


@cache
def results(seed: int) -> dict[str, tuple[float, list[float]]]:
    """Every ensemble on one split (computed once per seed, shared by the tests below)."""
    seed_everything(seed)
    split = tabular_problem(seed)
    return {
        **bagging_and_forest(*split, seed),
        **boosting(*split, seed),
        **stacking(*split, seed),
        **mlp_ensemble(*split, seed=seed),
    }


def gain_over_mean(name: str, seed: int) -> float:
    ensemble, members = results(seed)[name]
    return ensemble - float(np.mean(members))


@pytest.mark.parametrize("seed", seeds(3))
def test_bagging_and_forest_beat_their_trees(seed: int) -> None:
    assert gain_over_mean("bagging", seed) > 0.05
    assert gain_over_mean("random forest", seed) > 0.08


@pytest.mark.parametrize("seed", seeds(3))
def test_boosting_beats_its_weak_learners(seed: int) -> None:
    ensemble, stumps = results(seed)["AdaBoost"]
    assert ensemble > np.mean(stumps) + 0.1 and ensemble > max(stumps) + 0.05
    for name in ("gradient boosting", "hist gradient boosting"):
        ensemble, (single_tree,) = results(seed)[name]
        assert ensemble > single_tree + 0.02, name


@pytest.mark.parametrize("seed", seeds(3))
def test_stacking_beats_its_average_base_model(seed: int) -> None:
    assert gain_over_mean("stacking", seed) > 0.02


@pytest.mark.parametrize("seed", seeds(3))
def test_averaging_mlps_beats_the_average_mlp(seed: int) -> None:
    assert gain_over_mean("5 MLPs", seed) > 0.003
    ensemble_loss, member_losses = results(seed)["log loss"]
    assert ensemble_loss < 0.9 * min(member_losses)  # better calibrated than every member


@pytest.mark.parametrize("seed", seeds(3))
def test_bagging_halves_the_variance_of_a_deep_tree(seed: int) -> None:
    tree_bias2, tree_variance = bias_variance(deep_tree, seed=seed)
    bag_bias2, bag_variance = bias_variance(bagged_trees, seed=seed)
    assert bag_variance < 0.6 * tree_variance
    assert max(tree_bias2, bag_bias2) < 0.1 * tree_variance  # the error of a deep tree is variance


@pytest.mark.parametrize("seed", seeds(3))
def test_kfold_estimate_is_steadier_than_one_holdout_split(seed: int) -> None:
    x_train, _, y_train, _ = tabular_problem(seed)
    holdout, kfold = estimate_spread(x_train, y_train)
    assert kfold < 0.5 * holdout


@pytest.mark.parametrize("seed", seeds(3))
def test_adaboost_from_scratch_matches_scikit_learn(seed: int) -> None:
    x_train, x_test, y_train, _ = tabular_problem(seed)
    ours = AdaBoost(50).fit(x_train, y_train)
    theirs = AdaBoostClassifier(DecisionTreeClassifier(max_depth=1), n_estimators=50, random_state=seed)
    theirs.fit(x_train, y_train)
    assert len(ours.alphas) == len(theirs.estimators_) == 50
    np.testing.assert_array_equal(ours.predict(x_test), theirs.predict(x_test))
    # scikit-learn's SAMME weights are log((1 - err) / err): twice the classic 1/2 log(...)
    np.testing.assert_allclose(theirs.estimator_weights_, 2 * np.array(ours.alphas), rtol=1e-10)


@pytest.mark.parametrize("seed", seeds(3))
def test_solutions(seed: int) -> None:
    oob, test = oob_vs_test(seed)
    assert abs(oob - test) < 0.1  # typical gap 0.025 (standard deviation over 30 seeds)
    rng = np.random.default_rng(seed)
    assert unique_fraction(20_000, rng) == pytest.approx(1 - np.exp(-1), abs=0.01)
    for rho, members in [(0.0, 10), (0.3, 10), (0.8, 5)]:
        expected = rho + (1 - rho) / members
        assert variance_of_average(rho, members, rng) == pytest.approx(expected, rel=0.03)


class _TrueCurve:
    """A 'model' that ignores its data and predicts the noiseless curve sin(2 pi x)."""

    def fit(self, x, y):
        return self

    def predict(self, x):
        return np.sin(2 * np.pi * x[:, 0])


def test_bias_and_variance_of_models_whose_answer_is_known() -> None:
    from sklearn.dummy import DummyRegressor

    assert bias_variance(lambda seed: _TrueCurve()) == pytest.approx((0.0, 0.0), abs=1e-20)
    # Predicting the training mean (about 0) everywhere: the bias^2 is the curve's mean square, about 1/2,
    # and the variance is that of a mean of 100 noisy points, about (0.5 + 0.3^2) / 100.
    bias_squared, variance = bias_variance(lambda seed: DummyRegressor())
    assert 0.45 < bias_squared < 0.55
    assert 0.002 < variance < 0.012
