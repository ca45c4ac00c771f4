"""Claims of docs/architectures/cnn.md (convolution, pooling, blocks, the digits CNN)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from snippets.architectures.cnn import (
    VGG_LIKE,
    DenseBlock,
    ResidualBlock,
    avg_pool2d,
    conv2d,
    conv2d_im2col,
    conv_params,
    dense_params,
    max_pool2d,
    output_size,
    receptive_field,
    stacked_vs_single,
    torch_conv_pool,
    train_digits_cnn,
)
from snippets.common import seed_everything
from tests.helpers import seeds


pytestmark = pytest.mark.usefixtures("single_thread_module")


GEOMETRIES = [(1, 0), (1, 1), (2, 0), (2, 1), (3, 2)]  # (stride, padding)


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize(("stride", "padding"), GEOMETRIES)
def test_conv2d_matches_torch(seed: int, stride: int, padding: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, 3, 9, 7))
    weight, bias = rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
    ours = conv2d(x, weight, bias, stride=stride, padding=padding)
    theirs = F.conv2d(*(torch.from_numpy(a) for a in (x, weight, bias)), stride=stride, padding=padding)
    assert ours.shape == tuple(theirs.shape)
    assert ours.shape[2:] == (output_size(9, 3, stride, padding), output_size(7, 2, stride, padding))
    np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-10)
    np.testing.assert_allclose(
        conv2d_im2col(x, weight, stride, padding) + bias[:, None, None], ours, atol=1e-10
    )


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize(("size", "stride"), [(2, None), (3, None), (3, 1), (2, 1)])
def test_pooling_matches_torch(seed: int, size: int, stride: int | None) -> None:
    x = np.random.default_rng(seed).normal(size=(2, 3, 8, 7))
    x_t = torch.from_numpy(x)
    np.testing.assert_allclose(max_pool2d(x, size, stride), F.max_pool2d(x_t, size, stride).numpy())
    np.testing.assert_allclose(
        avg_pool2d(x, size, stride), F.avg_pool2d(x_t, size, stride).numpy(), atol=1e-12
    )


def test_torch_helper_agrees_with_scratch() -> None:
    rng = np.random.default_rng(0)
    x, weight, bias = rng.normal(size=(2, 3, 8, 8)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    library = torch_conv_pool(x, weight, bias, stride=2, padding=1, size=2)
    np.testing.assert_allclose(library["conv"], conv2d(x, weight, bias, stride=2, padding=1), atol=1e-10)
    np.testing.assert_allclose(library["max"], max_pool2d(x, 2))
    np.testing.assert_allclose(library["avg"], avg_pool2d(x, 2), atol=1e-12)


@pytest.mark.parametrize(("c_in", "c_out", "kernel"), [(1, 8, 3), (3, 64, 3), (64, 128, 5)])
def test_conv_parameter_count_matches_torch(c_in: int, c_out: int, kernel: int) -> None:
    layer = nn.Conv2d(c_in, c_out, kernel, device="meta")
    assert conv_params(c_in, c_out, kernel) == sum(p.numel() for p in layer.parameters())


def test_dense_layer_on_the_same_input_needs_about_100000_times_more() -> None:
    conv = nn.Conv2d(3, 64, 3, padding=1, device="meta")  # meta: shapes only, no memory
    dense = nn.Linear(3 * 32 * 32, 64 * 32 * 32, device="meta")
    n_conv, n_dense = (sum(p.numel() for p in m.parameters()) for m in (conv, dense))
    assert (n_conv, n_dense) == (conv_params(3, 64, 3), dense_params(3072, 65536)) == (1_792, 201_392_128)
    assert n_dense / n_conv > 100_000
    # the conv layer maps 3x32x32 to 64x32x32, the same output size as the dense layer
    assert conv(torch.empty(1, 3, 32, 32, device="meta")).shape == (1, 64, 32, 32)


def measured_receptive_field(layers: list[tuple[int, int]], size: int = 64) -> int:
    """Backpropagate from one output unit to the input and measure the non-zero window."""
    modules: list[nn.Module] = []
    for kernel, stride in layers:
        if stride == 1:
            conv = nn.Conv2d(1, 1, kernel, bias=False)
            nn.init.ones_(conv.weight)  # positive weights: no cancellation
            modules.append(conv)
        else:
            modules.append(nn.AvgPool2d(kernel, stride))
    x = torch.zeros(1, 1, size, size, requires_grad=True)
    out = nn.Sequential(*modules)(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(dim=1)).flatten()
    return int(rows.max() - rows.min() + 1)


@pytest.mark.parametrize(
    "layers",
    [[(3, 1)], [(3, 1)] * 3, [(5, 1), (2, 2), (3, 1)], VGG_LIKE, [(7, 1), (3, 3), (3, 1), (2, 2), (3, 1)]],
)
def test_receptive_field_formula_matches_gradients(layers: list[tuple[int, int]]) -> None:
    assert receptive_field(layers) == measured_receptive_field(layers)


def test_three_3x3_convs_see_as_far_as_one_7x7_with_fewer_weights() -> None:
    numbers = stacked_vs_single(64)
    assert numbers["field_3x3_x3"] == numbers["field_7x7"] == 7
    assert numbers["params_3x3_x3"] == 3 * (64 * 64 * 9 + 64)
    assert numbers["params_3x3_x3"] < 0.6 * numbers["params_7x7"]


@pytest.mark.parametrize("seed", seeds(3))
def test_zero_initialised_residual_block_is_the_identity_and_still_learns(seed: int) -> None:
    seed_everything(seed)
    x = torch.randn(4, 8, 6, 6)  # negative values too
    block = ResidualBlock(8)
    for mode in (True, False):
        block.train(mode)
        torch.testing.assert_close(block(x), x, rtol=0, atol=0)
    block.train()
    block(x).square().sum().backward()
    assert block.branch[-1].weight.grad.abs().max() > 0  # the zero weights receive a gradient
    assert not torch.allclose(ResidualBlock(8, zero_init=False)(x), x)


@pytest.mark.parametrize("seed", seeds(3))
def test_gradient_passes_unchanged_through_a_deep_identity_residual_stack(seed: int) -> None:
    seed_everything(seed)
    stack = nn.Sequential(*[ResidualBlock(4) for _ in range(30)])
    x = torch.randn(2, 4, 5, 5, requires_grad=True)
    upstream = torch.randn(2, 4, 5, 5)
    stack(x).backward(upstream)
    torch.testing.assert_close(x.grad, upstream, rtol=0, atol=0)


@pytest.mark.parametrize("seed", seeds(3))
def test_dense_block_concatenates_all_earlier_feature_maps(seed: int) -> None:
    seed_everything(seed)
    block = DenseBlock(in_channels=6, growth_rate=4, n_layers=3)
    x = torch.randn(2, 6, 5, 5)
    y = block(x)
    assert y.shape == (2, 6 + 3 * 4, 5, 5)
    torch.testing.assert_close(y[:, :6], x, rtol=0, atol=0)  # the input is kept, not transformed
    assert [layer[-1].in_channels for layer in block.layers] == [6, 10, 14]


@pytest.mark.parametrize("seed", seeds(3))
def test_digits_cnn_reaches_97_percent(seed: int) -> None:
    _, accuracy = train_digits_cnn(seed)
    assert accuracy >= 0.97
