"""Claims of docs/distributed/frameworks.md."""

from __future__ import annotations

import pytest

from snippets.distributed.frameworks import ring_bytes_per_process, run


@pytest.mark.parametrize("world", [2, 3])
def test_ring_all_reduce_matches_the_library(world: int) -> None:
    results = run(world)
    assert sorted(results) == list(range(world))
    for found in results.values():
        assert found["max_gap"] < 1e-5
        assert found["gathered"] == [float(rank) for rank in range(world)]
        assert found["broadcast"] == [0.0, 0.0, 0.0]


def test_ring_traffic_stays_below_twice_the_tensor() -> None:
    sizes = [ring_bytes_per_process(1.0, world) for world in range(2, 1025)]
    assert sizes == sorted(sizes) and all(size < 2.0 for size in sizes)
    assert ring_bytes_per_process(100, 2) == 100
