"""Running the report's metrics calls side by side.

A report makes a dozen independent calls into ``metrics`` (the period, the trend, each
breakdown, each ranking, the breach and complaint records). DuckDB releases the GIL while a
query runs and a single query does not keep both cores busy, so they run on a small thread pool,
each on its own cursor of one read-only connection. Results are collected in a fixed order, so
the report does not depend on which call finishes first.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import duckdb

T = TypeVar("T")


def default_workers() -> int:
    env = os.environ.get("AFTERSALES_REPORT_WORKERS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(2, os.cpu_count() or 1))


class Fetcher:
    def __init__(self, con: duckdb.DuckDBPyConnection, workers: int | None = None) -> None:
        self.con = con
        self.pool = ThreadPoolExecutor(max_workers=workers or default_workers(), thread_name_prefix="report")

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """``fn(cursor, *args, **kwargs)`` on its own cursor."""
        def task() -> T:
            cur = self.con.cursor()
            try:
                return fn(cur, *args, **kwargs)
            finally:
                cur.close()

        return self.pool.submit(task)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
