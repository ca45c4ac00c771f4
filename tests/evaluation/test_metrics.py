"""Claims of docs/evaluation/metrics.md."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from snippets.evaluation.metrics import (
    accuracy,
    average_precision,
    confusion_counts,
    confusion_matrix,
    f_beta,
    imbalanced_problem,
    imbalanced_trap,
    macro_f1,
    mean_absolute_error,
    mean_squared_error,
    pr_points,
    precision_recall_f1,
    r2,
    rank_auc,
    regression_problem,
    roc_auc,
    roc_points,
    threshold_for_recall,
)
from tests.helpers import seeds


def random_binary(seed: int, n: int = 500) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, hard predictions and scores with many ties (rounded to one decimal)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    scores = np.round(np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1), 1)
    return y, (rng.random(n) < 0.5 + 0.3 * (y - 0.5)).astype(int), scores


@pytest.mark.parametrize("seed", seeds(3))
def test_counting_metrics_match_scikit_learn(seed: int) -> None:
    y, y_pred, _ = random_binary(seed)
    p, r, f1, _ = skm.precision_recall_fscore_support(y, y_pred, average="binary", zero_division=0)
    assert accuracy(y, y_pred) == pytest.approx(skm.accuracy_score(y, y_pred), abs=1e-12)
    assert precision_recall_f1(y, y_pred) == pytest.approx((p, r, f1), abs=1e-12)
    c = confusion_counts(y, y_pred)
    np.testing.assert_array_equal(skm.confusion_matrix(y, y_pred), [[c["TN"], c["FP"]], [c["FN"], c["TP"]]])
    # multi-class: the confusion matrix, per-class scores and the macro average
    rng = np.random.default_rng(seed)
    y4 = rng.integers(0, 4, 400)
    p4 = np.where(rng.random(400) < 0.6, y4, rng.integers(0, 4, 400))
    labels = [0, 1, 2, 3]
    np.testing.assert_array_equal(
        confusion_matrix(y4, p4, labels), skm.confusion_matrix(y4, p4, labels=labels)
    )
    per_class = skm.precision_recall_fscore_support(y4, p4, labels=labels, zero_division=0)
    for k in labels:
        ours = precision_recall_f1(y4, p4, positive=k)
        assert ours == pytest.approx((per_class[0][k], per_class[1][k], per_class[2][k]), abs=1e-12)
    assert macro_f1(y4, p4, labels) == pytest.approx(skm.f1_score(y4, p4, average="macro"), abs=1e-12)
    # micro-averaged precision, recall and F1 all equal accuracy in single-label problems
    micro = skm.precision_recall_fscore_support(y4, p4, average="micro")[:3]
    assert micro == pytest.approx((accuracy(y4, p4),) * 3, abs=1e-12)


def test_empty_ratios_count_as_zero() -> None:
    y = np.array([0, 0, 1, 1])
    assert precision_recall_f1(y, np.zeros(4, dtype=int)) == (0.0, 0.0, 0.0)
    p, r, f1, _ = skm.precision_recall_fscore_support(y, np.zeros(4), average="binary", zero_division=0)
    assert (p, r, f1) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("seed", seeds(3))
def test_curves_match_scikit_learn(seed: int) -> None:
    y, _, scores = random_binary(seed)
    assert len(np.unique(scores)) < len(scores) // 10  # many ties
    for s in (scores, np.random.default_rng(seed).random(len(y))):
        fpr, tpr, thresholds = roc_points(y, s)
        sk_fpr, sk_tpr, sk_thresholds = skm.roc_curve(y, s, drop_intermediate=False)
        np.testing.assert_allclose(fpr, sk_fpr)
        np.testing.assert_allclose(tpr, sk_tpr)
        np.testing.assert_allclose(thresholds, sk_thresholds)
        assert roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
        precision, recall, pr_thresholds = pr_points(y, s)
        sk_precision, sk_recall, sk_pr_thresholds = skm.precision_recall_curve(y, s)
        np.testing.assert_allclose(precision, sk_precision[:-1][::-1])
        np.testing.assert_allclose(recall, sk_recall[:-1][::-1])
        np.testing.assert_allclose(pr_thresholds, sk_pr_thresholds[::-1])
        assert average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)


@pytest.mark.parametrize("seed", seeds(3))
def test_regression_metrics_match_scikit_learn(seed: int) -> None:
    y, y_hat = regression_problem(seed)
    assert mean_squared_error(y, y_hat) == pytest.approx(skm.mean_squared_error(y, y_hat), abs=1e-12)
    assert mean_absolute_error(y, y_hat) == pytest.approx(skm.mean_absolute_error(y, y_hat), abs=1e-12)
    assert r2(y, y_hat) == pytest.approx(skm.r2_score(y, y_hat), abs=1e-12)
    assert r2(y, np.full_like(y, y.mean())) == pytest.approx(0.0, abs=1e-12)
    assert r2(y, -y_hat) < 0  # worse than predicting the mean


@pytest.mark.parametrize("seed", seeds(3))
def test_accuracy_hides_a_useless_classifier(seed: int) -> None:
    results = imbalanced_trap(seed, positive_rate=0.02)
    lazy, model, noise = results["always negative"], results["logistic regression"], results["random scores"]
    assert lazy["accuracy"] == pytest.approx(0.98)
    assert lazy["recall"] == 0.0 and lazy["F1"] == 0.0 and lazy["ROC-AUC"] == 0.5
    # the trained model is far better, yet its accuracy is barely higher
    assert 0 < model["accuracy"] - lazy["accuracy"] < 0.015
    assert model["recall"] > 0.25 and model["F1"] > 0.35
    assert model["ROC-AUC"] > 0.9 and model["AP"] > 0.45
    # baselines: random scores give ROC-AUC near 0.5 but AP near the positive rate
    assert abs(noise["ROC-AUC"] - 0.5) < 0.12
    assert noise["AP"] < 0.06


@pytest.mark.parametrize("seed", seeds(3))
def test_solutions(seed: int) -> None:
    y, y_pred, scores = random_binary(seed)
    for beta in (0.5, 1.0, 2.0):
        assert f_beta(y, y_pred, beta) == pytest.approx(skm.fbeta_score(y, y_pred, beta=beta), abs=1e-12)
    for s in (scores, np.random.default_rng(seed).random(len(y))):
        assert rank_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    x_train, x_test, y_train, y_test = imbalanced_problem(seed=seed)
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=1000).fit(x_train, y_train)
    probability = model.predict_proba(x_test)[:, 1]
    threshold = threshold_for_recall(y_test, probability, 0.8)
    lowered = (probability >= threshold).astype(int)
    p_low, r_low, _ = precision_recall_f1(y_test, lowered)
    p_default, r_default, _ = precision_recall_f1(y_test, model.predict(x_test))
    assert threshold < 0.5 and r_low >= 0.8 > r_default
    assert p_low < p_default - 0.2  # recall is bought with precision
