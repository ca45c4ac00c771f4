"""Claims of docs/applications/healthcare.md."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from scipy.stats import binomtest

from snippets.applications.healthcare import (
    recall_interval,
    recall_precision,
    recall_precision_sklearn,
    recall_under_shift,
    screen,
    screening_splits,
    threshold_for_recall,
    threshold_for_recall_sklearn,
    train_logistic,
)
from tests.helpers import seeds

MODELS = ("MLP", "logistic")


@cache
def screened(seed: int) -> dict[str, dict[str, float]]:
    return screen(seed)


def test_splits_hold_out_a_stratified_test_set() -> None:
    splits = screening_splits(0)
    sizes = {name: len(y) for name, (_, y) in splits.items()}
    assert sum(sizes.values()) == 569
    assert sum(int(y.sum()) for _, y in splits.values()) == 212  # malignant cases
    for _, y in splits.values():
        assert abs(y.mean() - 212 / 569) < 0.01


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize("target", [0.8, 0.9, 0.95, 0.98, 1.0])
def test_scratch_threshold_matches_roc_curve(seed: int, target: float) -> None:
    (x_train, y_train), (x_val, y_val), _ = screening_splits(seed).values()
    scores = train_logistic(x_train, y_train).predict_proba(x_val)[:, 1]
    ours = threshold_for_recall(y_val, scores, target)
    assert ours == threshold_for_recall_sklearn(y_val, scores, target)
    recall, precision = recall_precision(y_val, scores, ours)
    assert recall >= target - 1e-12
    # The next higher score as threshold would miss the target: ours is the highest that works.
    higher = scores[scores > ours]
    if higher.size:
        assert recall_precision(y_val, scores, higher.min())[0] < target
    for t in (ours, 0.5, 0.9):
        np.testing.assert_allclose(
            recall_precision(y_val, scores, t), recall_precision_sklearn(y_val, scores, t)
        )


@pytest.mark.parametrize("seed", seeds(3))
def test_both_models_rank_well_and_the_mlp_gains_nothing(seed: int) -> None:
    results = screened(seed)
    for name in MODELS:
        assert results[name]["auc"] >= 0.97
    assert results["MLP"]["auc"] <= results["logistic"]["auc"] + 0.01


@pytest.mark.parametrize("seed", seeds(3))
def test_validation_threshold_keeps_test_recall_high(seed: int) -> None:
    for name in MODELS:
        assert screened(seed)[name]["recall@t"] >= 0.90


def test_validation_threshold_trades_precision_for_recall() -> None:
    runs = [screened(seed)[name] for seed in seeds(3) for name in MODELS]
    mean = {key: np.mean([run[key] for run in runs]) for key in runs[0]}
    assert mean["recall@t"] > mean["recall@0.5"]
    assert mean["precision@t"] < mean["precision@0.5"] - 0.03


@pytest.mark.parametrize("seed", seeds(3))
def test_lowering_the_threshold_never_lowers_recall(seed: int) -> None:
    (x_train, y_train), _, (x_test, y_test) = screening_splits(seed).values()
    scores = train_logistic(x_train, y_train).predict_proba(x_test)[:, 1]
    recalls = [recall_precision(y_test, scores, t)[0] for t in np.linspace(1.0, 0.0, 201)]
    assert np.all(np.diff(recalls) >= 0)
    assert recalls[0] < 1.0 and recalls[-1] == 1.0


@pytest.mark.parametrize(("found", "positives"), [(42, 42), (41, 42), (0, 10), (30, 43), (5, 5)])
def test_recall_interval_matches_scipy(found: int, positives: int) -> None:
    interval = binomtest(found, positives).proportion_ci(confidence_level=0.95, method="exact")
    np.testing.assert_allclose(recall_interval(found, positives), (interval.low, interval.high), atol=1e-9)


def test_perfect_validation_recall_is_weak_evidence() -> None:
    low, high = recall_interval(42, 42)
    assert high == 1.0
    assert 0.9 < low < 0.95  # 42 of 42 found cannot rule out a true recall of 0.92


def test_smaller_measurements_cost_recall() -> None:
    changes = []
    for seed in seeds(3):
        for before, after in recall_under_shift(seed, 0.7).values():
            assert after <= before
            changes.append(after - before)
    assert np.mean(changes) < 0
