"""Claims of docs/llm/fine-tuning.md."""

from __future__ import annotations

import copy
import math
from functools import cache

import pytest
import torch
from peft import LoraConfig, get_peft_model

from snippets.common import one_thread
from snippets.llm.fine_tuning import (
    ALL_LINEAR,
    ATTENTION,
    COPY,
    IGNORE,
    PROMPT,
    ROTATE,
    LoRALinear,
    RSLoRALinear,
    add_lora,
    check_against_peft,
    copy_lora_weights,
    forgetting_experiment,
    library_loss,
    llama3_8b_config,
    lora_parameters,
    lora_share_at_8b,
    make_batch,
    masked_sft_loss,
    merge_lora,
    peft_lora,
    sft_labels,
    tiny_llama,
)
from tests.helpers import seeds

LLAMA3_8B_PARAMETERS = 8_030_261_248  # Meta's Llama 3 8B, untied embeddings


@cache
def checks(seed: int) -> dict[str, float]:
    with one_thread():
        return check_against_peft(seed)


@cache
def forgetting(seed: int) -> dict[str, dict[str, float]]:
    with one_thread():
        return forgetting_experiment(seed)


@pytest.mark.parametrize("seed", seeds())
def test_our_lora_equals_peft_with_copied_weights(seed: int) -> None:
    result = checks(seed)
    assert result["change"] > 0.01  # B is not zero, so the comparison is not trivial
    assert result["vs peft"] < 1e-5


