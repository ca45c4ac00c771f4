"""Claims of docs/foundations/linear-algebra.md."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from snippets.foundations.linear_algebra import (
    DIGITS,
    align_signs,
    channels_last,
    colour_digit,
    components_for_variance,
    conv2d_as_matmul,
    conv2d_torch,
    conv_transpose_as_matmul,
    convolution_matrix,
    covariance_eigenvalues,
    dense_layer,
    matmul,
    pca_by_svd,
    pca_sklearn,
    random_digit_subset,
    reconstruction_error,
    torch_dense_layer,
)
from tests.helpers import seeds


@pytest.mark.parametrize("seed", seeds(3))
def test_loop_matmul_and_dense_layer_match_the_libraries(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m, p = rng.integers(1, 7, size=3)
    a, b = rng.normal(size=(n, m)), rng.normal(size=(m, p))
    np.testing.assert_allclose(matmul(a, b), a @ b, rtol=0, atol=1e-12)
    x, w, bias = rng.normal(size=(5, 64)), rng.normal(size=(10, 64)), rng.normal(size=10)
    np.testing.assert_allclose(dense_layer(x, w, bias), torch_dense_layer(x, w, bias), rtol=0, atol=1e-10)
    with pytest.raises(ValueError):
        matmul(rng.normal(size=(2, 3)), rng.normal(size=(2, 3)))  # inner sizes 3 != 2


@pytest.mark.parametrize("seed", seeds(3))
def test_colour_image_is_a_3d_tensor_of_channel_matrices(seed: int) -> None:
    index = int(np.random.default_rng(seed).integers(len(DIGITS.images)))
    image = colour_digit(index)
    assert image.shape == (3, 8, 8) and image.min() >= 0.0 and image.max() <= 1.0
    ink = DIGITS.images[index] / 16.0
    np.testing.assert_allclose(image[2], 1.0 - 0.2 * ink)  # the blue channel is one 8 x 8 matrix
    last = channels_last(image)
    assert last.shape == (8, 8, 3)
    i, j = np.unravel_index(np.argmax(ink), ink.shape)
    np.testing.assert_array_equal(last[i, j], image[:, i, j])  # same RGB triple per pixel
    np.testing.assert_array_equal(torch.from_numpy(image).permute(1, 2, 0).numpy(), last)


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (1, 1), (2, 0), (2, 1)])
def test_im2col_convolution_equals_conv2d(seed: int, stride: int, padding: int) -> None:
    rng = np.random.default_rng(seed)
    c_in, c_out, k = int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.choice([1, 2, 3]))
    x = rng.normal(size=(c_in, 8, 8))
    kernels, bias = rng.normal(size=(c_out, c_in, k, k)), rng.normal(size=c_out)
    ours = conv2d_as_matmul(x, kernels, bias, stride, padding)
    theirs = conv2d_torch(x, kernels, bias, stride, padding)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    # on real images too: three-channel colour digits
    image = colour_digit(int(rng.integers(len(DIGITS.images))))
    kernels = rng.normal(size=(4, 3, 3, 3))
    np.testing.assert_allclose(
        conv2d_as_matmul(image, kernels, None, stride, padding),
        conv2d_torch(image, kernels, None, stride, padding),
        rtol=0,
        atol=1e-10,
    )


@pytest.mark.parametrize("seed", seeds(3))
def test_convolution_is_a_sparse_linear_map(seed: int) -> None:
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=(3, 3))
    m = convolution_matrix(kernel, 8, 8)
    assert m.shape == (36, 64)
    assert ((m != 0).sum(axis=1) <= 9).all()  # each output pixel sees only k * k inputs
    x = DIGITS.images[int(rng.integers(len(DIGITS.images)))] / 16.0
    expected = conv2d_torch(x[None], kernel[None, None])[0]
    np.testing.assert_allclose((m @ x.ravel()).reshape(6, 6), expected, rtol=0, atol=1e-12)
    # linearity: conv(a x + b y) = a conv(x) + b conv(y)
    y, a, b = rng.normal(size=(8, 8)), rng.normal(), rng.normal()
    conv = lambda image: conv2d_torch(image[None], kernel[None, None])[0]  # noqa: E731
    np.testing.assert_allclose(conv(a * x + b * y), a * conv(x) + b * conv(y), rtol=0, atol=1e-10)


@pytest.mark.parametrize("seed", seeds(3))
def test_pca_by_svd_matches_scikit_learn_and_the_eigenvalues(seed: int) -> None:
    x = random_digit_subset(np.random.default_rng(seed))
    components, variance, projected = pca_by_svd(x, 10)
    reference = pca_sklearn(x, 10)
    aligned = align_signs(components, reference.components_)
    np.testing.assert_allclose(aligned, reference.components_, rtol=0, atol=1e-8)
    signs = np.sign((components * reference.components_).sum(axis=1))
    np.testing.assert_allclose(projected * signs, reference.transform(x), rtol=0, atol=1e-6)
    np.testing.assert_allclose(variance, reference.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(variance, covariance_eigenvalues(x)[:10], rtol=1e-8)


@pytest.mark.parametrize("seed", seeds(3))
def test_truncated_svd_error_and_variance_kept(seed: int) -> None:
    x = random_digit_subset(np.random.default_rng(seed))
    s = np.linalg.svd(x - x.mean(axis=0), compute_uv=False)
    for k in (2, 10, 30):
        assert reconstruction_error(x, k) == pytest.approx(float((s[k:] ** 2).sum()), rel=1e-9)
    eigenvalues = covariance_eigenvalues(x)
    assert eigenvalues[:10].sum() / eigenvalues.sum() > 0.70  # 10 of 64 directions keep over 70%
    # a random 10-dimensional subspace keeps far less than the principal one
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(64, 10)))
    centred = x - x.mean(axis=0)
    random_error = float(((centred - centred @ q @ q.T) ** 2).sum())
    assert random_error > 2 * reconstruction_error(x, 10)


@pytest.mark.parametrize("seed", seeds(3))
def test_solution_transposed_convolution(seed: int) -> None:
    rng = np.random.default_rng(seed)
    kernel, grad_out = rng.normal(size=(3, 3)), rng.normal(size=(6, 6))
    ours = conv_transpose_as_matmul(grad_out, kernel, 8, 8)
    theirs = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(grad_out)[None, None], torch.from_numpy(kernel)[None, None]
    )[0, 0]
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=0, atol=1e-12)
    x = torch.from_numpy(rng.normal(size=(8, 8))).requires_grad_(True)
    out = torch.nn.functional.conv2d(x[None, None], torch.from_numpy(kernel)[None, None])[0, 0]
    (out * torch.from_numpy(grad_out)).sum().backward()
    np.testing.assert_allclose(ours, x.grad.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", seeds(3))
def test_solution_components_for_variance(seed: int) -> None:
    x = random_digit_subset(np.random.default_rng(seed))
    for fraction in (0.5, 0.8, 0.9, 0.95):
        assert components_for_variance(x, fraction) == pca_sklearn(x, fraction).n_components_
