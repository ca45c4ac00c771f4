"""Normalization: a from-scratch function next to the library's.

Run ``python -m snippets.optimization.normalization --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:scratch]
import numpy as np


def mean(values: np.ndarray) -> float:
    """The sum of the values divided by how many there are."""
    total = 0.0
    for value in values:
        total += float(value)
    return total / len(values)


# --8<-- [end:scratch]


# --8<-- [start:library]
def library_mean(values: np.ndarray) -> float:
    """The same number from NumPy."""
    return float(np.mean(values))


# --8<-- [end:library]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402


def report(args: argparse.Namespace) -> None:
    """Compare the two on random values."""
    values = np.random.default_rng(args.seed).normal(size=args.samples)
    print(f"from scratch equals NumPy: {abs(mean(values) - library_mean(values)) < 1e-9}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.optimization.normalization",
        "Normalization: from scratch and with NumPy.",
    )
    parser.add_argument("--samples", type=positive_int, default=100, help="how many values (default: 100)")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
