"""Claims of docs/architectures/transformer.md."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from snippets.architectures.transformer import (
    MultiHeadAttention,
    TinyTransformer,
    attention,
    causal_mask,
    compare_multi_head,
    copy_into,
    dot_product_spread,
    mirror_share,
    permutation_gap,
    reversal_accuracy,
    shift_matrix,
    sinusoidal_encoding,
    torch_attention,
    trained,
)
from snippets.common import seed_everything
from tests.helpers import seeds


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize("causal", [False, True])
def test_attention_matches_pytorch(seed: int, causal: bool) -> None:
    seed_everything(seed)
    q, k, v = torch.randn(3, 2, 7, 8), torch.randn(3, 2, 7, 8), torch.randn(3, 2, 7, 5)
    ours, weights = attention(q, k, v, causal_mask(7) if causal else None)
    torch.testing.assert_close(ours, torch_attention(q, k, v, causal), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 2, 7))
    if causal:  # nothing flows from the future
        assert weights.triu(diagonal=1).abs().max() == 0


@pytest.mark.parametrize("seed", seeds(3))
def test_boolean_mask_means_keep_in_sdpa(seed: int) -> None:
    """A random boolean mask (True = may attend), given to ours and to F.scaled_dot_product_attention."""
    seed_everything(seed)
    q, k, v = torch.randn(2, 5, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 4)
    mask = torch.rand(5, 6) > 0.5
    mask[:, 0], mask[:, 1] = True, False  # every row of mask and of ~mask keeps a key
    ours, _ = attention(q, k, v, mask)
    torch.testing.assert_close(
        ours, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=1e-5, rtol=1e-5
    )
    inverted = F.scaled_dot_product_attention(q, k, v, attn_mask=~mask)
    assert (ours - inverted).abs().max() > 1e-3


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_matches_nn_multiheadattention(seed: int, causal: bool) -> None:
    seed_everything(seed)
    theirs = nn.MultiheadAttention(24, 4, batch_first=True)
    ours = MultiHeadAttention(24, 4)
    copy_into(ours, theirs)
    query, memory = torch.randn(2, 5, 24), torch.randn(2, 5, 24)
    mask = causal_mask(5) if causal else None
    with torch.no_grad():
        out_ours, w_ours = ours(query, memory, memory, mask)
        out_theirs, w_theirs = theirs(
            query, memory, memory, attn_mask=None if mask is None else ~mask, average_attn_weights=False
        )
    torch.testing.assert_close(out_ours, out_theirs, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(w_ours, w_theirs, atol=1e-5, rtol=1e-5)
    assert compare_multi_head() < 1e-5


@pytest.mark.parametrize("offset", [1, 3, 17])
def test_sinusoidal_shift_is_linear(offset: int) -> None:
    """PE[pos + k] = M_k PE[pos] with one fixed matrix M_k for all positions."""
    encoding = sinusoidal_encoding(80, 32).double()
    moved = encoding[:-offset] @ shift_matrix(offset, 32).T
    torch.testing.assert_close(moved, encoding[offset:], atol=1e-4, rtol=0)
    assert encoding.abs().max() <= 1
    assert (encoding[0, 0::2] == 0).all() and (encoding[0, 1::2] == 1).all()


@pytest.mark.parametrize("seed", seeds(3))
def test_encoder_without_positions_is_permutation_equivariant(seed: int) -> None:
    seed_everything(seed)
    layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
    encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()
    generator = torch.Generator().manual_seed(seed)
    assert permutation_gap(encoder, torch.randn(3, 9, 16), generator) < 1e-5
    tokens = torch.randint(0, 10, (4, 10), generator=generator)
    assert permutation_gap(TinyTransformer(10, positions=False), tokens, generator) < 1e-5
    assert permutation_gap(TinyTransformer(10, positions=True), tokens, generator) > 1e-2


@pytest.mark.parametrize("seed", seeds(3))
def test_tiny_transformer_learns_to_reverse(seed: int) -> None:
    """>= 95 % whole-sequence accuracy with positions; <= 40 % token accuracy without."""
    token, sequence = reversal_accuracy(trained(seed), 10, seed)
    assert token >= 0.98 and sequence >= 0.95, (token, sequence)
    token_no_pos, sequence_no_pos = reversal_accuracy(trained(seed, positions=False), 10, seed)
    assert token_no_pos <= 0.40 and sequence_no_pos <= 0.01, (token_no_pos, sequence_no_pos)


@pytest.mark.parametrize("seed", seeds(3))
def test_attention_looks_at_the_mirror_position(seed: int) -> None:
    """For >= 95 % of output positions i, some head's largest weight is on input position L-1-i."""
    assert mirror_share(trained(seed), 10, seed) >= 0.95


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize("d_k", [16, 64, 256])
def test_dot_products_grow_like_sqrt_d(seed: int, d_k: int) -> None:
    spread = dot_product_spread(d_k, 20_000, torch.Generator().manual_seed(seed))
    assert 0.95 < spread / d_k**0.5 < 1.05
