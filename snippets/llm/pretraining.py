"""Pretraining a small GPT: a Llama-style decoder from scratch (RMSNorm, RoPE, SwiGLU, KV cache),
checked against transformers' LlamaForCausalLM, trained on Python's own help text, compared with
n-gram baselines, sampled, and trained at three sizes on one token budget.

Run ``python -m snippets.llm.pretraining --help`` for the options.
"""

from __future__ import annotations

import argparse
from functools import cache

# --8<-- [start:setup]
import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from pydoc_data.topics import topics
from threadpoolctl import threadpool_limits
from torch import nn
from torch.nn import functional as F


def seed_everything(seed: int) -> int:
    """Seed Python, NumPy and PyTorch; return the seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return seed


@contextmanager
def one_thread() -> Iterator[None]:
    """Run PyTorch and NumPy's BLAS on one CPU thread (small models run faster), then restore."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(threads)


def load_corpus() -> str:
    """Python's help pages (``help('with')`` and friends), which ship with Python: English prose
    and code. Only ASCII characters are kept, so the vocabulary is small and fixed."""
    text = "\n".join(topics[key] for key in sorted(topics))
    return "".join(ch for ch in text if ch == "\n" or " " <= ch <= "~")


class CharTokenizer:
    """One token per character: the vocabulary is the set of characters in the text."""

    def __init__(self, text: str) -> None:
        self.chars = sorted(set(text))
        self.index = {ch: i for i, ch in enumerate(self.chars)}

    def encode(self, text: str) -> torch.Tensor:
        return torch.tensor([self.index[ch] for ch in text], dtype=torch.long)

    def decode(self, ids: list[int] | torch.Tensor) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def split_corpus(
    text: str, tokenizer: CharTokenizer, held_out: float = 0.1
) -> tuple[torch.Tensor, torch.Tensor]:
    """The first 90 % of the characters for training, the last 10 % held out."""
    ids = tokenizer.encode(text)
    cut = int(len(ids) * (1 - held_out))
    return ids[:cut], ids[cut:]


# --8<-- [end:setup]
from snippets.common import default_seed, make_parser, positive_int, run_cli  # noqa: E402


# --8<-- [start:model]
@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int
    d_model: int = 48
    n_layers: int = 2
    n_heads: int = 4
    d_hidden: int = 128  # SwiGLU width: 8/3 of d_model, as in LLaMA
    context: int = 64
    rope_base: float = 10000.0
    eps: float = 1e-6


class RMSNorm(nn.Module):
    """x / RMS(x) times a learned gain: no mean subtraction and no bias (Zhang & Sennrich 2019)."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)


def rope_angles(head_dim: int, positions: torch.Tensor, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of position * base^(-2i/head_dim), each frequency used for two coordinates."""
    inv_freq = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float) / head_dim)
    angles = positions[:, None].float() * inv_freq  # (T, head_dim / 2)
    angles = torch.cat([angles, angles], dim=-1)  # (T, head_dim)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each pair (x_i, x_{i + head_dim/2}) by its position's angle (Su et al. 2021)."""
    first, second = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-second, first], dim=-1) * sin


class KVCache:
    """The keys and values of every position seen so far, one pair of tensors per layer."""

    def __init__(self, n_layers: int) -> None:
        self.keys: list[torch.Tensor | None] = [None] * n_layers
        self.values: list[torch.Tensor | None] = [None] * n_layers

    def length(self) -> int:
        return 0 if self.keys[0] is None else self.keys[0].shape[2]

    def extend(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.keys[layer] is not None:
            k = torch.cat([self.keys[layer], k], dim=2)
            v = torch.cat([self.values[layer], v], dim=2)
        self.keys[layer], self.values[layer] = k, v
        return k, v


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.n_heads, self.head_dim = cfg.n_heads, cfg.d_model // cfg.n_heads
        self.q_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.k_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.v_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.o_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)

    def forward(self, x, cos, sin, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        batch, length, d_model = x.shape
        heads = (batch, length, self.n_heads, self.head_dim)
        q = self.q_proj(x).view(heads).transpose(1, 2)  # (B, heads, T, head_dim)
        k = self.k_proj(x).view(heads).transpose(1, 2)
        v = self.v_proj(x).view(heads).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)  # positions enter here, and only here
        if cache is not None:
            k, v = cache.extend(layer, k, v)  # attend to the cached past as well
        past = k.shape[2] - length
        allowed = torch.ones(length, k.shape[2], dtype=torch.bool, device=x.device).tril(diagonal=past)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        weights = scores.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(batch, length, d_model)
        return self.o_proj(out)


