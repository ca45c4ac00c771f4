"""Linear algebra for deep learning: tensors, matrix products, convolution as a matrix product, SVD and PCA.

Run ``python -m snippets.foundations.linear_algebra --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from torch import nn


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# 1,797 handwritten digits shipped with scikit-learn: 8 x 8 grey images, values 0..16.
DIGITS = load_digits()
# --8<-- [end:setup]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402

# --8<-- [start:tensors]
scalar = np.float64(2.5)  # order 0: a single number
vector = np.array([1.0, 2.0, 3.0])  # order 1: shape (3,)
matrix = np.arange(6.0).reshape(2, 3)  # order 2: shape (2, 3), 2 rows and 3 columns
batch = np.zeros((32, 3, 8, 8))  # order 4: 32 colour images, each 3 x 8 x 8
# --8<-- [end:tensors]


# --8<-- [start:matmul]
def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C[i, j] = sum over k of A[i, k] * B[k, j], written out with loops."""
    n, m = a.shape
    m_b, p = b.shape
    if m != m_b:
        raise ValueError(f"shapes {a.shape} and {b.shape} do not fit: {m} != {m_b}")
    c = np.zeros((n, p))
    for i in range(n):
        for j in range(p):
            c[i, j] = sum(a[i, k] * b[k, j] for k in range(m))
    return c


