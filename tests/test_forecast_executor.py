"""The fan-out boundary: order kept, errors surface, one process and a pool give the same answer."""

from __future__ import annotations

import pytest

from forecasts.executor import map_series


def square(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative: {x}")
    return x * x


def test_results_come_back_in_order_in_process_and_in_a_pool():
    items = list(range(23))
    assert map_series(square, items, workers=1) == [x * x for x in items]
    assert map_series(square, items, workers=2, chunk_size=3) == [x * x for x in items]
    assert map_series(square, [], workers=2) == []


def test_a_failing_item_fails_the_map():
    with pytest.raises(ValueError, match="negative: -1"):
        map_series(square, [1, 2, -1, 4], workers=2, chunk_size=1)
