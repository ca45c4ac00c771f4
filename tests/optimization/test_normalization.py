"""Claims of docs/optimization/normalization.md."""

from __future__ import annotations

from functools import cache

import pytest
import torch
from torch import nn

from snippets.common import one_thread
from snippets.optimization.normalization import (
    VARIANTS,
    BatchNorm,
    LayerNorm,
    RMSNorm,
    batch_dependence,
    compare_with_torch,
    deep_mlp,
    digits,
    fold_batchnorm,
    gradient_by_depth,
    invariance_gaps,
    spread_by_depth,
    train,
)
from tests.helpers import seeds

VARIANT_NORMS = {
    **VARIANTS,
    "norm, no residual": (False, nn.LayerNorm),
    "pre-RMSNorm residual": (True, nn.RMSNorm),
}


@cache
def accuracy(name: str, seed: int) -> float:
    """Test accuracy of a 50-block MLP after the page's 60 SGD steps (shared between tests)."""
    residual, norm = VARIANT_NORMS[name]
    with one_thread():
        return train(deep_mlp(residual=residual, norm=norm, seed=seed), digits(seed), seed=seed)


@cache
def at_initialization(name: str, seed: int) -> tuple[list[float], list[float]]:
    """Spread of the hidden vectors and gradient norm per block, before any training."""
    residual, norm = VARIANT_NORMS[name]
    x, y, _, _ = digits(seed)
    with one_thread():
        spreads = spread_by_depth(deep_mlp(residual=residual, norm=norm, seed=seed), x[:256])
        grads = gradient_by_depth(deep_mlp(residual=residual, norm=norm, seed=seed), x[:256], y[:256])
    return spreads, grads


@pytest.mark.parametrize("seed", seeds())
def test_scratch_layers_match_torch_nn(seed: int) -> None:
    gaps = compare_with_torch(seed)
    assert set(gaps) == {
        "BatchNorm1d, training mode",
        "  running mean",
        "  running variance",
        "BatchNorm1d, evaluation mode",
        "LayerNorm",
        "RMSNorm",
    }
    assert max(gaps.values()) < 1e-6, gaps  # measured: below 1e-13 for seeds 0-5 on every CPU level


