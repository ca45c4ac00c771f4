"""Claims of docs/frontiers/meta-learning.md."""

from __future__ import annotations

import math

import pytest
import torch

from snippets.common import seed_everything
from snippets.frontiers.meta_learning import (
    INNER_LR,
    K_SHOT,
    adapt,
    adaptation_curve,
    make_model,
    meta_gradient,
    meta_train,
    pretrain,
    sample_points,
    sample_tasks,
    task_loss,
)
from tests.helpers import seeds

ITERATIONS = 300  # reduced meta-training budget (the page quotes a longer run)


def one_batch(seed: int, tasks: int = 5):
    generator = torch.Generator().manual_seed(seed)
    amplitude, phase = sample_tasks(tasks, generator)
    return sample_points(amplitude, phase, K_SHOT, generator), sample_points(
        amplitude, phase, K_SHOT, generator
    )


@pytest.mark.parametrize("seed", seeds(3))
def test_tasks_follow_the_paper(seed: int) -> None:
    amplitude, phase = sample_tasks(1000, torch.Generator().manual_seed(seed))
    assert 0.1 <= amplitude.min() and amplitude.max() <= 5.0
    assert 0.0 <= phase.min() and phase.max() <= math.pi
    x, y = sample_points(amplitude, phase, K_SHOT, torch.Generator().manual_seed(seed))
    assert x.shape == (1000, K_SHOT, 1) and -5 <= x.min() and x.max() <= 5
    torch.testing.assert_close(y, amplitude[:, None, None] * torch.sin(x - phase[:, None, None]))


@pytest.mark.parametrize("seed", seeds(3))
def test_torch_func_inner_step_matches_autograd(seed: int) -> None:
    seed_everything(seed)
    model = make_model()
    (xs, ys), _ = one_batch(seed, tasks=1)
    loss = torch.nn.functional.mse_loss(model(xs[0]), ys[0])
    manual = torch.autograd.grad(loss, list(model.parameters()))
    params = {name: p.detach() for name, p in model.named_parameters()}
    adapted = adapt(params, model, xs[0], ys[0], steps=1)
    for (name, p), g in zip(params.items(), manual, strict=True):
        torch.testing.assert_close(adapted[name], p - INNER_LR * g)


@pytest.mark.parametrize("seed", seeds(3))
def test_first_order_drops_only_the_second_order_term(seed: int) -> None:
    seed_everything(seed)
    model = make_model()
    params = {name: p.detach() for name, p in model.named_parameters()}
    support, query = one_batch(seed)
    first = meta_gradient(params, model, support, query, first_order=True)
    second = meta_gradient(params, model, support, query, first_order=False)
    # First-order MAML: the average of each task's query gradient at its adapted weights.
    expected = {name: torch.zeros_like(p) for name, p in params.items()}
    for i in range(len(support[0])):
        adapted = {
            n: p.detach().requires_grad_()
            for n, p in adapt(params, model, support[0][i], support[1][i]).items()
        }
        grads = torch.autograd.grad(
            task_loss(adapted, model, query[0][i], query[1][i]), list(adapted.values())
        )
        for name, g in zip(adapted, grads, strict=True):
            expected[name] += g / len(support[0])
    for name in params:
        torch.testing.assert_close(first[name], expected[name])
    difference = sum((first[n] - second[n]).norm() ** 2 for n in params) ** 0.5
    assert difference > 1e-6  # the Hessian term is really there in full MAML
    flat_first = torch.cat([first[n].flatten() for n in params])
    flat_second = torch.cat([second[n].flatten() for n in params])
    assert torch.nn.functional.cosine_similarity(flat_first, flat_second, dim=0) > 0.9  # but small


@pytest.mark.parametrize("seed", seeds(3))
def test_maml_adapts_better_than_pretraining(seed: int) -> None:
    maml_model, maml_params = meta_train(ITERATIONS, seed)
    base_model, base_params = pretrain(ITERATIONS, seed)
    maml = adaptation_curve(maml_model, maml_params, tasks=100, max_steps=10, seed=10_000 + seed)
    base = adaptation_curve(base_model, base_params, tasks=100, max_steps=10, seed=10_000 + seed)
    assert maml[1] < 0.95 * base[1], (maml[1], base[1])
    assert maml[10] < 0.9 * base[10], (maml[10], base[10])
