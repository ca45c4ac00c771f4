"""Data parallelism (DDP with torchrun) and model parallelism (a two-stage pipeline).

python -m snippets.distributed.parallelism            # both demos, 2 CPU processes
torchrun --standalone --nproc-per-node=2 -m snippets.distributed.ddp_train --out model.pt
"""

from __future__ import annotations

import argparse
import tempfile

# --8<-- [start:setup]
import os
import subprocess
import sys
from pathlib import Path

import torch
from torch import nn


def make_model(seed: int) -> nn.Sequential:
    """A small regression MLP; the same seed gives the same initial weights in every process."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))


def make_batches(seed: int, steps: int, global_batch: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Generated data: y = sin(x · w) + noise, one global batch per step."""
    generator = torch.Generator().manual_seed(seed + 1)
    true_w = torch.randn(8, 1, generator=generator)
    batches = []
    for _ in range(steps):
        x = torch.randn(global_batch, 8, generator=generator)
        y = torch.sin(x @ true_w) + 0.05 * torch.randn(global_batch, 1, generator=generator)
        batches.append((x, y))
    return batches


# --8<-- [end:setup]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402


# --8<-- [start:single]
def train_single_process(seed: int, steps: int, global_batch: int, lr: float = 0.05) -> nn.Module:
    """The reference: one process sees each whole global batch."""
    model = make_model(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for x, y in make_batches(seed, steps, global_batch):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
    return model


# --8<-- [end:single]


# --8<-- [start:ddp]
def train_data_parallel(seed: int, steps: int, global_batch: int, lr: float = 0.05) -> nn.Module:
    """Run inside a process started by torchrun: each rank trains on its slice of every batch.

    DistributedDataParallel averages the gradients of all ranks during backward(), so every
    replica takes the same step as the single process above.
    """
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    rank, world = dist.get_rank(), dist.get_world_size()
    if global_batch % world:
        raise ValueError(f"global batch {global_batch} is not divisible by {world} processes")
    local = global_batch // world
    model = DistributedDataParallel(make_model(seed))  # broadcasts rank 0's weights to all ranks
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for x, y in make_batches(seed, steps, global_batch):
        xs, ys = x[rank * local : (rank + 1) * local], y[rank * local : (rank + 1) * local]
        optimizer.zero_grad()
        nn.functional.mse_loss(model(xs), ys).backward()  # gradients all-reduced (averaged) here
        optimizer.step()
    return model.module


# --8<-- [end:ddp]


# --8<-- [start:launch]
def run_torchrun(processes: int, steps: int, global_batch: int, seed: int, out: Path) -> None:
    """Start ``processes`` CPU workers with torchrun (gloo backend) and wait for them."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={processes}",
        "-m",
        "snippets.distributed.ddp_train",
        "--steps",
        str(steps),
        "--global-batch",
        str(global_batch),
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=Path(__file__).parents[2])
    if result.returncode != 0:
        raise RuntimeError(f"torchrun failed:\n{result.stderr[-3000:]}")


# --8<-- [end:launch]


# --8<-- [start:pipeline]
class TwoStagePipeline(nn.Module):
    """Model parallelism: the layers are split into two stages (on two devices when available).

    The batch is cut into micro-batches; stage 1 can work on micro-batch k while stage 2 works
    on micro-batch k - 1 (GPipe). Here the schedule runs in order, which computes the same
    result: the test checks outputs and gradients against the unsplit model.
    """

    def __init__(self, model: nn.Sequential, devices: tuple[str, str] = ("cpu", "cpu")) -> None:
        super().__init__()
        self.devices = devices
        self.stage1 = model[:2].to(devices[0])
        self.stage2 = model[2:].to(devices[1])

    def forward(self, x: torch.Tensor, micro_batches: int = 4) -> torch.Tensor:
        outputs = []
        for chunk in x.chunk(micro_batches):
            hidden = self.stage1(chunk.to(self.devices[0]))
            outputs.append(self.stage2(hidden.to(self.devices[1])))  # activations cross devices
        return torch.cat(outputs)


# --8<-- [end:pipeline]


def plot_pipeline_schedule(stages: int = 2, micro_batches: int = 4):
    """A GPipe schedule: forward passes flow down the stages, then backward passes flow back."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 2.4))
    for stage in range(stages):
        for m in range(micro_batches):
            forward_start = stage + m
            backward_start = stages + micro_batches - 1 + (stages - 1 - stage) + m
            ax.broken_barh([(forward_start, 0.95)], (stage - 0.4, 0.8), color="#1b6ca8")
            ax.text(
                forward_start + 0.47, stage, f"F{m + 1}", ha="center", va="center", color="white", fontsize=9
            )
            ax.broken_barh([(backward_start, 0.95)], (stage - 0.4, 0.8), color="#d95f02")
            ax.text(
                backward_start + 0.47, stage, f"B{m + 1}", ha="center", va="center", color="white", fontsize=9
            )
    ax.set_yticks(range(stages), [f"stage {s + 1}" for s in range(stages)])
    ax.invert_yaxis()
    ax.set_xlabel("time step")
    ax.set_xlim(0, 2 * (stages + micro_batches - 1))
    fig.tight_layout()
    return fig


FIGURES = {"parallelism-pipeline-schedule": plot_pipeline_schedule}


def max_parameter_difference(a: nn.Module, b: nn.Module) -> float:
    return max(
        (p - q.to(p.device)).abs().max().item() for p, q in zip(a.parameters(), b.parameters(), strict=True)
    )


def report(args: argparse.Namespace) -> None:
    if args.global_batch % args.processes:
        raise ValueError(
            f"--global-batch {args.global_batch} must be divisible by --processes {args.processes}"
        )
    reference = train_single_process(args.seed, args.steps, args.global_batch)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "ddp.pt"
        run_torchrun(args.processes, args.steps, args.global_batch, args.seed, out)
        ddp_model = make_model(args.seed)
        ddp_model.load_state_dict(torch.load(out, weights_only=True))
    difference = max_parameter_difference(reference, ddp_model)
    local = args.global_batch // args.processes
    print(f"data parallel: {args.processes} processes x {local} examples, {args.steps} steps")
    print(f"  largest weight difference vs one process: {difference:.1e}")
    model = make_model(args.seed)
    pipeline = TwoStagePipeline(make_model(args.seed))
    x, y = make_batches(args.seed, 1, args.global_batch)[0]
    nn.functional.mse_loss(model(x), y).backward()
    nn.functional.mse_loss(pipeline(x), y).backward()
    output_gap = (model(x) - pipeline(x)).abs().max().item()
    grad_gap = max(
        (p.grad - q.grad).abs().max().item()
        for p, q in zip(model.parameters(), pipeline.parameters(), strict=True)
    )
    print(f"pipeline: 2 stages, 4 micro-batches; output gap {output_gap:.1e}, gradient gap {grad_gap:.1e}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.distributed.parallelism", "Data and model parallelism on the CPU."
    )
    parser.add_argument("--processes", type=positive_int, default=2, help="torchrun processes (default: 2)")
    parser.add_argument("--steps", type=positive_int, default=20, help="training steps (default: 20)")
    parser.add_argument(
        "--global-batch", type=positive_int, default=64, help="examples per step, all processes (default: 64)"
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
