"""Record what each snippet prints, so pages show real output.

A page shows ``snippets/<section>/<topic>.out.txt`` next to the code. This module
regenerates those files by running ``python -m snippets.<section>.<topic>`` with the
default seed; ``tests/test_outputs.py`` checks they still match what the code prints.

A variant ``<topic>.<variant>.out.txt`` records the same module run with the arguments
``VARIANTS[variant]``: ``summary.zh.out.txt`` is ``python -m snippets.summary --language zh``,
the output a Chinese page shows.

    python -m tools.outputs                 # refresh every recorded output
    python -m tools.outputs snippets.neural_networks.perceptron   # add or refresh one
    python -m tools.outputs snippets.summary:zh                   # one variant
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import snippets
from snippets.common import DEFAULT_SEED, SEED_VARIABLE
from tools.paths import ROOT

PACKAGE_DIR = Path(snippets.__file__).resolve().parent


VARIANTS: dict[str, list[str]] = {"zh": ["--language", "zh"]}
"""Recorded variants: the file-name infix and the command-line arguments it stands for."""


def output_path(module: str, variant: str | None = None) -> Path:
    """``snippets.a.b`` -> ``snippets/a/b.out.txt``; with variant ``zh``: ``snippets/a/b.zh.out.txt``."""
    infix = f".{variant}" if variant else ""
    return ROOT.joinpath(*module.split(".")).with_suffix(f"{infix}.out.txt")


def recorded_outputs() -> list[tuple[str, str | None]]:
    """Every recorded output file as ``(module, variant)``; variant is None for the plain run."""
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.out.txt")):
        parts = list(path.relative_to(ROOT).parts)
        stem, *infixes = parts[-1].removesuffix(".out.txt").split(".")
        parts[-1] = stem
        variant = infixes[0] if infixes else None
        if len(infixes) > 1 or (variant is not None and variant not in VARIANTS):
            raise ValueError(f"{path.name}: unknown output variant (known: {sorted(VARIANTS)})")
        found.append((".".join(parts), variant))
    return found


def recorded_modules() -> list[str]:
    """Every module that has a recorded output file (plain or variant), each once."""
    return sorted({module for module, _ in recorded_outputs()})


def arguments(variant: str | None) -> list[str]:
    """The command-line arguments a variant's output is recorded with."""
    return list(VARIANTS[variant]) if variant else []


def capture(module: str, args: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a snippet module as a reader would, with the default seed."""
    env = {**os.environ, SEED_VARIABLE: str(DEFAULT_SEED)}
    return subprocess.run(
        [sys.executable, "-m", module, *(args or [])],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Refresh the recorded output of snippet modules.")
    parser.add_argument(
        "modules", nargs="*", help="modules to record, module:variant for a variant (default: all recorded)"
    )
    args = parser.parse_args(argv)
    wanted = [(name, variant or None) for name, _, variant in (item.partition(":") for item in args.modules)]
    for module, variant in wanted or recorded_outputs():
        if (
            not module.startswith("snippets.")
            or not ROOT.joinpath(*module.split(".")).with_suffix(".py").exists()
        ):
            parser.error(f"no such snippet module: {module}")
        if variant is not None and variant not in VARIANTS:
            parser.error(f"no such output variant: {variant} (known: {sorted(VARIANTS)})")
        result = capture(module, arguments(variant))
        if result.returncode != 0:
            print(result.stderr, file=sys.stderr)
            parser.error(f"{module} exited with {result.returncode}")
        output_path(module, variant).write_text(result.stdout, encoding="utf-8")
        print(output_path(module, variant).relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
