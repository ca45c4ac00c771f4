"""Supervised fine-tuning and LoRA: a LoRA layer and a prompt-masked loss from scratch, checked
against peft and transformers, an 8B parameter count on the meta device, and a forgetting test.

Run ``python -m snippets.llm.fine_tuning --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import copy
import math

import torch
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM

# A toy vocabulary: ten digits, ten letters, "=" and two task markers.
VOCAB = list("0123456789abcdefghij") + ["=", "C", "R"]
EQUALS, COPY, ROTATE = 20, 21, 22
LENGTH = 4  # symbols per prompt
PROMPT = LENGTH + 2  # marker, symbols, "="


def tiny_llama(seed: int) -> LlamaForCausalLM:
    """The Llama architecture at toy size (20,064 parameters), random weights."""
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=16,
    )
    return LlamaForCausalLM(config)


def make_batch(task: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """Token ids of ``size`` examples: marker, four symbols, "=", the answer.

    COPY repeats four digits or four letters; ROTATE moves the first of four letters to the end.
    """
    if task == COPY:
        offset = 10 * torch.randint(0, 2, (size, 1), generator=generator)  # digits or letters
        symbols = torch.randint(0, 10, (size, LENGTH), generator=generator) + offset
        answer = symbols
    else:
        symbols = torch.randint(10, 20, (size, LENGTH), generator=generator)
        answer = symbols.roll(-1, dims=1)
    marker = torch.full((size, 1), task)
    return torch.cat([marker, symbols, torch.full((size, 1), EQUALS), answer], dim=1)


def show(ids: torch.Tensor) -> str:
    return " ".join(VOCAB[i] for i in ids.tolist())


# --8<-- [end:setup]

from snippets.common import make_parser, one_thread, positive_float, positive_int, run_cli  # noqa: E402


# --8<-- [start:lora]
class LoRALinear(nn.Module):
    """y = W x + b + (alpha / r) B A x, with W and b frozen. A starts random, B at zero."""

    def __init__(self, base: nn.Linear, r: int, alpha: float) -> None:
        super().__init__()
        self.base = base.requires_grad_(False)
        self.A = nn.Parameter(torch.empty(r, base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, r))  # zero: a no-op at the start
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))  # as peft and the LoRA reference code
        self.scaling = alpha / r

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scaling * (x @ self.A.T) @ self.B.T

    def merged(self) -> nn.Linear:
        """One plain layer with W' = W + (alpha / r) B A: no extra cost at inference."""
        layer = copy.deepcopy(self.base)
        layer.weight.data += self.scaling * self.B.data @ self.A.data
        return layer


def add_lora(model: nn.Module, targets: list[str], r: int, alpha: float) -> nn.Module:
    """Freeze every weight, then wrap each nn.Linear whose name ends with a target."""
    model.requires_grad_(False)
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.Linear) and name.split(".")[-1] in targets:
            parent, child = name.rsplit(".", 1)
            setattr(model.get_submodule(parent), child, LoRALinear(module, r, alpha))
    return model


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace every LoRALinear by its merged nn.Linear."""
    for name, module in list(model.named_modules()):
        if isinstance(module, LoRALinear):
            parent, child = name.rsplit(".", 1)
            setattr(model.get_submodule(parent), child, module.merged())
    return model


# --8<-- [end:lora]


# --8<-- [start:sft-loss]
IGNORE = -100  # the label PyTorch's cross-entropy and transformers skip


def sft_labels(ids: torch.Tensor, prompt_length: int) -> torch.Tensor:
    """Labels for supervised fine-tuning: the answer tokens; IGNORE on the prompt."""
    labels = ids.clone()
    labels[:, :prompt_length] = IGNORE
    return labels


def masked_sft_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of next-token predictions over the positions whose label is kept."""
    predictions, targets = logits[:, :-1], labels[:, 1:]  # position t predicts token t + 1
    keep = targets != IGNORE
    log_probs = predictions.log_softmax(dim=-1)
    picked = log_probs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(picked * keep).sum() / keep.sum()


# --8<-- [end:sft-loss]


# --8<-- [start:peft]
from peft import LoraConfig, get_peft_model  # noqa: E402

ATTENTION = ["q_proj", "k_proj", "v_proj", "o_proj"]


def peft_lora(model: nn.Module, r: int = 4, alpha: float = 8) -> nn.Module:
    """The same adapters with peft: frozen base, trainable A and B on the attention projections."""
    return get_peft_model(model, LoraConfig(r=r, lora_alpha=alpha, target_modules=ATTENTION))


