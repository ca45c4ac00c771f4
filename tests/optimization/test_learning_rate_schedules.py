"""Claims of docs/optimization/learning-rate-schedules.md."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler

from snippets.optimization.learning_rate_schedules import (
    BASE_LR,
    best_possible_loss,
    cosine_with_restarts,
    plateau,
    scratch_lrs,
    torch_lrs,
    train,
    warmup_cosine_factor,
)
from tests.helpers import seeds


@pytest.mark.parametrize(
    "name", ["constant", "step", "exponential", "polynomial", "cosine", "warm-up + cosine", "one-cycle"]
)
@pytest.mark.parametrize("epochs", [30, 50])
def test_closed_forms_match_torch_schedulers(name: str, epochs: int) -> None:
    np.testing.assert_allclose(scratch_lrs(name, epochs), torch_lrs(name, epochs), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", seeds(3))
def test_plateau_rule_matches_reduce_lr_on_plateau(seed: int) -> None:
    rng = np.random.default_rng(seed)
    losses = list(np.maximum(1.0 / (1 + np.arange(80)), 0.05) + rng.normal(scale=0.01, size=80))
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=BASE_LR)
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.3, patience=3)
    theirs = []
    for value in losses:
        optimizer.step()
        scheduler.step(value)
        theirs.append(optimizer.param_groups[0]["lr"])
    ours = plateau(losses, BASE_LR, factor=0.3, patience=3)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert ours[-1] < BASE_LR  # it did reduce


def test_one_cycle_switches_on_momentum_unless_told_not_to() -> None:
    for cycle, expected in [(True, 0.95), (False, 0.0)]:
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=BASE_LR)
        lr_scheduler.OneCycleLR(optimizer, max_lr=BASE_LR, total_steps=30, cycle_momentum=cycle)
        assert optimizer.param_groups[0]["momentum"] == expected


@cache
def excess(name: str, seed: int, lr: float = BASE_LR) -> float:
    losses, _ = train(name, seed, lr=lr)
    return losses[-1] - best_possible_loss(seed)


@pytest.mark.parametrize("seed", seeds(3))
def test_decay_beats_the_same_constant_rate_on_a_fixed_budget(seed: int) -> None:
    constant = excess("constant", seed)
    assert excess("cosine", seed) < constant / 20
    assert excess("step", seed) < constant / 20


@pytest.mark.parametrize("seed", seeds(3))
def test_step_decay_beats_every_constant_rate_in_a_grid(seed: int) -> None:
    best_constant = min(excess("constant", seed, lr) for lr in (BASE_LR, 0.03, 0.01, 0.003))
    assert excess("step", seed) < best_constant / 2


def test_restarts_match_cosine_annealing_warm_restarts() -> None:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=BASE_LR)
    scheduler = lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=5, T_mult=2)
    theirs = []
    for _ in range(40):
        theirs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    ours = [cosine_with_restarts(t, BASE_LR, 5) for t in range(40)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["step", "cosine", "one-cycle"])
def test_setting_the_rate_by_hand_trains_exactly_like_the_scheduler(name: str) -> None:
    by_hand = train(name, 0, epochs=10, manual=True)
    scheduled = train(name, 0, epochs=10)
    np.testing.assert_allclose(by_hand[1], scheduled[1], rtol=1e-12)
    np.testing.assert_allclose(by_hand[0], scheduled[0], rtol=1e-6)


def test_cosine_rises_again_after_t_max() -> None:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=BASE_LR)
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    seen = []
    for _ in range(20):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen[10] < 1e-12 and seen[19] > 0.09  # back up near the start value


def test_one_cycle_refuses_to_step_past_its_total() -> None:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=BASE_LR)
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=BASE_LR, total_steps=5, cycle_momentum=False)
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    with pytest.raises(ValueError, match="Tried to step"):
        optimizer.step()
        scheduler.step()


def test_lambda_lr_reproduces_warmup_then_cosine() -> None:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=BASE_LR)
    scheduler = lr_scheduler.LambdaLR(optimizer, warmup_cosine_factor(30 // 8, 30, 0.1))
    lrs = []
    for _ in range(30):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(lrs, torch_lrs("warm-up + cosine", 30), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", seeds(3))
def test_one_cycle_default_momentum_hurts_plain_sgd_here(seed: int) -> None:
    assert excess("one-cycle, default momentum", seed) > 10 * excess("one-cycle", seed)


def test_scheduler_before_optimizer_warns() -> None:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=BASE_LR)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2)
    with pytest.warns(UserWarning, match="first value of the learning rate schedule"):
        scheduler.step()
