"""Claims of docs/distributed/parallelism.md."""

from __future__ import annotations

import os
import re
import subprocess
import sys
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
from tests.helpers import ROOT, seeds


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


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads through Linux /proc")
def test_ddp_worker_ends_with_no_gloo_threads(tmp_path: Path) -> None:
    """The cause of a rare abort at exit ("terminate called without an active exception"):
    gloo threads that outlive destroy_process_group() and release work while Python shuts down."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    command += ["-m", "tests.distributed.ddp_thread_probe", str(tmp_path / "probe.pt")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = sorted(re.findall(r"rank (\d): (\d+) threads", result.stdout))
    assert counts == [("0", "1"), ("1", "1")], result.stdout


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


def test_each_stage_lives_on_its_own_device_and_activations_cross() -> None:
    """On a machine without two GPUs, PyTorch's "meta" device stands in for the second one: it
    holds shapes but no data, so any layer or tensor left on the wrong device fails loudly."""
    pipeline = TwoStagePipeline(make_model(0), devices=("cpu", "meta"))
    assert {p.device.type for p in pipeline.stage1.parameters()} == {"cpu"}
    assert {p.device.type for p in pipeline.stage2.parameters()} == {"meta"}
    x, _ = make_batches(0, 1, 64)[0]
    out = pipeline(x, micro_batches=4)
    assert out.device.type == "meta" and out.shape == make_model(0)(x).shape


def test_uneven_global_batch_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    from snippets.distributed.parallelism import main

    assert main(["--processes", "3", "--global-batch", "64"]) == 2
    assert "divisible" in capsys.readouterr().err
