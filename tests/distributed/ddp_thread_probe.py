"""Started by torchrun in tests/distributed/test_parallelism.py: run the page's DDP entry point,
then print how many OS threads the process still has (gloo's worker threads must be gone)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from snippets.distributed.ddp_train import run

if __name__ == "__main__":
    run(steps=2, global_batch=8, seed=0, out=Path(sys.argv[1]))
    threads = len(os.listdir("/proc/self/task"))
    print(f"rank {os.environ['RANK']}: {threads} threads after destroy_process_group", flush=True)
