"""The script torchrun starts in every process (see docs/distributed/parallelism.md).

    torchrun --standalone --nproc-per-node=2 -m snippets.distributed.ddp_train --out model.pt
    # two machines: run on each, with its own --node-rank
    torchrun --nnodes=2 --nproc-per-node=4 --node-rank=0 --rdzv-backend=c10d \\
             --rdzv-endpoint=HOST:29500 -m snippets.distributed.ddp_train --out model.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

from snippets.distributed.parallelism import train_data_parallel

# --8<-- [start:entry]
import torch
import torch.distributed as dist

# Import before init_process_group. DDP imports this module lazily, and its functions take
# `group=group.WORLD` as a default argument: imported after init, those defaults keep the
# process group and its gloo threads alive past destroy_process_group(), and a thread still
# releasing work while Python shuts down aborts the process ("terminate called ...").
import torch.distributed.nn


def run(steps: int, global_batch: int, seed: int, out: Path) -> None:
    # torchrun sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT for every process.
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    try:
        model = train_data_parallel(seed, steps, global_batch)
        if dist.get_rank() == 0:  # every replica holds the same weights; one saves them
            torch.save(model.state_dict(), out)
    finally:
        dist.destroy_process_group()


# --8<-- [end:entry]

from snippets.common import positive_int, seed_arg  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="torchrun ... -m snippets.distributed.ddp_train")
    parser.add_argument("--steps", type=positive_int, default=20)
    parser.add_argument("--global-batch", type=positive_int, default=64)
    parser.add_argument("--seed", type=seed_arg, default=0)
    parser.add_argument("--out", type=Path, default=Path("model.pt"), help="where rank 0 saves the weights")
    args = parser.parse_args(argv)
    run(args.steps, args.global_batch, args.seed, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