def dense_layer(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """A fully connected layer on a batch: row i of the result is W x_i + b.

    ``x`` has shape (batch, inputs), ``weight`` (outputs, inputs) as in ``nn.Linear``.
    """
    return x @ weight.T + bias


# --8<-- [end:matmul]


# --8<-- [start:linear]
def torch_dense_layer(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """The same layer with ``nn.Linear`` (which stores W with shape (outputs, inputs))."""
    layer = nn.Linear(weight.shape[1], weight.shape[0], dtype=torch.float64).to(pick_device())
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(weight))
        layer.bias.copy_(torch.from_numpy(bias))
        return layer(torch.from_numpy(x).to(layer.weight.device)).cpu().numpy()


# --8<-- [end:linear]


# --8<-- [start:image]
INK = np.array([0.1, 0.3, 0.8])  # the RGB colour of the pen: dark blue


def colour_digit(index: int) -> np.ndarray:
    """Digit ``index`` drawn in blue ink on white paper: a (3, 8, 8) tensor in [0, 1].

    Channel c is an 8 x 8 matrix: white (1.0) where there is no ink, INK[c] where the ink is full.
    """
    ink = DIGITS.images[index] / 16.0  # (8, 8): 0 = paper, 1 = full ink
    return np.stack([1.0 - ink * (1.0 - INK[c]) for c in range(3)])  # (channels, height, width)


def channels_last(image: np.ndarray) -> np.ndarray:
    """(C, H, W) as PyTorch stores images -> (H, W, C) as Matplotlib and PIL expect."""
    return image.transpose(1, 2, 0)


# --8<-- [end:image]


# --8<-- [start:im2col]
def im2col(x: np.ndarray, kernel_size: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Every k x k patch of a (C, H, W) image as one column: shape (C*k*k, H_out*W_out)."""
    x = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    channels, height, width = x.shape
    h_out = (height - kernel_size) // stride + 1
    w_out = (width - kernel_size) // stride + 1
    columns = np.empty((channels * kernel_size * kernel_size, h_out * w_out))
    for i in range(h_out):
        for j in range(w_out):
            top, left = i * stride, j * stride
            patch = x[:, top : top + kernel_size, left : left + kernel_size]
            columns[:, i * w_out + j] = patch.ravel()
    return columns


def conv2d_as_matmul(
    x: np.ndarray, kernels: np.ndarray, bias: np.ndarray | None = None, stride: int = 1, padding: int = 0
) -> np.ndarray:
    """2-D convolution (as deep learning defines it) of a (C, H, W) image with (C_out, C, k, k) kernels.

    All the arithmetic is a single matrix product: (C_out, C*k*k) @ (C*k*k, H_out*W_out).
    """
    c_out, _, k, _ = kernels.shape
    h_out = (x.shape[1] + 2 * padding - k) // stride + 1
    w_out = (x.shape[2] + 2 * padding - k) // stride + 1
    out = kernels.reshape(c_out, -1) @ im2col(x, k, stride, padding)
    if bias is not None:
        out = out + bias[:, None]
    return out.reshape(c_out, h_out, w_out)


# --8<-- [end:im2col]


# --8<-- [start:conv-torch]
def conv2d_torch(
    x: np.ndarray, kernels: np.ndarray, bias: np.ndarray | None = None, stride: int = 1, padding: int = 0
) -> np.ndarray:
    """The same convolution with ``torch.nn.functional.conv2d`` (which wants a batch: N, C, H, W)."""
    device = pick_device()
    inputs = torch.from_numpy(x).unsqueeze(0).to(device)
    weight = torch.from_numpy(kernels).to(device)
    b = None if bias is None else torch.from_numpy(bias).to(device)
    return F.conv2d(inputs, weight, b, stride=stride, padding=padding).squeeze(0).cpu().numpy()


# --8<-- [end:conv-torch]


# --8<-- [start:conv-matrix]
def convolution_matrix(kernel: np.ndarray, height: int, width: int) -> np.ndarray:
    """The matrix M of a one-channel convolution (stride 1, no padding): conv(x) = M @ x.ravel().

    Row r belongs to output pixel r; it holds the k x k kernel weights at the input pixels that
    the kernel covers there, and zeros everywhere else.
    """
    k = kernel.shape[0]
    h_out, w_out = height - k + 1, width - k + 1
    m = np.zeros((h_out * w_out, height * width))
    for i in range(h_out):
        for j in range(w_out):
            for u in range(k):
                for v in range(k):
                    m[i * w_out + j, (i + u) * width + (j + v)] = kernel[u, v]
    return m


# --8<-- [end:conv-matrix]


# --8<-- [start:pca]
def pca_by_svd(x: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCA from the SVD of the centred data X_c = U S V^T.

    Returns the principal directions (first rows of V^T), the variance along each of them
    (S^2 / (n - 1), the eigenvalues of the covariance matrix) and the projected data X_c V_k.
    """
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:n_components]
    explained_variance = s[:n_components] ** 2 / (len(x) - 1)
    return components, explained_variance, centred @ components.T


def covariance_eigenvalues(x: np.ndarray) -> np.ndarray:
    """Eigenvalues of the sample covariance matrix, largest first (eigh: for symmetric matrices)."""
    covariance = np.cov(x, rowvar=False)
    return np.linalg.eigh(covariance)[0][::-1]


def reconstruction_error(x: np.ndarray, n_components: int) -> float:
    """Squared Frobenius distance between the centred data and its rank-k PCA reconstruction."""
    centred = x - x.mean(axis=0)
    components, _, projected = pca_by_svd(x, n_components)
    return float(((centred - projected @ components) ** 2).sum())


# --8<-- [end:pca]


# --8<-- [start:pca-sklearn]
def pca_sklearn(x: np.ndarray, n_components: int) -> PCA:
    """scikit-learn's PCA with the exact (LAPACK) SVD solver."""
    return PCA(n_components=n_components, svd_solver="full").fit(x)


def align_signs(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """Flip rows of ``ours`` so each points the same way as in ``theirs`` (an SVD fixes signs arbitrarily)."""
    signs = np.sign((ours * theirs).sum(axis=1, keepdims=True))
    return ours * signs


# --8<-- [end:pca-sklearn]


# --8<-- [start:solution-transpose]
def conv_transpose_as_matmul(grad_out: np.ndarray, kernel: np.ndarray, height: int, width: int) -> np.ndarray:
    """M^T g: the transposed convolution, which is also the gradient of sum(g * conv(x)) wrt x."""
    return (convolution_matrix(kernel, height, width).T @ grad_out.ravel()).reshape(height, width)


# --8<-- [end:solution-transpose]


# --8<-- [start:solution-components]
def components_for_variance(x: np.ndarray, fraction: float) -> int:
    """The smallest k whose first k principal components keep at least ``fraction`` of the variance."""
    eigenvalues = covariance_eigenvalues(x)
    kept = np.cumsum(eigenvalues) / eigenvalues.sum()
    return int(np.searchsorted(kept, fraction) + 1)


# --8<-- [end:solution-components]


def random_digit_subset(rng: np.random.Generator, size: int = 900) -> np.ndarray:
    """``size`` digits (rows of 64 pixel values) drawn at random without replacement."""
    return DIGITS.data[rng.choice(len(DIGITS.data), size=size, replace=False)]


EDGE_KERNEL = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])  # Sobel: vertical edges


