"""Claims of docs/distributed/parallelism.md."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from snippets.distributed.parallelism import (
    TwoStagePipeline,
    make_batches,
    make_model,
    max_parameter_difference,
    run_torchrun,
    train_single_process,
)
from tests.helpers import seeds


def test_ddp_with_two_processes_matches_one_process(tmp_path: Path) -> None:
    seed = seeds(1)[0]
    out = tmp_path / "ddp.pt"
    run_torchrun(processes=2, steps=10, global_batch=32, seed=seed, out=out)
    ddp_model = make_model(seed)
    ddp_model.load_state_dict(torch.load(out, weights_only=True))
    reference = train_single_process(seed, steps=10, global_batch=32)
    untrained = make_model(seed)
    assert max_parameter_difference(reference, untrained) > 1e-3, "training must move the weights"
    assert max_parameter_difference(reference, ddp_model) < 1e-5


@pytest.mark.parametrize("seed", seeds(3))
@pytest.mark.parametrize("micro_batches", [1, 2, 4, 8])
def test_pipeline_matches_the_unsplit_model(seed: int, micro_batches: int) -> None:
    model, pipeline = make_model(seed), TwoStagePipeline(make_model(seed))
    x, y = make_batches(seed, 1, 64)[0]
    expected, got = model(x), pipeline(x, micro_batches=micro_batches)
    torch.testing.assert_close(got, expected)
    nn.functional.mse_loss(expected, y).backward()
    nn.functional.mse_loss(got, y).backward()
    for p, q in zip(model.parameters(), pipeline.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad)


def test_uneven_global_batch_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    from snippets.distributed.parallelism import main

    assert main(["--processes", "3", "--global-batch", "64"]) == 2
    assert "divisible" in capsys.readouterr().err