class SwiGLU(nn.Module):
    """down(silu(gate(x)) * up(x)) (Shazeer 2020)."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(cfg.d_model, cfg.d_hidden, bias=False)
        self.up_proj = nn.Linear(cfg.d_model, cfg.d_hidden, bias=False)
        self.down_proj = nn.Linear(cfg.d_hidden, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    """Pre-norm residual block: x + attention(norm(x)), then x + MLP(norm(x))."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.d_model, cfg.eps)
        self.self_attn = CausalSelfAttention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.d_model, cfg.eps)
        self.mlp = SwiGLU(cfg)

    def forward(self, x, cos, sin, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache, layer)
        return x + self.mlp(self.post_attention_layernorm(x))


class GPT(nn.Module):
    """Token embedding, n pre-norm blocks, a final RMSNorm and an untied output layer, as in LLaMA."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.d_model, cfg.eps)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        for module in self.modules():  # GPT-2 / LLaMA style: N(0, 0.02) for every matrix
            if isinstance(module, nn.Linear | nn.Embedding):
                nn.init.normal_(module.weight, std=0.02)

    def forward(self, ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """Logits (B, T, vocab) for token ids (B, T); with a cache, ids continue the cached ones."""
        start = cache.length() if cache is not None else 0
        positions = torch.arange(start, start + ids.shape[1], device=ids.device)
        cos, sin = rope_angles(self.cfg.d_model // self.cfg.n_heads, positions, self.cfg.rope_base)
        x = self.embed_tokens(ids)
        for layer, block in enumerate(self.layers):
            x = block(x, cos, sin, cache, layer)
        return self.lm_head(self.norm(x))


# --8<-- [end:model]


# --8<-- [start:train]
def learning_rate(step: int, peak: float, warmup: int, total: int, floor: float = 0.1) -> float:
    """Linear warm-up to ``peak`` over ``warmup`` steps, then a cosine down to ``floor * peak``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def random_batch(data: torch.Tensor, batch: int, context: int, generator: torch.Generator):
    """``batch`` random windows of the text: inputs and the same windows shifted by one."""
    starts = torch.randint(len(data) - context - 1, (batch,), generator=generator)
    windows = torch.stack([data[s : s + context + 1] for s in starts.tolist()])
    return windows[:, :-1], windows[:, 1:]


def train(model: GPT, data: torch.Tensor, steps: int, batch: int = 16, peak_lr: float = 4e-3, seed: int = 0):
    """AdamW (decay on matrices only), warm-up + cosine schedule, gradient clipping; returns the losses."""
    matrices = [p for p in model.parameters() if p.dim() >= 2]
    gains = [p for p in model.parameters() if p.dim() < 2]  # RMSNorm weights: no weight decay
    optimizer = torch.optim.AdamW(
        [{"params": matrices, "weight_decay": 0.1}, {"params": gains, "weight_decay": 0.0}],
        lr=peak_lr,
        betas=(0.9, 0.95),
    )
    generator = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, peak_lr, warmup=steps // 10, total=steps)
        inputs, targets = random_batch(data, batch, model.cfg.context, generator)
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    return losses