def plot_image_tensor():
    """A colour digit and the three matrices (channels) it is made of."""
    import matplotlib.pyplot as plt

    image = colour_digit(0)
    fig, axes = plt.subplots(1, 4, figsize=(9, 2.6))
    axes[0].imshow(channels_last(image), interpolation="nearest")
    axes[0].set_title("RGB  (3, 8, 8)")
    for c, (ax, name) in enumerate(zip(axes[1:], ["R", "G", "B"], strict=True)):
        ax.imshow(image[c], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"channel {c}: {name}  (8, 8)")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_convolution_matrix():
    """A digit, the matrix M of a 3x3 edge kernel on 8x8 inputs, and M @ x reshaped."""
    import matplotlib.pyplot as plt

    x = DIGITS.images[0] / 16.0
    m = convolution_matrix(EDGE_KERNEL, 8, 8)
    out = (m @ x.ravel()).reshape(6, 6)
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.2), gridspec_kw={"width_ratios": [1, 2.6, 1]})
    axes[0].imshow(x, cmap="gray_r", interpolation="nearest")
    axes[0].set_title("x  (8×8 = 64)")
    limit = np.abs(m).max()
    axes[1].imshow(m, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest", aspect="auto")
    axes[1].set_title(f"M  ({m.shape[0]}×{m.shape[1]}, {np.count_nonzero(m) / m.size:.0%} ≠ 0)")
    axes[1].set_xlabel("input pixel")
    axes[1].set_ylabel("output pixel")
    limit_out = np.abs(out).max()
    axes[2].imshow(out, cmap="RdBu_r", vmin=-limit_out, vmax=limit_out, interpolation="nearest")
    axes[2].set_title("M x  (6×6 = 36)")
    for ax in (axes[0], axes[2]):
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_pca_digits():
    """Cumulative variance kept by k components, and the digits projected on the first two."""
    import matplotlib.pyplot as plt

    x, labels = DIGITS.data, DIGITS.target
    eigenvalues = covariance_eigenvalues(x)
    kept = np.cumsum(eigenvalues) / eigenvalues.sum()
    _, _, projected = pca_by_svd(x, 2)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    k = np.arange(1, len(kept) + 1)
    axes[0].plot(k, kept, marker=".", color="#1b6ca8")
    axes[0].axhline(0.9, color="gray", linestyle="--", linewidth=1)
    axes[0].set_xlabel("k")
    axes[0].set_ylabel("variance kept")
    axes[0].set_ylim(0, 1.02)
    scatter = axes[1].scatter(projected[:, 0], projected[:, 1], c=labels, cmap="tab10", s=6, rasterized=True)
    axes[1].set_xlabel("PC 1")
    axes[1].set_ylabel("PC 2")
    fig.colorbar(scatter, ax=axes[1], ticks=range(10), label="digit")
    fig.tight_layout()
    return fig


FIGURES = {
    "linear-algebra-image-tensor": plot_image_tensor,
    "linear-algebra-convolution-matrix": plot_convolution_matrix,
    "linear-algebra-pca-digits": plot_pca_digits,
}


def component_count(text: str) -> int:
    """argparse type: a number of principal components, 1 to 64 (the pixels of a digit)."""
    value = positive_int(text)
    if value > DIGITS.data.shape[1]:
        raise argparse.ArgumentTypeError(f"expected at most {DIGITS.data.shape[1]}, got {value}")
    return value


def report(args: argparse.Namespace) -> None:
    """Check every identity of the page on the digits and print the numbers."""
    n_pixels = DIGITS.data.shape[1]
    rng = np.random.default_rng(args.seed)
    print(f"seed={args.seed} components={args.components}")

    a, b = rng.normal(size=(4, 5)), rng.normal(size=(5, 3))
    print(f"loop matmul vs numpy @: max |difference| {np.abs(matmul(a, b) - a @ b).max():.1e}")
    x, w, bias = rng.normal(size=(8, 64)), rng.normal(size=(10, 64)), rng.normal(size=10)
    layer_gap = np.abs(dense_layer(x, w, bias) - torch_dense_layer(x, w, bias)).max()
    print(f"x @ W.T + b vs nn.Linear: max |difference| {layer_gap:.1e}")

    images = [colour_digit(i) for i in rng.choice(len(DIGITS.images), size=16, replace=False)]
    print(
        f"a colour digit: tensor of shape {images[0].shape}, "
        f"channel-last view {channels_last(images[0]).shape}"
    )
    kernels, kernel_bias = rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    worst = 0.0
    for image in images:
        for stride, padding in [(1, 0), (1, 1), (2, 1)]:
            ours = conv2d_as_matmul(image, kernels, kernel_bias, stride, padding)
            theirs = conv2d_torch(image, kernels, kernel_bias, stride, padding)
            worst = max(worst, float(np.abs(ours - theirs).max()))
    print(
        "im2col conv vs F.conv2d on 16 colour digits, 3 stride/padding settings: "
        f"max |difference| {worst:.1e}"
    )
    m = convolution_matrix(EDGE_KERNEL, 8, 8)
    gray = DIGITS.images[0] / 16.0
    matrix_gap = np.abs(
        (m @ gray.ravel()).reshape(6, 6) - conv2d_torch(gray[None], EDGE_KERNEL[None, None])[0]
    )
    print(
        f"convolution matrix: shape {m.shape}, {np.count_nonzero(m) / m.size:.1%} non-zero, "
        f"vs F.conv2d max |difference| {matrix_gap.max():.1e}"
    )

    k = args.components
    components, variance, projected = pca_by_svd(DIGITS.data, k)
    reference = pca_sklearn(DIGITS.data, k)
    component_gap = np.abs(align_signs(components, reference.components_) - reference.components_).max()
    eigen_gap = np.abs(covariance_eigenvalues(DIGITS.data)[:k] - variance).max()
    print(f"PCA by SVD vs scikit-learn: components differ by {component_gap:.1e} (after sign alignment)")
    print(f"S^2/(n-1) vs eigenvalues of the covariance matrix: max |difference| {eigen_gap:.1e}")
    total = covariance_eigenvalues(DIGITS.data).sum()
    print(f"the first {k} of {n_pixels} components keep {variance.sum() / total:.1%} of the variance")
    s = np.linalg.svd(DIGITS.data - DIGITS.data.mean(axis=0), compute_uv=False)
    print(
        f"rank-{k} reconstruction error {reconstruction_error(DIGITS.data, k):.1f}, "
        f"sum of the discarded S^2 {float((s[k:] ** 2).sum()):.1f}"
    )
    print(f"components needed for 90% of the variance: {components_for_variance(DIGITS.data, 0.9)}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.foundations.linear_algebra",
        "Check matrix products, convolution as a matrix product and PCA by SVD on scikit-learn's digits.",
    )
    parser.add_argument(
        "--components",
        type=component_count,
        default=10,
        help="principal components to keep, 1..64 (default: 10)",
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
