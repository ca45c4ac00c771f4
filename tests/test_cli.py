"""Every runnable snippet answers bad arguments with a message, never a traceback."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import snippets


def runnable_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(snippets.__path__, prefix="snippets."):
        if info.ispkg:
            continue
        module = importlib.import_module(info.name)
        if callable(getattr(module, "main", None)):
            names.append(info.name)
    return names


def run_main(module: ModuleType, argv: list[str]) -> int:
    try:
        return module.main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)


@pytest.mark.parametrize("name", runnable_modules())
def test_unknown_option_is_a_usage_error(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_main(importlib.import_module(name), ["--no-such-option"])
    err = capsys.readouterr().err
    assert code == 2
    assert "usage:" in err and "--no-such-option" in err


@pytest.mark.parametrize("name", runnable_modules())
def test_bad_values_are_usage_errors(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = importlib.import_module(name)
    capsys.readouterr()
    run_main(module, ["--help"])
    usage = capsys.readouterr().out
    for option in ("--seed", "--epochs", "--lr", "--steps", "--trials", "--samples"):
        if option in usage:
            for bad in ("-1", "abc"):
                assert run_main(module, [option, bad]) == 2, f"{name} {option} {bad} was accepted"
                err = capsys.readouterr().err
                assert option in err and "Traceback" not in err


def test_bad_seed_variable_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from snippets.common import default_seed

    monkeypatch.setenv("SNIPPETS_SEED", "not-a-number")
    with pytest.raises(SystemExit, match="SNIPPETS_SEED must be a whole number"):
        default_seed()