@torch.no_grad()
def held_out_loss(model: GPT, data: torch.Tensor) -> float:
    """Mean cross-entropy (nats per character) over consecutive windows of the held-out text."""
    context = model.cfg.context
    count = (len(data) - 1) // context
    inputs = data[: count * context].view(count, context)
    targets = data[1 : count * context + 1].view(count, context)
    model.eval()
    logits = model(inputs)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)).item()


def ngram_loss(
    train_ids: torch.Tensor, data: torch.Tensor, vocab_size: int, order: int, context: int
) -> float:
    """Cross-entropy of a unigram (order 1) or bigram (order 2) model with add-one smoothing,
    on the same held-out characters as ``held_out_loss``."""
    count = (len(data) - 1) // context
    previous, targets = data[: count * context], data[1 : count * context + 1]
    if order == 1:
        counts = torch.bincount(train_ids, minlength=vocab_size).double() + 1
        log_p = (counts / counts.sum()).log()[targets]
    else:
        pairs = train_ids[:-1] * vocab_size + train_ids[1:]
        counts = torch.bincount(pairs, minlength=vocab_size**2).double().view(vocab_size, vocab_size) + 1
        log_p = (counts / counts.sum(dim=1, keepdim=True)).log()[previous, targets]
    return -log_p.mean().item()


# --8<-- [end:train]


