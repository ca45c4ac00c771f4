"""Claims of docs/frontiers/multimodal.md."""

from __future__ import annotations

from functools import cache

import pytest
import torch

from snippets.common import seed_everything
from snippets.frontiers.multimodal import (
    TinyCLIP,
    clip_loss,
    clip_loss_torch,
    make_pairs,
    mean_recall,
    order_blind,
    train_clip,
    zero_shot_accuracy,
)
from tests.helpers import seeds


@cache
def trained(seed: int) -> tuple[TinyCLIP, list[float], dict[str, torch.Tensor]]:
    """Train once per seed and share the model between the claim tests."""
    data = make_pairs(seed)
    seed_everything(seed)
    model, history = train_clip(data)
    return model, history, data


@pytest.mark.parametrize("seed", seeds(3))
def test_infonce_matches_cross_entropy(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    logits = (10 * torch.randn(64, 64, generator=generator, dtype=torch.float64)).requires_grad_()
    ours = clip_loss(logits)
    theirs = clip_loss_torch(logits)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    (grad_ours,) = torch.autograd.grad(ours, logits)
    (grad_theirs,) = torch.autograd.grad(theirs, logits)
    torch.testing.assert_close(grad_ours, grad_theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", seeds(3))
def test_loss_decreases(seed: int) -> None:
    _, history, _ = trained(seed)
    assert history[-1] < 0.5 * history[0]


@pytest.mark.parametrize("seed", seeds(3))
def test_retrieval_far_above_chance(seed: int) -> None:
    model, _, data = trained(seed)
    for k, floor in [(1, 0.15), (5, 0.6)]:  # chance: 0.01 and 0.05 in batches of 100
        image_to_text, text_to_image = mean_recall(model, data, batch_size=100, k=k)
        assert image_to_text >= floor
        assert text_to_image >= floor


@pytest.mark.parametrize("seed", seeds(3))
def test_zero_shot_classification(seed: int) -> None:
    model, _, data = trained(seed)
    assert zero_shot_accuracy(model, data["test_images"], data["test_labels"]) >= 0.7
    seed_everything(seed)
    untrained = TinyCLIP()
    assert zero_shot_accuracy(untrained, data["test_images"], data["test_labels"]) <= 0.35


def test_text_encoder_ignores_word_order() -> None:
    seed_everything(0)
    assert order_blind(TinyCLIP())