@pytest.mark.parametrize("seed", seeds())
def test_scratch_layers_match_torch_nn_in_float32_with_default_arguments(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    x = 2 + 3 * torch.randn(32, 8, generator=generator)
    # nn.RMSNorm's default eps (None) is float32's machine epsilon, not 1e-6.
    pairs = [
        (LayerNorm(8), nn.LayerNorm(8)),
        (RMSNorm(8, eps=torch.finfo(torch.float32).eps), nn.RMSNorm(8)),
        (BatchNorm(8), nn.BatchNorm1d(8)),
    ]
    for ours, theirs in pairs:
        torch.testing.assert_close(ours(x), theirs(x), atol=1e-5, rtol=1e-5)
    assert nn.RMSNorm(8).eps is None and RMSNorm(8).eps == 1e-6


@pytest.mark.parametrize("seed", seeds())
def test_batchnorm_uses_batch_statistics_in_training_and_running_ones_in_evaluation(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    x = 5 + 2 * torch.randn(64, 3, generator=generator, dtype=torch.float64)
    bn = BatchNorm(3).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([0.5, 1.0, 2.0]))
        bn.bias.copy_(torch.tensor([-1.0, 0.0, 1.0]))
    y = bn(x)
    torch.testing.assert_close(y.mean(dim=0), bn.bias.detach(), atol=1e-12, rtol=0)
    torch.testing.assert_close(y.std(dim=0, correction=0), bn.weight.detach(), atol=1e-5, rtol=1e-5)
    # running averages: 0.9 * old + 0.1 * batch, with the unbiased variance
    torch.testing.assert_close(bn.running_mean, 0.1 * x.mean(dim=0))
    torch.testing.assert_close(bn.running_var, 0.9 + 0.1 * x.var(dim=0, correction=1))
    bn.eval()
    expected = bn.weight * (x - bn.running_mean) / torch.sqrt(bn.running_var + 1e-5) + bn.bias
    torch.testing.assert_close(bn(x), expected)
    torch.testing.assert_close(bn(x[:1]), expected[:1])  # one example is fine in evaluation mode


@pytest.mark.parametrize("seed", seeds())
def test_batchnorm_output_depends_on_the_batch_only_in_training_mode(seed: int) -> None:
    changes = batch_dependence(seed)
    assert changes["training"] > 0.5  # measured 2.1 to 3.1 for seeds 0-5
    assert changes["evaluation"] == 0.0


@pytest.mark.parametrize("seed", seeds())
def test_batchnorm_with_tiny_batches(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    pair = torch.randn(2, 5, generator=generator)
    reasons = {
        BatchNorm: "^BatchNorm needs at least 2 examples per batch in training mode",
        nn.BatchNorm1d: "more than 1 value",
    }
    for layer in (BatchNorm(5, eps=1e-10), nn.BatchNorm1d(5, eps=1e-10)):
        out = layer(pair).detach()
        torch.testing.assert_close(out.abs(), torch.ones(2, 5), atol=1e-3, rtol=0)  # only -1 or +1 ...
        torch.testing.assert_close(out[0], -out[1])  # ... the larger value gets +1
        with pytest.raises(ValueError, match=reasons[type(layer)]):
            layer(pair[:1])  # both say why, in words a reader can act on
    # with the default eps: |y| = |d| / sqrt(d^2 + eps), d half the gap between the two values
    out = nn.BatchNorm1d(3)(torch.tensor([[0.3, -1.2, 5.0], [2.0, 0.7, 4.0]])).detach()
    torch.testing.assert_close(out, torch.tensor([[-1.0, -1.0, 1.0], [1.0, 1.0, -1.0]]), atol=1e-4, rtol=0)


@pytest.mark.parametrize("seed", seeds())
def test_signal_and_gradient_at_initialization(seed: int) -> None:
    plain_spread, plain_grad = at_initialization("plain MLP", seed)
    bare_spread, _ = at_initialization("residual, no norm", seed)
    pre_ln_spread, pre_ln_grad = at_initialization("pre-LN residual", seed)
    # plain: the inputs' differences shrink (measured 1.2e-4 to 2.5e-4 by block 10, seeds 0-5), and
    # the gradient reaching block 1 is tiny next to block 50's (measured 3e-20 to 1e-18)
    assert plain_spread[9] < 1e-2 * plain_spread[0]
    assert plain_grad[0] < 1e-12 * plain_grad[-1]
    # residual without norm: the stream grows (measured 20x to 58x by block 50); with pre-LN it
    # grows slowly (measured 2.6x to 3.4x) and the gradient stays of the same order (3.5x to 5.5x)
    assert bare_spread[-1] > 10 * bare_spread[0]
    assert 1 < pre_ln_spread[-1] / pre_ln_spread[0] < 10
    assert 0.1 < pre_ln_grad[0] / pre_ln_grad[-1] < 100


@pytest.mark.parametrize("seed", seeds())
def test_deep_plain_mlp_stays_at_chance_where_pre_ln_residual_learns(seed: int) -> None:
    assert accuracy("plain MLP", seed) < 0.2  # chance is 0.1; measured 0.096 to 0.102
    assert accuracy("pre-LN residual", seed) > 0.8  # measured 0.896 to 0.939


@pytest.mark.parametrize("seed", seeds())
def test_rmsnorm_in_the_block_learns_too(seed: int) -> None:
    assert accuracy("pre-RMSNorm residual", seed) > 0.8  # measured 0.911 to 0.944


@pytest.mark.parametrize("seed", seeds())
def test_each_ingredient_alone_falls_short(seed: int) -> None:
    assert accuracy("norm, no residual", seed) < 0.2  # measured 0.096 to 0.102
    # residual without norm is erratic (measured 0.10 to 0.61 over seeds 0-11) but always worse
    assert accuracy("residual, no norm", seed) < accuracy("pre-LN residual", seed)
    norm_spread, norm_grad = at_initialization("norm, no residual", seed)
    assert (
        norm_spread[-1] > 1e-5 * norm_spread[0]
    )  # the norm keeps the signal alive (measured 2e-3 to 6e-2) ...
    assert norm_grad[0] > 1e-6 * norm_grad[-1]  # ... and the gradient


@pytest.mark.parametrize("seed", seeds())
def test_folded_batchnorm_equals_linear_then_batchnorm_in_evaluation(seed: int) -> None:
    torch.manual_seed(seed)
    linear, bn = nn.Linear(6, 4), nn.BatchNorm1d(4)
    with torch.no_grad():
        bn.weight.normal_()
        bn.bias.normal_()
    model = nn.Sequential(linear, bn)
    for _ in range(5):  # a few training steps give non-trivial running statistics
        model(3 + 2 * torch.randn(32, 6))
    model.eval()
    x = torch.randn(10, 6)
    with torch.no_grad():
        torch.testing.assert_close(fold_batchnorm(linear, bn)(x), model(x), atol=1e-5, rtol=1e-5)
        assert (model(x) - linear(x)).abs().max() > 0.1  # the folding is not a no-op


@pytest.mark.parametrize("seed", seeds())
def test_layernorm_is_shift_and_scale_invariant_rmsnorm_only_scale(seed: int) -> None:
    x = torch.randn(16, 8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    gaps = invariance_gaps(x)
    assert gaps["LayerNorm, scaled"] < 1e-9
    assert gaps["LayerNorm, shifted"] < 1e-9
    assert gaps["RMSNorm, scaled"] < 1e-9
    assert gaps["RMSNorm, shifted"] > 0.1


def test_no_grad_does_not_stop_running_statistics_from_moving() -> None:
    bn = nn.BatchNorm1d(3)
    with torch.no_grad():
        bn(5 + torch.randn(8, 3))  # still training mode
    assert (bn.running_mean > 0.2).all()  # 0.1 of a batch mean near 5
    bn.eval()
    before = bn.running_mean.clone()
    with torch.no_grad():
        bn(5 + torch.randn(8, 3))
    assert torch.equal(bn.running_mean, before)
