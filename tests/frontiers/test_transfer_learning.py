"""Claims of docs/frontiers/transfer-learning.md."""

from __future__ import annotations

import copy
from functools import cache

import numpy as np
import pytest
import torch

from snippets.common import one_thread
from snippets.frontiers.transfer_learning import (
    SOURCE_CLASSES,
    TARGET_CLASSES,
    accuracy,
    adapt,
    changed_parameters,
    compare,
    few_labels,
    load_task,
    pretrain,
)
from tests.helpers import seeds


@cache
def pretrained(seed: int) -> torch.nn.Sequential:
    with one_thread():
        return pretrain(seed)


@cache
def results(seed: int) -> dict[str, list[float]]:
    """Mean accuracy over 5 paired draws of 1 labelled image per class."""
    return compare(seed, (1,), draws=5, pretrained=pretrained(seed))


@pytest.mark.parametrize("seed", seeds(3))
def test_pretraining_learns_the_source_task(seed: int) -> None:
    x, y = load_task(SOURCE_CLASSES)
    assert accuracy(pretrained(seed), x, y) >= 0.95


@pytest.mark.parametrize("seed", seeds(3))
def test_both_transfer_variants_beat_scratch_with_one_label_per_class(seed: int) -> None:
    r = results(seed)
    assert r["features"][0] >= r["scratch"][0] + 0.01
    assert r["finetune"][0] >= r["scratch"][0] + 0.01


@pytest.mark.parametrize("seed", seeds(3))
def test_feature_extraction_and_fine_tuning_stay_close(seed: int) -> None:
    r = results(seed)
    assert abs(r["features"][0] - r["finetune"][0]) <= 0.05


@pytest.mark.parametrize("seed", seeds(3))
def test_frozen_backbone_does_not_change(seed: int) -> None:
    source = pretrained(seed)
    before = copy.deepcopy(source)
    x, y = load_task(TARGET_CLASSES)
    labelled, _ = few_labels(y, 3, np.random.default_rng(seed))
    with one_thread():
        frozen = adapt(source, "features", x[labelled], y[labelled])
        tuned = adapt(source, "finetune", x[labelled], y[labelled])
    backbone = {name for name, _ in frozen.named_parameters() if name.startswith("0.")}
    assert backbone and not set(changed_parameters(before, frozen)) & backbone  # frozen: unchanged
    assert {"1.weight", "1.bias"} <= set(changed_parameters(before, frozen))  # the new head learnt
    assert backbone <= set(changed_parameters(before, tuned))  # fine-tuning moves every layer
    assert not changed_parameters(before, source)  # the pre-trained model itself is untouched


def test_compare_pretrains_its_own_model_from_the_seed_when_given_none() -> None:
    """What the command and the figure do: without a model, compare pre-trains one from the seed,
    the same model the tests pass in, so the results are the same."""
    seed = seeds(1)[0]
    with_model = compare(seed, (1,), draws=1, pretrained=pretrained(seed))
    assert compare(seed, (1,), draws=1) == with_model
