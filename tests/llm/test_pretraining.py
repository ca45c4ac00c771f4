"""Claims of docs/llm/pretraining.md."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
from transformers import LlamaForCausalLM
from transformers.generation.logits_process import (
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from snippets.llm.pretraining import (
    GPT,
    SIZES,
    STEPS,
    GPTConfig,
    KVCache,
    apply_rope,
    baselines,
    cache_bytes,
    corpus,
    filter_logits,
    generate,
    held_out,
    learning_rate,
    llama_config,
    llama_greedy,
    next_token,
    ngram_loss,
    one_thread,
    parameter_count,
    predicted_cache_bytes,
    rope_angles,
    tie_embeddings,
    to_llama,
    trained,
)
from tests.helpers import seeds

VOCAB = 94


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny models: one thread is faster than several fighting over a busy machine."""
    with one_thread():
        yield


def random_model(seed: int, **config) -> GPT:
    """An untrained model with weights large enough that its logits are of order one, and
    RMSNorm gains away from 1, so that a wrong formula anywhere would show."""
    torch.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=VOCAB, **config))
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() == 1:
                parameter.uniform_(0.5, 1.5)
            else:
                parameter.normal_(0, 0.3)
    return model.eval()


def relative_gap(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.mark.parametrize("seed", seeds(3))
def test_forward_matches_llama_for_causal_lm(seed: int) -> None:
    model = random_model(seed)
    ids = torch.randint(VOCAB, (3, 64), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        ours, theirs = model(ids), to_llama(model)(ids).logits
    assert ours.abs().max() > 1.0  # the comparison is not between near-zero numbers
    assert relative_gap(ours, theirs) < 2e-5


def test_trained_model_matches_llama_for_causal_lm() -> None:
    model, _ = trained("base", seeds(1)[0], STEPS)
    ids = corpus()[2][:64][None]
    with torch.no_grad():
        ours, theirs = model(ids), to_llama(model)(ids).logits
    assert relative_gap(ours, theirs) < 2e-5
    assert (ours - theirs).abs().max() < 1e-4  # the page prints "below 1e-4"


def test_rope_rotates_and_only_relative_positions_matter() -> None:
    q, k = torch.randn(1, 1, 1, 12), torch.randn(1, 1, 1, 12)

    def score(m: int, n: int) -> float:
        cos_m, sin_m = rope_angles(12, torch.tensor([m]), 10000.0)
        cos_n, sin_n = rope_angles(12, torch.tensor([n]), 10000.0)
        return (apply_rope(q, cos_m, sin_m) * apply_rope(k, cos_n, sin_n)).sum().item()

    cos, sin = rope_angles(12, torch.tensor([7]), 10000.0)
    assert apply_rope(q, cos, sin).norm().item() == pytest.approx(q.norm().item(), rel=1e-5)  # a rotation
    assert score(5, 2) == pytest.approx(score(33, 30), rel=1e-4, abs=1e-5)  # depends on m - n only
    assert abs(score(5, 2) - score(5, 4)) > 1e-3


@pytest.mark.parametrize("seed", seeds(3))
def test_kv_cache_gives_the_same_logits_and_greedy_tokens(seed: int) -> None:
    model = random_model(seed)
    ids = torch.randint(VOCAB, (2, 40), generator=torch.Generator().manual_seed(seed))
    cache = KVCache(model.cfg.n_layers)
    with torch.no_grad():
        full = model(ids)
        steps = [model(ids[:, :10], cache)] + [model(ids[:, t : t + 1], cache) for t in range(10, 40)]
    assert cache.length() == 40
    assert relative_gap(torch.cat(steps, dim=1), full) < 1e-5
    prompt = ids[0, :4]
    cached = generate(model, prompt, 50, use_cache=True, temperature=0)
    assert cached == generate(model, prompt, 50, use_cache=False, temperature=0)
    assert len(set(cached)) > 5  # a varied sequence, not one repeated token


def test_trained_model_greedy_decoding_with_cache_without_cache_and_llama() -> None:
    model, _ = trained("base", seeds(1)[0], STEPS)
    tokenizer = corpus()[0]
    prompt = tokenizer.encode("The ")
    cached = generate(model, prompt, 60, use_cache=True, temperature=0)
    assert cached == generate(model, prompt, 60, use_cache=False, temperature=0)
    assert cached == llama_greedy(to_llama(model), prompt, 60)


def test_learning_rate_warms_up_linearly_then_follows_a_cosine() -> None:
    rates = [learning_rate(step, 1e-3, warmup=10, total=100) for step in range(100)]
    assert rates[:10] == pytest.approx([1e-4 * (i + 1) for i in range(10)])
    assert max(rates) == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(rates[9:], rates[10:], strict=False))
    assert rates[55] == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5))  # halfway through the cosine
    assert learning_rate(100, 1e-3, warmup=10, total=100) == pytest.approx(1e-4)


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize(
    "settings",
    [{"temperature": 0.7}, {"top_k": 5}, {"top_p": 0.9}, {"temperature": 1.3, "top_k": 20, "top_p": 0.8}],
)
def test_filters_match_transformers_logits_warpers(seed: int, settings: dict) -> None:
    logits = 3 * torch.randn(4, VOCAB, generator=torch.Generator().manual_seed(seed))
    expected = logits.clone()
    if "temperature" in settings:
        expected = TemperatureLogitsWarper(settings["temperature"])(None, expected)
    if "top_k" in settings:
        expected = TopKLogitsWarper(settings["top_k"])(None, expected)
    if "top_p" in settings:
        expected = TopPLogitsWarper(settings["top_p"])(None, expected)
    ours = filter_logits(logits, **settings)
    assert torch.equal(ours.isinf(), expected.isinf())
    kept = ~ours.isinf()
    torch.testing.assert_close(ours[kept], expected[kept])
    if "top_k" in settings:
        assert (kept.sum(-1) <= settings["top_k"]).all()


