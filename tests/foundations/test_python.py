"""Claims of docs/foundations/python.md."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.preprocessing import StandardScaler

from snippets.foundations.python import (
    GAPPY_COLUMNS,
    clean,
    compare_speed,
    fill_with_column_median,
    fill_with_simple_imputer,
    imputation_errors,
    linear_layer_loops,
    linear_layer_numpy,
    make_messy,
    pairwise_sq_distances,
    pairwise_sq_distances_lean,
    softmax,
    standardize,
    wine_table,
)
from tests.helpers import seeds


@cache
def wine() -> pd.DataFrame:
    """The wine table, built in the tests (not at import): mutation testing sees the code that builds it."""
    return wine_table()


@pytest.mark.parametrize("seed", seeds(3))
def test_loops_and_numpy_compute_the_same_layer(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, w, b = rng.normal(size=(7, 5)), rng.normal(size=(5, 3)), rng.normal(size=3)
    loops = np.array(linear_layer_loops(x.tolist(), w.tolist(), b.tolist()))
    np.testing.assert_allclose(loops, linear_layer_numpy(x, w, b), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        linear_layer_numpy(x, w, b),
        torch.nn.functional.linear(torch.from_numpy(x), torch.from_numpy(w.T), torch.from_numpy(b)).numpy(),
    )


def test_numpy_is_faster_than_loops() -> None:
    """A loose bound (the measured ratio is in the hundreds or thousands): at least 2x."""
    speed = compare_speed(64, 64, 32, np.random.default_rng(0))
    assert speed["max_diff"] < 1e-9
    assert speed["ratio"] >= 2


@pytest.mark.parametrize("seed", seeds(3))
def test_broadcasting_matches_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    data = rng.normal(loc=[0.0, 50.0, -3.0], scale=[1.0, 10.0, 0.1], size=(50, 3))
    np.testing.assert_allclose(standardize(data), StandardScaler().fit_transform(data), atol=1e-12)
    a, b = rng.normal(size=(6, 4)), rng.normal(size=(9, 4))
    expected = euclidean_distances(a, b, squared=True)
    np.testing.assert_allclose(pairwise_sq_distances(a, b), expected, atol=1e-10)
    np.testing.assert_allclose(pairwise_sq_distances_lean(a, b), expected, atol=1e-10)


@pytest.mark.parametrize("seed", seeds(3))
def test_cleaning_restores_the_table(seed: int) -> None:
    messy = make_messy(wine(), np.random.default_rng(seed))
    assert len(messy) == len(wine()) + 10 and messy[GAPPY_COLUMNS].isna().any().all()
    assert messy["cultivar"].nunique() > 3
    cleaned = clean(messy)
    assert cleaned.shape == wine().shape
    assert int(cleaned.isna().sum().sum()) == 0
    assert sorted(cleaned["cultivar"].unique()) == ["class_0", "class_1", "class_2"]
    pd.testing.assert_series_equal(cleaned["cultivar"], wine()["cultivar"])
    # Every cell that was not blanked is unchanged.
    kept = messy[~messy.index.duplicated()].sort_index().notna()
    numeric = wine().columns.drop("cultivar")
    assert (cleaned[numeric][kept[numeric]] == wine()[numeric][kept[numeric]]).sum().sum() == kept[
        numeric
    ].sum().sum()


@pytest.mark.parametrize("seed", seeds(3))
def test_pandas_median_fill_matches_simple_imputer(seed: int) -> None:
    messy = make_messy(wine(), np.random.default_rng(seed))
    pd.testing.assert_frame_equal(fill_with_column_median(messy), fill_with_simple_imputer(messy))


@pytest.mark.parametrize("seed", seeds(3))
def test_cultivar_medians_fill_gaps_better_than_column_medians(seed: int) -> None:
    messy = make_messy(wine(), np.random.default_rng(seed))
    by_cultivar = imputation_errors(wine(), messy, clean(messy)).mean()
    by_column = imputation_errors(wine(), messy, fill_with_column_median(messy)).mean()
    assert by_cultivar <= 0.85 * by_column


@pytest.mark.parametrize("seed", seeds(3))
def test_softmax_matches_torch_and_survives_large_logits(seed: int) -> None:
    logits = np.random.default_rng(seed).normal(scale=5.0, size=(4, 6))
    np.testing.assert_allclose(softmax(logits), torch.softmax(torch.from_numpy(logits), dim=-1).numpy())
    huge = softmax(logits + 1000.0)  # a naive exp(1000) would overflow to inf
    assert np.isfinite(huge).all()
    np.testing.assert_allclose(huge.sum(axis=-1), 1.0)


def test_from_numpy_shares_memory() -> None:
    array = np.zeros(3)
    tensor = torch.from_numpy(array)
    array[0] = 1.0
    assert tensor[0].item() == 1.0
    tensor[1] = 2.0
    assert array[1] == 2.0
