"""Claims of docs/deployment/compression.md."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from snippets.deployment.compression import (
    accuracy,
    affine_qparams,
    dequantize,
    digits_split,
    distillation_loss,
    dynamic_quantize,
    fine_tune,
    legacy_quantization_api,
    linear_layers,
    logit_matching_gap,
    magnitude_mask,
    make_permanent,
    neuron_mask,
    prune_neurons,
    prune_weights,
    quantize,
    serialized_bytes,
    shrink,
    sparsity,
    static_quantize,
    train_student,
    train_teacher,
    weight_roundtrip_error,
)
from tests.helpers import seeds


def teacher_and_test_set(seed: int) -> tuple[nn.Module, float, torch.Tensor, torch.Tensor]:
    """The cached fp32 teacher, its test accuracy and the test set."""
    teacher = train_teacher(seed)
    _, _, x_test, y_test = digits_split(seed)
    return teacher, accuracy(teacher, x_test, y_test), x_test, y_test


@pytest.mark.parametrize("seed", seeds(3))
def test_affine_quantization_matches_pytorch(seed: int) -> None:
    from torch.ao.quantization import MinMaxObserver

    generator = torch.Generator().manual_seed(seed)
    x = 3 * torch.randn(2000, generator=generator) + 2
    scale, zero_point = affine_qparams(x)
    with legacy_quantization_api():
        observer = MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine)
        observer(x)
        torch_scale, torch_zero_point = observer.calculate_qparams()
    assert scale == pytest.approx(torch_scale.item(), rel=1e-6)
    assert zero_point == int(torch_zero_point)
    roundtrip = dequantize(quantize(x, scale, zero_point), scale, zero_point)
    expected = torch.fake_quantize_per_tensor_affine(x, scale, zero_point, 0, 255)
    torch.testing.assert_close(roundtrip, expected, rtol=0, atol=1e-6)
    assert (x - roundtrip).abs().max().item() <= scale / 2 + 1e-6


@pytest.mark.parametrize("seed", seeds(3))
def test_dynamic_quantization_is_smaller_and_as_accurate(seed: int) -> None:
    teacher, base, x_test, y_test = teacher_and_test_set(seed)
    quantized = dynamic_quantize(teacher)
    names = {m._get_name() for m in quantized.modules()}
    assert "DynamicQuantizedLinear" in names and "Linear" not in names
    assert serialized_bytes(teacher) / serialized_bytes(quantized) >= 3.0
    assert accuracy(quantized, x_test, y_test) >= base - 0.01


@pytest.mark.parametrize("seed", seeds(3))
def test_static_quantization_is_smaller_and_as_accurate(seed: int) -> None:
    teacher, base, x_test, y_test = teacher_and_test_set(seed)
    x_train = digits_split(seed)[0]
    quantized = static_quantize(teacher, x_train[:256])
    names = {m._get_name() for m in quantized.modules()}
    assert "QuantizedLinearReLU" in names and "Linear" not in names
    assert serialized_bytes(teacher) / serialized_bytes(quantized) >= 3.0
    assert accuracy(quantized, x_test, y_test) >= base - 0.01


@pytest.mark.parametrize("seed", seeds(3))
def test_masks_match_torch_prune(seed: int) -> None:
    weight = torch.randn(128, 64, generator=torch.Generator().manual_seed(seed))
    for amount in (0.3, 0.8):
        layer = nn.Linear(64, 128)
        layer.weight.data = weight.clone()
        prune.l1_unstructured(layer, "weight", amount=amount)
        assert torch.equal(magnitude_mask(weight, amount), layer.weight_mask)
        layer = nn.Linear(64, 128)
        layer.weight.data = weight.clone()
        prune.ln_structured(layer, "weight", amount=amount, n=2, dim=0)
        assert torch.equal(neuron_mask(weight, amount), layer.weight_mask)


@pytest.mark.parametrize("seed", seeds(3))
def test_unstructured_pruning_hits_the_sparsity_and_keeps_accuracy(seed: int) -> None:
    teacher, base, x_test, y_test = teacher_and_test_set(seed)
    pruned = prune_weights(teacher, 0.8)
    # saved before prune.remove, the file holds weight_orig and weight_mask: about twice the size
    assert serialized_bytes(pruned) > 1.9 * serialized_bytes(teacher)
    tuned = make_permanent(fine_tune(pruned, seed))
    for layer in linear_layers(tuned):
        assert sparsity(layer.weight) == pytest.approx(
            round(0.8 * layer.weight.numel()) / layer.weight.numel()
        )
    assert serialized_bytes(tuned) == pytest.approx(serialized_bytes(teacher), rel=0.01)  # dense: no smaller
    assert accuracy(tuned, x_test, y_test) >= base - 0.025


@pytest.mark.parametrize("seed", seeds(3))
def test_structured_pruning_shrinks_the_model(seed: int) -> None:
    teacher, base, x_test, y_test = teacher_and_test_set(seed)
    tuned = make_permanent(fine_tune(prune_neurons(teacher, 0.5), seed))
    for layer in linear_layers(tuned)[:-1]:
        dead_rows = (layer.weight.abs().sum(dim=1) == 0) & (layer.bias == 0)
        assert dead_rows.float().mean().item() == 0.5
    small = shrink(tuned)
    assert [m.out_features for m in linear_layers(small)] == [128, 128, 10]
    with torch.no_grad():
        torch.testing.assert_close(small(x_test), tuned(x_test), rtol=1e-5, atol=1e-5)
    assert serialized_bytes(teacher) / serialized_bytes(small) >= 3.0
    assert accuracy(small, x_test, y_test) >= base - 0.025


@pytest.mark.parametrize("seed", seeds(3))
def test_distillation_beats_hard_labels_with_100_labels(seed: int) -> None:
    teacher, _, x_test, y_test = teacher_and_test_set(seed)
    plain = accuracy(train_student(seed, 100), x_test, y_test)
    distilled = accuracy(train_student(seed, 100, teacher=teacher), x_test, y_test)
    assert distilled >= plain + 0.015


@pytest.mark.parametrize("seed", seeds(3))
def test_distillation_loss_and_its_gradient(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    student = (3 * torch.randn(16, 10, generator=generator)).requires_grad_()
    teacher = 5 * torch.randn(16, 10, generator=generator)
    labels = torch.randint(0, 10, (16,), generator=generator)
    t, alpha = 4.0, 0.7
    loss = distillation_loss(student, teacher, labels, t, alpha)
    loss.backward()
    p = torch.softmax(teacher / t, dim=1).double()
    q = torch.softmax(student.detach() / t, dim=1).double()
    kl = (p * (p.log() - q.log())).sum(dim=1).mean()
    ce = F.cross_entropy(student.detach().double(), labels)
    assert loss.item() == pytest.approx((alpha * t**2 * kl + (1 - alpha) * ce).item(), rel=1e-5)
    # d/dz of T^2 KL is T (q - p): the T^2 factor keeps the soft gradients at the hard-label scale
    onehot = F.one_hot(labels, 10).double()
    hard_grad = torch.softmax(student.detach().double(), dim=1) - onehot
    expected = (alpha * t * (q - p) + (1 - alpha) * hard_grad) / 16
    torch.testing.assert_close(student.grad.double(), expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("seed", seeds(3))
def test_per_channel_scales_lose_less(seed: int) -> None:
    teacher = train_teacher(seed)
    for layer in linear_layers(teacher):
        per_tensor = weight_roundtrip_error(layer.weight.detach(), per_channel=False)
        per_channel = weight_roundtrip_error(layer.weight.detach(), per_channel=True)
        assert per_channel < per_tensor


@pytest.mark.parametrize("seed", seeds(3))
def test_high_temperature_is_logit_matching(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    # logits spread like a confident network's (standard deviation 3); with a spread near 1 the
    # two losses can agree by chance even at T = 1
    student, teacher = (
        3 * torch.randn(32, 10, generator=generator),
        3 * torch.randn(32, 10, generator=generator),
    )
    assert logit_matching_gap(student, teacher, temperature=100.0) < 0.01
    assert logit_matching_gap(student, teacher, temperature=1.0) > 0.05


def test_quantized_ints_fit_in_a_byte() -> None:
    x = torch.linspace(-1.5, 4.0, 101)
    scale, zero_point = affine_qparams(x)
    q = quantize(x, scale, zero_point)
    assert q.min().item() == 0 and q.max().item() == 255
    assert dequantize(torch.tensor([zero_point]), scale, zero_point).item() == 0.0  # 0 is exact
    assert np.isclose(scale, 5.5 / 255)
