"""Each page's own copy of the shared helpers behaves as ``snippets.common`` does.

A page's code must run outside this repository, so modules repeat small helpers (``pick_device``,
``one_thread``, ``seed_everything``) instead of importing ``snippets.common``. Every copy is
checked here, and ``tools/mutation.py`` adds these tests to the page's own claim tests.
"""

from __future__ import annotations

import importlib
import pkgutil
import random
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info

import snippets
from tools import manifest

TESTS = {
    "test_pick_device_is_cuda_exactly_when_cuda_is_available": "pick_device",
    "test_one_thread_limits_torch_and_blas_then_restores_torch": "one_thread",
    "test_seed_everything_repeats_python_numpy_and_torch": "seed_everything",
}
"""Each test and the helper it checks (tools/mutation.py adds them to a page's claim tests)."""


@cache
def modules_defining(name: str) -> list[str]:
    """Snippet modules that define ``name`` themselves (not the shared module, not an import)."""
    found = []
    for info in pkgutil.walk_packages(snippets.__path__, "snippets."):
        if info.ispkg or info.name == "snippets.common":
            continue
        if f"\ndef {name}(" in manifest.module_file(info.name).read_text(encoding="utf-8"):
            found.append(info.name)
    return found


def helper(module: str, name: str) -> Callable:
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("module", modules_defining("pick_device"))
def test_pick_device_is_cuda_exactly_when_cuda_is_available(
    module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pick_device = helper(module, "pick_device")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device() == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device() == torch.device("cpu")


@pytest.mark.parametrize("module", modules_defining("one_thread"))
def test_one_thread_limits_torch_and_blas_then_restores_torch(module: str) -> None:
    one_thread = helper(module, "one_thread")
    # Some pages limit PyTorch only (their docstring says so): those do not import threadpoolctl.
    limits_blas = hasattr(importlib.import_module(module), "threadpool_limits")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pytest.raises(KeyError), one_thread():
            assert torch.get_num_threads() == 1
            if limits_blas:
                assert all(pool["num_threads"] == 1 for pool in threadpool_info())
            raise KeyError("the block fails")
        assert torch.get_num_threads() == 2  # restored even when the block raised
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("module", modules_defining("seed_everything"))
def test_seed_everything_repeats_python_numpy_and_torch(module: str) -> None:
    seed_everything = helper(module, "seed_everything")

    def draws(seed: int) -> tuple[float, float, list[float]]:
        assert seed_everything(seed) == seed
        return random.random(), float(np.random.rand()), torch.rand(3).tolist()

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)
