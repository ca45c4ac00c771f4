"""Collective communication: ring all-reduce from scratch next to torch.distributed.all_reduce.

python -m snippets.distributed.frameworks --processes 3
"""

from __future__ import annotations

import argparse
import os
import socket

# --8<-- [start:ring]
import torch
import torch.distributed as dist


def ring_all_reduce(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over all processes, sending only to the right-hand neighbour.

    Phase 1 (reduce-scatter): after N - 1 steps, process r holds the full sum of chunk r + 1.
    Phase 2 (all-gather): N - 1 more steps pass the finished chunks around the ring.
    Each process sends 2 (N - 1) / N of the tensor in total, whatever N is.
    """
    rank, world = dist.get_rank(), dist.get_world_size()
    chunks = list(tensor.detach().clone().flatten().chunk(world))
    right, left = (rank + 1) % world, (rank - 1) % world
    for step in range(2 * (world - 1)):
        send_index = (rank - step) % world
        receive_index = (rank - step - 1) % world
        incoming = torch.empty_like(chunks[receive_index])
        request = dist.isend(chunks[send_index].contiguous(), right)
        dist.recv(incoming, left)
        request.wait()
        if step < world - 1:
            chunks[receive_index] = chunks[receive_index] + incoming  # reduce-scatter: add
        else:
            chunks[receive_index] = incoming  # all-gather: copy the finished chunk
    return torch.cat(chunks).view_as(tensor)


# --8<-- [end:ring]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --8<-- [start:worker]
def worker(rank: int, world: int, port: int, results: dict) -> None:
    """One process: compare our ring with the library's all_reduce, and try two more collectives."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.manual_seed(rank)
        local = torch.randn(10)  # a different "gradient" in every process
        ours = ring_all_reduce(local)
        theirs = local.clone()
        dist.all_reduce(theirs, op=dist.ReduceOp.SUM)
        gathered = [torch.empty(1) for _ in range(world)]
        dist.all_gather(gathered, torch.tensor([float(rank)]))
        weights = torch.full((3,), float(rank))
        dist.broadcast(weights, src=0)  # everyone ends with rank 0's values
        results[rank] = {
            "max_gap": (ours - theirs).abs().max().item(),
            "gathered": [t.item() for t in gathered],
            "broadcast": weights.tolist(),
        }
    finally:
        dist.destroy_process_group()


# --8<-- [end:worker]


def run(world: int) -> dict[int, dict]:
    """Spawn ``world`` CPU processes and collect what each one found."""
    import torch.multiprocessing as mp

    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(worker, args=(world, free_port(), results), nprocs=world, join=True)
        return dict(results)


# --8<-- [start:traffic]
def ring_bytes_per_process(tensor_bytes: int, world: int) -> float:
    """Bytes each process sends in a ring all-reduce."""
    return 2 * (world - 1) / world * tensor_bytes


# --8<-- [end:traffic]


def plot_traffic():
    """Bytes moved per process: ring all-reduce vs sending everything to one process."""
    import matplotlib.pyplot as plt

    worlds = list(range(2, 65))
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(worlds, [ring_bytes_per_process(1, n) for n in worlds], label="ring all-reduce: 2(N-1)/N")
    ax.plot(worlds, [2 * (n - 1) for n in worlds], label="one central process: 2(N-1)", linestyle="--")
    ax.set_yscale("log")
    ax.set_xlabel("processes N")
    ax.set_ylabel("data moved by the busiest process (x M)")
    ax.legend()
    fig.tight_layout()
    return fig


FIGURES = {"collectives-ring-traffic": plot_traffic}


def report(args: argparse.Namespace) -> None:
    results = run(args.processes)
    for rank in sorted(results):
        found = results[rank]
        print(
            f"rank {rank}: ring vs all_reduce gap {found['max_gap']:.1e}, all_gather {found['gathered']}, "
            f"broadcast {found['broadcast']}"
        )
    megabytes = 100
    for world in (2, 4, 8, 64):
        sent = ring_bytes_per_process(megabytes, world)
        print(f"ring all-reduce of {megabytes} MB over {world:>2} processes: {sent:.1f} MB sent per process")


def main(argv: list[str] | None = None) -> int:
    from snippets.common import make_parser, positive_int, run_cli

    parser = make_parser("python -m snippets.distributed.frameworks", "Ring all-reduce vs torch.distributed.")
    parser.add_argument("--processes", type=positive_int, default=3, help="CPU processes (default: 3)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