@pytest.mark.parametrize("seed", seeds(3))
def test_sampling_stays_inside_the_nucleus_and_temperature_zero_is_greedy(seed: int) -> None:
    logits = 2 * torch.randn(VOCAB, generator=torch.Generator().manual_seed(seed))
    logits[logits.argmax()] += 1.5  # a clear favourite
    generator = torch.Generator().manual_seed(seed)
    allowed = set((~filter_logits(logits, top_p=0.5).isinf()).nonzero().flatten().tolist())
    draws = [next_token(logits, top_p=0.5, generator=generator) for _ in range(300)]
    assert set(draws) <= allowed  # never a token outside the nucleus (they hold half the probability)
    assert Counter(draws).most_common(1)[0][0] == int(logits.argmax())
    assert next_token(logits, temperature=0) == int(logits.argmax())
    cold = Counter(next_token(logits, temperature=0.05, generator=generator) for _ in range(100))
    hot = Counter(next_token(logits, temperature=5.0, generator=generator) for _ in range(100))
    assert cold[int(logits.argmax())] > 90 and len(hot) > 20


def test_ngram_baselines_equal_counting_by_hand() -> None:
    train_ids = torch.tensor([0, 1, 2, 1, 2, 0, 1])
    held = torch.tensor([1, 2, 0, 1, 1])
    unigram = Counter(train_ids.tolist())
    p1 = {c: (unigram[c] + 1) / (7 + 3) for c in range(3)}
    expected_unigram = -sum(math.log(p1[c]) for c in [2, 0, 1, 1]) / 4
    assert ngram_loss(train_ids, held, 3, order=1, context=2) == pytest.approx(expected_unigram)
    pairs = Counter(zip(train_ids[:-1].tolist(), train_ids[1:].tolist(), strict=True))
    starts = Counter(train_ids[:-1].tolist())

    def p2(a: int, b: int) -> float:
        return (pairs[(a, b)] + 1) / (starts[a] + 3)

    expected_bigram = -sum(math.log(p2(a, b)) for a, b in [(1, 2), (2, 0), (0, 1), (1, 1)]) / 4
    assert ngram_loss(train_ids, held, 3, order=2, context=2) == pytest.approx(expected_bigram)


@pytest.mark.parametrize("size", list(SIZES))
def test_every_size_learns(size: str) -> None:
    model, losses = trained(size, seeds(1)[0], STEPS)
    assert losses[0] > math.log(VOCAB) - 0.1  # it starts as a uniform guess over the characters
    assert held_out(size, seeds(1)[0], STEPS) < baselines()["unigram"] - 0.5


def test_trained_model_beats_bigram_and_unigram_on_held_out_text() -> None:
    reference = baselines()
    assert reference["bigram"] < reference["unigram"] - 0.5
    assert held_out("base", seeds(1)[0], STEPS) < reference["bigram"] - 0.25


def test_held_out_loss_falls_with_model_size_at_a_fixed_token_budget() -> None:
    seed = seeds(1)[0]
    sizes = [parameter_count(trained(size, seed, STEPS)[0]) for size in SIZES]
    assert sizes == sorted(sizes) and sizes[-1] > 8 * sizes[0]
    losses = [held_out(size, seed, STEPS) for size in SIZES]
    assert losses[0] > losses[1] + 0.05 and losses[1] > losses[2] + 0.05


@pytest.mark.parametrize("seed", seeds(3))
def test_tied_embeddings_match_llama_with_tie_word_embeddings(seed: int) -> None:
    model = random_model(seed)
    untied = parameter_count(model)
    tie_embeddings(model)
    assert untied - parameter_count(model) == VOCAB * model.cfg.d_model
    config = llama_config(model.cfg)
    config.tie_word_embeddings = True
    llama = LlamaForCausalLM(config)
    llama.model.load_state_dict(
        {k.removeprefix("model."): v for k, v in to_llama(model).model.state_dict().items()}
    )
    llama.eval()
    assert llama.lm_head.weight.data_ptr() == llama.model.embed_tokens.weight.data_ptr()
    ids = torch.randint(VOCAB, (2, 32), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        assert relative_gap(model(ids), llama(ids).logits) < 2e-5


@pytest.mark.parametrize("length", [1, 17, 64])
def test_cache_size_formula(length: int) -> None:
    model = random_model(0)
    cache = KVCache(model.cfg.n_layers)
    with torch.no_grad(), one_thread():
        model(torch.zeros(3, length, dtype=torch.long), cache)
    assert cache_bytes(cache) == predicted_cache_bytes(model.cfg, length, batch=3)