def library_loss(model: nn.Module, ids: torch.Tensor, prompt_length: int) -> torch.Tensor:
    """transformers computes the same masked loss when given labels with -100 on the prompt."""
    return model(input_ids=ids, labels=sft_labels(ids, prompt_length)).loss


# --8<-- [end:peft]


# --8<-- [start:copy-weights]
def copy_lora_weights(ours: nn.Module, theirs: nn.Module) -> None:
    """Put our A and B into peft's matching lora_A and lora_B."""
    for name, module in ours.named_modules():
        if isinstance(module, LoRALinear):
            layer = theirs.base_model.model.get_submodule(name)
            layer.lora_A["default"].weight.data.copy_(module.A.data)
            layer.lora_B["default"].weight.data.copy_(module.B.data)


# --8<-- [end:copy-weights]


# --8<-- [start:llama-8b]
def llama3_8b_config() -> LlamaConfig:
    """Shapes from Meta's Llama 3 8B config.json (model card on Hugging Face)."""
    return LlamaConfig(
        vocab_size=128256,
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        tie_word_embeddings=False,
    )


def lora_share_at_8b(r: int = 16, targets: list[str] = ATTENTION) -> tuple[int, int]:
    """(trainable LoRA parameters, base parameters) of Llama 3 8B, built on the meta device:
    shapes only, no memory and no arithmetic."""
    with torch.device("meta"):
        model = LlamaForCausalLM(llama3_8b_config())
    base = sum(p.numel() for p in model.parameters())
    model = get_peft_model(model, LoraConfig(r=r, lora_alpha=2 * r, target_modules=targets))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, base


# --8<-- [end:llama-8b]


