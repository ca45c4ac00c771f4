"""Record what each snippet prints, so pages show real output.

A page shows ``snippets/<section>/<topic>.out.txt`` next to the code. This module
regenerates those files by running ``python -m snippets.<section>.<topic>`` with the
default seed; ``tests/test_outputs.py`` checks they still match what the code prints.

    python -m snippets.outputs                 # refresh every recorded output
    python -m snippets.outputs snippets.neural_networks.perceptron   # add or refresh one
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from snippets.common import DEFAULT_SEED, SEED_VARIABLE

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parent


def output_path(module: str) -> Path:
    """``snippets.a.b`` -> ``snippets/a/b.out.txt``."""
    return ROOT.joinpath(*module.split(".")).with_suffix(".out.txt")


def recorded_modules() -> list[str]:
    """Every module that has a recorded output file."""
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.out.txt")):
        relative = path.relative_to(ROOT).with_suffix("").with_suffix("")
        found.append(".".join(relative.parts))
    return found


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
    parser.add_argument("modules", nargs="*", help="modules to record (default: every recorded one)")
    args = parser.parse_args(argv)
    for module in args.modules or recorded_modules():
        if (
            not module.startswith("snippets.")
            or not ROOT.joinpath(*module.split(".")).with_suffix(".py").exists()
        ):
            parser.error(f"no such snippet module: {module}")
        result = capture(module)
        if result.returncode != 0:
            print(result.stderr, file=sys.stderr)
            parser.error(f"{module} exited with {result.returncode}")
        output_path(module).write_text(result.stdout, encoding="utf-8")
        print(output_path(module).relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
