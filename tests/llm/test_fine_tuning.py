"""Claims of docs/llm/fine-tuning.md."""

from __future__ import annotations

import numpy as np
import pytest

from snippets.llm.fine_tuning import library_mean, mean
from tests.helpers import seeds


@pytest.mark.parametrize("seed", seeds())
def test_scratch_mean_matches_numpy(seed: int) -> None:
    values = np.random.default_rng(seed).normal(size=50)
    assert mean(values) == pytest.approx(library_mean(values), abs=1e-12)
    assert mean(values + 1.0) == pytest.approx(mean(values) + 1.0)  # it moves with the data