# --8<-- [start:forgetting]
def train(model: nn.Module, task: int, steps: int, lr: float, seed: int, batch: int = 32) -> None:
    """AdamW on the masked SFT loss, updating only the parameters that require gradients."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    for _ in range(steps):
        ids = make_batch(task, batch, generator)
        loss = masked_sft_loss(model(input_ids=ids).logits, sft_labels(ids, PROMPT))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@torch.no_grad()
def task_loss(model: nn.Module, task: int, size: int = 256) -> float:
    """Masked SFT loss on a fixed held-out batch of a task."""
    ids = make_batch(task, size, torch.Generator().manual_seed(12345))
    return masked_sft_loss(model(input_ids=ids).logits, sft_labels(ids, PROMPT)).item()


def forgetting_experiment(
    seed: int, pretrain_steps: int = 150, finetune_steps: int = 100, lr: float = 1e-3, r: int = 4
) -> dict[str, dict[str, float]]:
    """Pre-train on COPY, then fine-tune on ROTATE twice, fully and with LoRA (same steps, same lr).

    Returns the loss on each task, before and after, and the share of weights each run trained.
    """
    pretrained = tiny_llama(seed)
    train(pretrained, COPY, pretrain_steps, 3e-3, seed)
    full = copy.deepcopy(pretrained)
    train(full, ROTATE, finetune_steps, lr, seed + 1)
    lora = peft_lora(copy.deepcopy(pretrained), r=r, alpha=2 * r)
    train(lora, ROTATE, finetune_steps, lr, seed + 1)
    with lora.disable_adapter():
        switched_off = task_loss(lora, COPY)
    total = sum(p.numel() for p in pretrained.parameters())
    results = {}
    for name, model in (("pre-trained", pretrained), ("full", full), ("LoRA", lora)):
        trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
        results[name] = {
            "old": task_loss(model, COPY),
            "new": task_loss(model, ROTATE),
            "trained": 0.0 if name == "pre-trained" else trained / total,
        }
    results["LoRA"]["old, adapter off"] = switched_off
    return results


# --8<-- [end:forgetting]


# --8<-- [start:solution-rslora]
class RSLoRALinear(LoRALinear):
    """Rank-stabilised LoRA (Kalajdzievski, 2023): scale by alpha / sqrt(r) instead of alpha / r."""

    def __init__(self, base: nn.Linear, r: int, alpha: float) -> None:
        super().__init__(base, r, alpha)
        self.scaling = alpha / math.sqrt(r)


# --8<-- [end:solution-rslora]


# --8<-- [start:solution-count]
def lora_parameters(config: LlamaConfig, r: int, targets: list[str]) -> int:
    """r (d_in + d_out) per adapted matrix, summed over the targets and the layers."""
    head = config.hidden_size // config.num_attention_heads
    d, kv, ffn = config.hidden_size, config.num_key_value_heads * head, config.intermediate_size
    shapes = {  # (d_in, d_out) of each projection
        "q_proj": (d, d),
        "k_proj": (d, kv),
        "v_proj": (d, kv),
        "o_proj": (d, d),
        "gate_proj": (d, ffn),
        "up_proj": (d, ffn),
        "down_proj": (ffn, d),
    }
    return config.num_hidden_layers * sum(r * sum(shapes[t]) for t in targets)


# --8<-- [end:solution-count]


ALL_LINEAR = ATTENTION + ["gate_proj", "up_proj", "down_proj"]

# Losses after training: the last digits can move between CPU kernel levels (measured: under 1%).
OUTPUT_TOLERANCE = {"  pre-trained ": 0.05, "  full        ": 0.05, "  LoRA        ": 0.05}


def check_against_peft(seed: int) -> dict[str, float]:
    """Our adapters next to peft's on the tiny Llama: at init, with random B, merged, switched off."""
    base = tiny_llama(seed)
    ids = make_batch(COPY, 8, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        reference = base(input_ids=ids).logits
        ours = add_lora(copy.deepcopy(base), ATTENTION, r=4, alpha=8)
        at_init = (ours(input_ids=ids).logits - reference).abs().max().item()
        for module in ours.modules():
            if isinstance(module, LoRALinear):
                module.B.normal_(std=0.1)  # as if trained
        theirs = peft_lora(copy.deepcopy(base), r=4, alpha=8)
        copy_lora_weights(ours, theirs)
        adapted = ours(input_ids=ids).logits
        vs_peft = (adapted - theirs(input_ids=ids).logits).abs().max().item()
        with theirs.disable_adapter():
            switched_off = (theirs(input_ids=ids).logits - reference).abs().max().item()
        merged = (merge_lora(ours)(input_ids=ids).logits - adapted).abs().max().item()
    return {
        "change": (adapted - reference).abs().max().item(),
        "at init": at_init,
        "vs peft": vs_peft,
        "merged": merged,
        "switched off": switched_off,
    }


def report(args: argparse.Namespace) -> None:
    """Check the from-scratch pieces against the libraries, count at 8B, measure forgetting."""
    with one_thread():
        checks = check_against_peft(args.seed)
        size = sum(p.numel() for p in tiny_llama(args.seed).parameters())
        print(
            f"seed={args.seed}; tiny Llama ({size:,} parameters), LoRA r=4, alpha=8 on {', '.join(ATTENTION)}"
        )
        print(f"  LoRA at initialisation changes the logits by exactly 0: {checks['at init'] == 0}")
        print(f"  with B random, the logits move by more than 0.01: {checks['change'] > 0.01}")
        print(f"  our LoRALinear equals peft's (max difference < 1e-5): {checks['vs peft'] < 1e-5}")
        print(
            f"  merged W + (alpha/r)BA equals the adapter (max difference < 1e-5): {checks['merged'] < 1e-5}"
        )
        print(f"  peft's disable_adapter() gives back the base model exactly: {checks['switched off'] == 0}")
        trainable, base = lora_share_at_8b(args.rank)
        print(f"Llama 3 8B shapes on the meta device: {base:,} parameters")
        print(
            f"  LoRA r={args.rank} on q, k, v, o: {trainable:,} trainable"
            f" = {trainable / base:.3%} of the base"
        )
        print(
            f"  bf16 weights {2 * base / 1e9:.1f} GB; full fine-tuning with Adam, 16 bytes a parameter: "
            f"{16 * base / 1e9:.0f} GB"
        )
        results = forgetting_experiment(args.seed, args.pretrain_steps, args.finetune_steps, args.lr)
    print(
        f"Forgetting: pre-train {args.pretrain_steps} steps on COPY, fine-tune {args.finetune_steps} "
        f"steps on ROTATE, lr={args.lr:g}"
    )
    print(f"  {'model':<12}{'trained':>9}{'COPY loss (old)':>17}{'ROTATE loss (new)':>19}")
    for name, row in results.items():
        print(f"  {name:<12}{row['trained']:>9.1%}{row['old']:>17.3f}{row['new']:>19.3f}")
    print(f"  LoRA with the adapter switched off: COPY loss {results['LoRA']['old, adapter off']:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.llm.fine_tuning",
        "LoRA and prompt-masked SFT from scratch, checked against peft and transformers; forgetting.",
    )
    parser.add_argument("--rank", type=positive_int, default=16, help="LoRA rank at 8B (default: 16)")
    parser.add_argument("--pretrain-steps", type=positive_int, default=150, help="COPY steps (default: 150)")
    parser.add_argument(
        "--finetune-steps", type=positive_int, default=100, help="ROTATE steps (default: 100)"
    )
    parser.add_argument("--lr", type=positive_float, default=1e-3, help="fine-tuning lr (default: 0.001)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
