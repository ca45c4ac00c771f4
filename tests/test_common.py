"""The shared snippet helpers behave as the pages say."""

from __future__ import annotations

import pytest
import torch
from threadpoolctl import threadpool_info

from snippets.common import default_seed, one_thread, seed_everything


def test_one_thread_limits_and_restores_the_thread_counts() -> None:
    before = torch.get_num_threads()
    with one_thread():
        assert torch.get_num_threads() == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    assert torch.get_num_threads() == before


def test_seed_everything_makes_torch_repeatable() -> None:
    seed_everything(3)
    first = torch.rand(4)
    seed_everything(3)
    assert torch.equal(first, torch.rand(4))


@pytest.mark.parametrize("raw", ["abc", "-1", str(2**32)])
def test_a_bad_seed_variable_is_a_clear_error(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNIPPETS_SEED", raw)
    with pytest.raises(SystemExit, match="SNIPPETS_SEED"):
        default_seed()