@pytest.mark.parametrize("seed", seeds(2))
def test_our_gradients_equal_peft(seed: int) -> None:
    base = tiny_llama(seed)
    ids = make_batch(ROTATE, 8, torch.Generator().manual_seed(seed))
    ours = add_lora(copy.deepcopy(base), ATTENTION, r=4, alpha=8)
    with torch.no_grad():
        for module in ours.modules():
            if isinstance(module, LoRALinear):
                module.B.normal_(std=0.1)
    theirs = peft_lora(copy.deepcopy(base), r=4, alpha=8)
    copy_lora_weights(ours, theirs)
    masked_sft_loss(ours(input_ids=ids).logits, sft_labels(ids, PROMPT)).backward()
    library_loss(theirs, ids, PROMPT).backward()
    adapted = [(name, m) for name, m in ours.named_modules() if isinstance(m, LoRALinear)]
    assert len(adapted) == 2 * len(ATTENTION)  # two layers
    for name, mine in adapted:
        layer = theirs.base_model.model.get_submodule(name)
        torch.testing.assert_close(mine.A.grad, layer.lora_A["default"].weight.grad, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(mine.B.grad, layer.lora_B["default"].weight.grad, rtol=1e-4, atol=1e-6)
        assert mine.A.grad.abs().max() > 0
    trainable = {name for name, p in ours.named_parameters() if p.requires_grad}
    assert trainable and all(name.endswith((".A", ".B")) for name in trainable)  # the base is frozen


@pytest.mark.parametrize("seed", seeds())
def test_lora_is_a_no_op_at_initialisation(seed: int) -> None:
    assert checks(seed)["at init"] == 0.0  # ours: B = 0 adds exactly zero
    base = tiny_llama(seed)
    ids = make_batch(COPY, 8, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        expected = base(input_ids=ids).logits
        assert torch.equal(peft_lora(copy.deepcopy(base))(input_ids=ids).logits, expected)
    layer = LoRALinear(torch.nn.Linear(16, 8), r=4, alpha=8)
    assert torch.count_nonzero(layer.B) == 0 and torch.count_nonzero(layer.A) == layer.A.numel()


@pytest.mark.parametrize("seed", seeds())
def test_merged_weights_give_the_same_outputs(seed: int) -> None:
    assert checks(seed)["merged"] < 1e-5
    base = tiny_llama(seed)
    ids = make_batch(COPY, 8, torch.Generator().manual_seed(seed))
    ours = add_lora(copy.deepcopy(base), ATTENTION, r=4, alpha=8)
    with torch.no_grad():
        for module in ours.modules():
            if isinstance(module, LoRALinear):
                module.B.normal_(std=0.1)
        theirs = peft_lora(copy.deepcopy(base), r=4, alpha=8)
        copy_lora_weights(ours, theirs)
        adapted = theirs(input_ids=ids).logits
        merged = merge_lora(ours)
        assert not any(isinstance(m, LoRALinear) for m in merged.modules())
        assert sum(p.numel() for p in merged.parameters()) == sum(p.numel() for p in base.parameters())
        unloaded = theirs.merge_and_unload()
        assert (unloaded(input_ids=ids).logits - adapted).abs().max() < 1e-5
        assert (merged(input_ids=ids).logits - adapted).abs().max() < 1e-5
        assert (adapted - base(input_ids=ids).logits).abs().max() > 0.01


@pytest.mark.parametrize("seed", seeds())
def test_disabling_the_adapter_restores_the_base_model_exactly(seed: int) -> None:
    assert checks(seed)["switched off"] == 0.0


def test_trainable_share_at_llama3_8b_shapes() -> None:
    trainable, base = lora_share_at_8b(16)
    config = llama3_8b_config()
    d, ffn, layers, vocab = 4096, 14336, 32, 128256
    kv = 8 * (d // 32)
    per_layer = 2 * d * d + 2 * d * kv + 3 * d * ffn + 2 * d  # attention, MLP, two RMSNorms
    assert base == layers * per_layer + 2 * vocab * d + d == LLAMA3_8B_PARAMETERS
    assert trainable == layers * 16 * ((d + d) + 2 * (d + kv) + (d + d)) == 13_631_488
    assert trainable == lora_parameters(config, 16, ATTENTION)
    assert round(100 * trainable / base, 3) == 0.170
    assert round(2 * base / 1e9, 1) == 16.1 and round(16 * base / 1e9) == 128


@pytest.mark.parametrize("seed", seeds())
def test_masked_sft_loss_counts_only_the_answer(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    model = tiny_llama(seed)
    ids = make_batch(ROTATE, 16, generator)
    logits = model(input_ids=ids).logits.detach().requires_grad_(True)
    labels = sft_labels(ids, PROMPT)
    loss = masked_sft_loss(logits, labels)
    # The same number as transformers' built-in loss and as cross_entropy(ignore_index=-100).
    torch.testing.assert_close(loss, library_loss(model, ids, PROMPT).detach(), rtol=1e-5, atol=1e-6)
    reference = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=IGNORE
    )
    torch.testing.assert_close(loss, reference, rtol=1e-5, atol=1e-6)
    # Other prompt tokens in the labels: the loss does not move. Another answer token: it does.
    other_prompt = ids.clone()
    other_prompt[:, :PROMPT] = torch.randint(0, 20, (16, PROMPT), generator=generator)
    assert torch.equal(masked_sft_loss(logits, sft_labels(other_prompt, PROMPT)), loss)
    other_answer = ids.clone()
    other_answer[:, -1] = (other_answer[:, -1] + 1 - 10) % 10 + 10
    assert masked_sft_loss(logits, sft_labels(other_answer, PROMPT)) != loss
    assert masked_sft_loss(logits, ids) != loss  # without the mask the prompt counts
    # No gradient reaches the predictions made inside the prompt; the last prompt position
    # predicts the first answer token, so it does get one.
    loss.backward()
    assert torch.count_nonzero(logits.grad[:, : PROMPT - 1]) == 0
    assert torch.count_nonzero(logits.grad[:, PROMPT - 1 : -1]) > 0


@pytest.mark.parametrize("seed", seeds(1))  # 3 s of training a seed; make test-seeds runs seeds 1 and 2
def test_forgetting_both_ways_and_lora_keeps_the_base(seed: int) -> None:
    result = forgetting(seed)
    before, full, lora = result["pre-trained"], result["full"], result["LoRA"]
    assert before["old"] < 0.05  # pre-training learnt COPY (an untrained model scores about 3)
    for after in (full, lora):
        assert after["new"] < 0.5 * before["new"]  # both learnt ROTATE
        assert after["old"] > 2 * before["old"]  # and both forgot some of COPY
    assert lora["old, adapter off"] == before["old"]  # the frozen base is untouched
    assert full["trained"] == 1.0 and 0.05 < lora["trained"] < 0.1


@pytest.mark.parametrize("seed", seeds(2))
def test_solution_rslora_matches_peft(seed: int) -> None:
    torch.manual_seed(seed)
    base = torch.nn.Sequential(torch.nn.Linear(12, 10))
    x = torch.randn(5, 12)
    ours = RSLoRALinear(copy.deepcopy(base[0]), r=4, alpha=8)
    with torch.no_grad():
        ours.B.normal_()
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["0"], use_rslora=True)
    theirs = get_peft_model(copy.deepcopy(base), config)
    theirs.base_model.model[0].lora_A["default"].weight.data.copy_(ours.A.data)
    theirs.base_model.model[0].lora_B["default"].weight.data.copy_(ours.B.data)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-6)
    assert ours.scaling == pytest.approx(8 / math.sqrt(4))
    with torch.no_grad():
        plain = ours.base(x) + 8 / 4 * (x @ ours.A.T) @ ours.B.T  # alpha / r: not the same
    assert not torch.allclose(ours(x), plain)


def test_solution_parameter_count_matches_peft_on_all_linear_layers() -> None:
    trainable, _ = lora_share_at_8b(8, ALL_LINEAR)
    assert trainable == lora_parameters(llama3_8b_config(), 8, ALL_LINEAR)
    assert trainable == 32 * 8 * (2 * (4096 + 4096) + 2 * (4096 + 1024) + 3 * (4096 + 14336))


def test_solution_parameter_count_matches_peft_on_the_toy_model() -> None:
    tiny = get_peft_model(tiny_llama(0), LoraConfig(r=8, target_modules=ALL_LINEAR))
    counted = sum(p.numel() for p in tiny.parameters() if p.requires_grad)
    assert counted == lora_parameters(tiny.config, 8, ALL_LINEAR) == 2 * 8 * (2 * 64 + 2 * 48 + 3 * 96)