# --8<-- [start:sample]
def filter_logits(
    logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> torch.Tensor:
    """Divide by the temperature, then set to -inf every token outside the top k and outside the
    smallest set whose probability reaches top_p (Holtzman et al. 2020)."""
    logits = logits / temperature
    if top_k is not None:
        kth_largest = logits.topk(top_k).values[..., -1:]
        logits = logits.masked_fill(logits < kth_largest, float("-inf"))
    if top_p is not None:
        probs, order = logits.softmax(dim=-1).sort(dim=-1, descending=True)
        outside = probs.cumsum(dim=-1) - probs >= top_p  # the tokens before already reach top_p
        logits = logits.masked_fill(outside.scatter(-1, order, outside), float("-inf"))
    return logits


def next_token(
    logits: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None, **filters
) -> int:
    """Pick the next token from one row of logits; temperature 0 means greedy (argmax)."""
    if temperature == 0:
        return int(logits.argmax())
    probs = filter_logits(logits, temperature, **filters).softmax(dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


@torch.no_grad()
def generate(
    model: GPT, prompt: torch.Tensor, new_tokens: int, use_cache: bool = True, **sampling
) -> list[int]:
    """Continue ``prompt`` (1-D ids). With the cache each step feeds one token; without it the
    whole sequence is run again at every step."""
    model.eval()
    ids = prompt.tolist()
    cache = KVCache(model.cfg.n_layers) if use_cache else None
    logits = model(prompt[None], cache)[0, -1]
    for _ in range(new_tokens):
        ids.append(next_token(logits, **sampling))
        if use_cache:
            logits = model(torch.tensor([[ids[-1]]]), cache)[0, -1]
        else:
            logits = model(torch.tensor([ids]))[0, -1]
    return ids


# --8<-- [end:sample]


# --8<-- [start:library]
from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402


def llama_config(cfg: GPTConfig) -> LlamaConfig:
    """The same architecture, described the way transformers does."""
    return LlamaConfig(
        vocab_size=cfg.vocab_size,
        hidden_size=cfg.d_model,
        intermediate_size=cfg.d_hidden,
        num_hidden_layers=cfg.n_layers,
        num_attention_heads=cfg.n_heads,
        num_key_value_heads=cfg.n_heads,  # no grouped-query attention
        max_position_embeddings=cfg.context,
        rms_norm_eps=cfg.eps,
        rope_parameters={"rope_type": "default", "rope_theta": cfg.rope_base},
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
    )


def to_llama(model: GPT) -> LlamaForCausalLM:
    """A LlamaForCausalLM with our weights: the parameter names match once 'model.' is added."""
    llama = LlamaForCausalLM(llama_config(model.cfg))
    weights = {
        (name if name.startswith("lm_head") else f"model.{name}"): tensor
        for name, tensor in model.state_dict().items()
    }
    llama.load_state_dict(weights, strict=True)
    return llama.eval()


def llama_greedy(llama: LlamaForCausalLM, prompt: torch.Tensor, new_tokens: int) -> list[int]:
    """Greedy decoding with transformers' own generate (which keeps a KV cache)."""
    output = llama.generate(
        prompt[None],
        attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
        max_new_tokens=new_tokens,
        do_sample=False,
        pad_token_id=0,
    )
    return output[0].tolist()


# --8<-- [end:library]


# --8<-- [start:solution-cache-size]
def cache_bytes(cache: KVCache) -> int:
    """Memory held by the cache: every key and value tensor of every layer."""
    tensors = [t for t in cache.keys + cache.values if t is not None]
    return sum(t.numel() * t.element_size() for t in tensors)


def predicted_cache_bytes(cfg: GPTConfig, length: int, batch: int = 1, bytes_per_number: int = 4) -> int:
    """2 (keys and values) x layers x d_model x positions x batch x bytes per number."""
    return 2 * cfg.n_layers * cfg.d_model * length * batch * bytes_per_number


# --8<-- [end:solution-cache-size]


# --8<-- [start:solution-tied]
def tie_embeddings(model: GPT) -> GPT:
    """Use the embedding matrix as the output layer too (GPT-2 does; LLaMA 1 and 2 do not)."""
    model.lm_head.weight = model.embed_tokens.weight
    return model


# --8<-- [end:solution-tied]


# The sizes of the mini scaling law: same data, same tokens, only the model grows.
SIZES = {
    "tiny": GPTConfig(vocab_size=0, d_model=16, n_layers=1, n_heads=2, d_hidden=48),
    "small": GPTConfig(vocab_size=0, d_model=32, n_layers=1, n_heads=4, d_hidden=96),
    "base": GPTConfig(vocab_size=0),
}
STEPS, BATCH, PEAK_LR = 250, 16, 4e-3


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@cache
def corpus() -> tuple[CharTokenizer, torch.Tensor, torch.Tensor]:
    text = load_corpus()
    tokenizer = CharTokenizer(text)
    return (tokenizer, *split_corpus(text, tokenizer))


@cache
def trained(size: str, seed: int, steps: int = STEPS) -> tuple[GPT, list[float]]:
    """A model of one of the SIZES trained on the corpus (cached: tests, figure and report share it)."""
    tokenizer, train_ids, _ = corpus()
    cfg = GPTConfig(**{**SIZES[size].__dict__, "vocab_size": len(tokenizer.chars)})
    with one_thread():
        seed_everything(seed)
        model = GPT(cfg)
        losses = train(model, train_ids, steps, batch=BATCH, peak_lr=PEAK_LR, seed=seed)
    return model, losses


@cache
def held_out(size: str, seed: int, steps: int = STEPS) -> float:
    """Held-out cross-entropy (nats per character) of ``trained(size, seed, steps)``."""
    _, _, held_out_ids = corpus()
    with one_thread():
        return held_out_loss(trained(size, seed, steps)[0], held_out_ids)


def baselines() -> dict[str, float]:
    """Unigram and bigram cross-entropy on the held-out text, nats per character."""
    tokenizer, train_ids, held_out_ids = corpus()
    vocab, context = len(tokenizer.chars), SIZES["base"].context
    return {
        name: ngram_loss(train_ids, held_out_ids, vocab, order, context)
        for name, order in (("unigram", 1), ("bigram", 2))
    }


def plot_scaling():
    """Left: training loss of the three sizes against tokens seen. Right: held-out loss against size."""
    import matplotlib.pyplot as plt

    seed = default_seed()
    reference = baselines()
    colors = {"tiny": "#7570b3", "small": "#d95f02", "base": "#1b9e77"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    tokens_per_step = BATCH * SIZES["base"].context
    counts, losses = [], []
    for size, color in colors.items():
        model, curve = trained(size, seed, STEPS)
        smooth = np.convolve(curve, np.ones(10) / 10, mode="valid")  # mean of 10 steps
        steps = np.arange(len(smooth)) + 10
        left.plot(
            steps * tokens_per_step,
            smooth,
            color=color,
            label=f"{size} ({parameter_count(model):,} parameters)",
        )
        counts.append(parameter_count(model))
        losses.append(held_out(size, seed, STEPS))
    for name, style in (("unigram", ":"), ("bigram", "--")):
        for axis in (left, right):
            axis.axhline(reference[name], color="#666666", ls=style, lw=1, label=f"{name} (held out)")
    left.set(xlabel="training tokens (characters)", ylabel="cross-entropy, nats/char", ylim=(1.5, 4.7))
    left.set_title("training loss (mean of 10 steps)")
    left.legend(fontsize=8)
    right.plot(counts, losses, "o-", color="#1b9e77")
    for size, count, loss in zip(colors, counts, losses, strict=True):
        right.annotate(size, (count, loss), textcoords="offset points", xytext=(6, 6), fontsize=9)
    right.set_xscale("log")
    right.set(xlabel="parameters", ylabel="held-out cross-entropy, nats/char", ylim=(1.5, 3.5))
    right.set_title(f"same budget: {STEPS * tokens_per_step:,} tokens")
    fig.tight_layout()
    return fig


FIGURES = {"pretraining-scaling": plot_scaling}


def report(args: argparse.Namespace) -> None:
    """Check against Llama, train three sizes on one budget, compare with n-grams, generate."""
    tokenizer, train_ids, held_out_ids = corpus()
    print(f"corpus: {len(train_ids) + len(held_out_ids)} characters, vocabulary {len(tokenizer.chars)}")
    context = SIZES["base"].context
    tokens = args.steps * BATCH * context
    print(f"training: {args.steps} steps x {BATCH} windows x {context} characters = {tokens} tokens")
    print("held-out cross-entropy (nats/char, bits/char):")
    for name, loss in baselines().items():
        print(f"  {name:<18} {loss:.2f}  {loss / math.log(2):.2f}")
    for size in SIZES:
        model, _ = trained(size, args.seed, args.steps)
        loss = held_out(size, args.seed, args.steps)
        label = f"GPT {size} ({parameter_count(model) // 1000}k)"
        print(f"  {label:<18} {loss:.2f}  {loss / math.log(2):.2f}")
    model, _ = trained("base", args.seed, args.steps)
    with one_thread(), torch.no_grad():
        ids = held_out_ids[: model.cfg.context][None]
        gap = (model(ids) - to_llama(model)(ids).logits).abs().max().item()
        prompt = tokenizer.encode("The ")
        cached = generate(model, prompt, 60, use_cache=True, temperature=0)
        uncached = generate(model, prompt, 60, use_cache=False, temperature=0)
        library = llama_greedy(to_llama(model), prompt, 60)
        generator = torch.Generator().manual_seed(args.seed)
        sampled = generate(model, prompt, 60, temperature=0.8, top_p=0.95, generator=generator)
    print(f"largest logit difference from LlamaForCausalLM: {'below 1e-4' if gap < 1e-4 else f'{gap:.1e}'}")
    print(f"greedy decoding with and without the KV cache identical: {cached == uncached}")
    print(f"LlamaForCausalLM.generate gives the same tokens: {library == cached}")
    print(f"greedy continuation: {tokenizer.decode(cached)!r}")
    print(f"sampled, temperature 0.8, top-p 0.95: {tokenizer.decode(sampled)!r}")


def one_thread_report(args: argparse.Namespace) -> None:
    with one_thread():
        report(args)


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.llm.pretraining",
        "Pretrain a small Llama-style GPT on Python's help text and compare it with n-gram baselines.",
    )
    parser.add_argument(
        "--steps", type=positive_int, default=STEPS, help=f"training steps (default: {STEPS})"
    )
    return run_cli(parser, one_thread_report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
