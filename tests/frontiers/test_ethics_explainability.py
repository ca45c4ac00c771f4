"""Claims of docs/frontiers/ethics-explainability.md."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest
import torch

from snippets.common import seed_everything
from snippets.frontiers.ethics_explainability import (
    captum_attributions,
    completeness_gap,
    demographic_parity_difference,
    equal_opportunity_difference,
    fairness_experiment,
    integrated_gradients,
    proxy_ablation,
    saliency,
    train_digits_mlp,
)
from tests.helpers import seeds


@cache
def model_and_data(seed: int) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    seed_everything(seed)
    model, x, y = train_digits_mlp(seed)
    return model, x[:40], y[:40]


@pytest.mark.parametrize("seed", seeds(3))
def test_saliency_matches_captum(seed: int) -> None:
    model, x, y = model_and_data(seed)
    grads, _, _ = captum_attributions(model, x, y, torch.zeros_like(x), steps=8, method="gausslegendre")
    torch.testing.assert_close(saliency(model, x, y), grads, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("method", ["gausslegendre", "riemann_middle"])
@pytest.mark.parametrize("seed", seeds(3))
def test_integrated_gradients_match_captum(seed: int, method: str) -> None:
    model, x, y = model_and_data(seed)
    baseline = torch.zeros_like(x)
    ours = integrated_gradients(model, x, y, baseline, steps=50, method=method)
    _, theirs, _ = captum_attributions(model, x, y, baseline, steps=50, method=method)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("seed", seeds(3))
def test_completeness(seed: int) -> None:
    model, x, y = model_and_data(seed)
    baseline = torch.zeros_like(x)
    with torch.no_grad():
        scale = (model(x) - model(baseline)).gather(1, y[:, None]).abs().squeeze(1)
    assert scale.mean() > 5.0  # the attributions have something sizeable to explain
    for method, tolerance in [("gausslegendre", 1e-4), ("riemann_middle", 5e-3)]:
        ig = integrated_gradients(model, x, y, baseline, steps=50, method=method)
        assert completeness_gap(model, x, y, baseline, ig).abs().max() <= tolerance * scale.max()


@pytest.mark.parametrize("seed", seeds(3))
def test_fairness_metrics_match_pandas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"a": rng.integers(0, 2, 500), "y": rng.integers(0, 2, 500), "p": rng.integers(0, 2, 500)}
    )
    rates = frame.groupby("a")["p"].mean()
    tpr = frame[frame["y"] == 1].groupby("a")["p"].mean()
    pred, label, group = frame["p"].to_numpy(), frame["y"].to_numpy(), frame["a"].to_numpy()
    assert demographic_parity_difference(pred, group) == pytest.approx(abs(rates[0] - rates[1]), abs=1e-12)
    assert equal_opportunity_difference(pred, label, group) == pytest.approx(abs(tpr[0] - tpr[1]), abs=1e-12)


@pytest.mark.parametrize("seed", seeds(3))
def test_per_group_thresholds_shrink_the_parity_gap(seed: int) -> None:
    r = fairness_experiment(seed)
    assert r["dp_gap"] >= 0.1  # the proxy lets the model reproduce the historical bias
    assert r["mitigated_dp_gap"] <= r["dp_gap"] / 2
    assert 0 < r["accuracy"] - r["mitigated_accuracy"] <= 0.08  # the price, measured on biased labels
    assert r["mitigated_eo_gap"] > r["eo_gap"]  # and the other gap widens


@pytest.mark.parametrize("seed", seeds(3))
def test_dropping_the_proxy(seed: int) -> None:
    results = proxy_ablation(seed)
    with_proxy, without = results["with proxy"], results["without proxy"]
    assert without["dp_gap"] <= with_proxy["dp_gap"] / 2
    assert without["accuracy"] < with_proxy["accuracy"]
    assert without["eo_gap"] > with_proxy["eo_gap"]
