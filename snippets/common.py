"""Helpers shared by every snippet: seeding, device choice and the command line."""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from threadpoolctl import threadpool_limits

DEFAULT_SEED = 0
SEED_VARIABLE = "SNIPPETS_SEED"


def default_seed() -> int:
    """Return the seed from ``SNIPPETS_SEED`` or ``DEFAULT_SEED`` when it is unset."""
    raw = os.environ.get(SEED_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_SEED
    try:
        seed = int(raw)
    except ValueError:
        raise SystemExit(f"error: {SEED_VARIABLE} must be a whole number, got {raw!r}") from None
    if not 0 <= seed < 2**32:
        raise SystemExit(f"error: {SEED_VARIABLE} must be between 0 and 2**32 - 1, got {seed}")
    return seed


def seed_everything(seed: int | None = None) -> int:
    """Seed Python, NumPy and PyTorch; return the seed used."""
    seed = default_seed() if seed is None else seed
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return seed


@contextmanager
def one_thread() -> Iterator[None]:
    """Run PyTorch and NumPy's BLAS on one CPU thread, then restore the previous settings.

    Small models spend more time synchronising threads than computing: on a busy 2-core machine
    one thread is several times cheaper in CPU time. Large models should keep the defaults.
    """
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(torch_threads)


def pick_device() -> torch.device:
    """Use CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def positive_int(text: str) -> int:
    """argparse type: a whole number greater than zero."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number greater than 0, got {value}")
    return value


def number(text: str) -> float:
    """argparse building block: the number in ``text``, or a usage error."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def positive_float(text: str) -> float:
    """argparse type: a finite number greater than zero."""
    value = number(text)
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number greater than 0, got {text}")
    return value


def at_least_two(text: str) -> int:
    """argparse type: a sequence length of 2 or more."""
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected a length of at least 2, got {value}")
    return value


def seed_arg(text: str) -> int:
    """argparse type: a seed accepted by NumPy and PyTorch."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"expected 0 <= seed < 2**32, got {value}")
    return value


def make_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """An argument parser that already knows ``--seed``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "--seed",
        type=seed_arg,
        default=None,
        help=f"random seed (default: ${SEED_VARIABLE} or {DEFAULT_SEED})",
    )
    return parser


def run_cli(
    parser: argparse.ArgumentParser,
    report: Callable[[argparse.Namespace], None],
    argv: Sequence[str] | None = None,
) -> int:
    """Parse ``argv``, seed everything and call ``report``; bad input exits with a message."""
    args = parser.parse_args(argv)
    args.seed = seed_everything(args.seed)
    try:
        report(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
