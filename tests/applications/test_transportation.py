"""Claims of docs/applications/transportation.md."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error

from snippets.applications.transportation import (
    WEEK,
    baseline_errors,
    mae,
    make_traffic,
    make_windows,
    rmse,
    run_experiment,
    scores,
)
from tests.helpers import seeds


@cache
def measured(seed: int) -> dict[str, tuple[float, float]]:
    return scores(run_experiment(seed))


@pytest.mark.parametrize("seed", seeds(3))
def test_lstm_beats_last_value_by_a_margin(seed: int) -> None:
    s = measured(seed)
    assert s["LSTM"][0] < 0.6 * s["last value"][0]
    assert s["LSTM"][1] < 0.6 * s["last value"][1]


@pytest.mark.parametrize("seed", seeds(3))
def test_lstm_beats_same_hour_yesterday(seed: int) -> None:
    s = measured(seed)
    assert s["LSTM"][0] < 0.7 * s["same hour yesterday"][0]
    assert s["LSTM"][1] < 0.7 * s["same hour yesterday"][1]


@pytest.mark.parametrize("seed", seeds(3))
def test_test_split_is_strictly_after_train_and_has_no_look_ahead(seed: int) -> None:
    flow = make_traffic(8, np.random.default_rng(seed))
    window, horizon = 24, 3
    train, test, (mean, std) = make_windows(flow, window, horizon, test_weeks=2)
    split_hour = len(flow) - 2 * WEEK
    assert train.target_hours.max() < test.target_hours.min()
    assert train.target_hours.max() == split_hour - 1 and test.target_hours.min() == split_hour
    # each window ends `horizon` hours before its target: its last value is the flow then
    z_last = test.inputs[:, -1, 0] * std + mean
    np.testing.assert_allclose(z_last, flow[test.target_hours - horizon])
    # normalisation uses the training hours only: changing the future changes nothing in train
    assert mean == pytest.approx(flow[:split_hour].mean()) and std == pytest.approx(flow[:split_hour].std())
    future_changed = flow.copy()
    future_changed[split_hour:] *= 10
    train2, _, stats2 = make_windows(future_changed, window, horizon, test_weeks=2)
    assert stats2 == (mean, std)
    np.testing.assert_array_equal(train2.inputs, train.inputs)


@pytest.mark.parametrize("seed", seeds(3))
def test_metrics_match_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth, prediction = rng.normal(size=50), rng.normal(size=50)
    assert mae(prediction, truth) == pytest.approx(mean_absolute_error(truth, prediction))
    assert rmse(prediction, truth) == pytest.approx(np.sqrt(mean_squared_error(truth, prediction)))


@pytest.mark.parametrize("seed", seeds(3))
def test_weekly_naive_beats_daily_and_last_value_degrades_with_horizon(seed: int) -> None:
    flow = make_traffic(8, np.random.default_rng(seed))
    hours = np.arange(6 * WEEK, 8 * WEEK)
    errors = {h: baseline_errors(flow, hours, h) for h in (1, 3, 6)}
    assert errors[1]["same hour last week"] < 0.7 * errors[1]["same hour yesterday"]
    assert errors[1]["last value"] < errors[3]["last value"] < errors[6]["last value"]
    assert errors[6]["same hour yesterday"] == errors[1]["same hour yesterday"]  # does not use the horizon
