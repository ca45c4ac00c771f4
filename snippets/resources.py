"""The libraries the resources page recommends, and the versions this site is tested with.

Run ``python -m snippets.resources`` to print them.
"""

from __future__ import annotations

import argparse

# --8<-- [start:versions]
from importlib.metadata import PackageNotFoundError, version

# Distribution names on PyPI of the libraries recommended on the resources page.
RECOMMENDED = [
    "torch",
    "keras",
    "scikit-learn",
    "numpy",
    "pandas",
    "matplotlib",
    "optuna",
    "gymnasium",
    "onnxruntime",
    "fastapi",
    "captum",
    "jieba",
]


def installed_versions(names: list[str]) -> dict[str, str | None]:
    """Map each distribution to its installed version, or None if it is missing."""
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = version(name).split("+")[0]  # drop local tags such as +cpu
        except PackageNotFoundError:
            found[name] = None
    return found


# --8<-- [end:versions]

from snippets.common import make_parser, run_cli  # noqa: E402


def report(args: argparse.Namespace) -> None:
    for name, installed in installed_versions(RECOMMENDED).items():
        print(f"{name:<14} {installed or 'not installed'}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("python -m snippets.resources", "Print the versions of the recommended libraries.")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
