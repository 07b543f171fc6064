"""The one fan-out boundary: every per-series fit in this package goes through ``map_series``.

Callers only rely on its contract:

* ``fn`` is a module-level function taking one item and returning one picklable result;
* items and results are picklable and small (one series, one answer);
* results come back in the order of ``items``.

Locally it is a ``ProcessPoolExecutor`` (spawned, not forked: DuckDB and polars hold threads
that a fork would copy in a broken state) over chunks of items, with a tqdm progress bar on a
terminal. ``workers=1`` runs in-process, which is what tests and debuggers want.

Inside ``with using(backend):`` every map goes to that backend instead (the Dask cluster of
``forecasts/dask_backend.py``: ``--executor dask``), whatever ``workers`` says: the callers'
"too few series for a pool" thresholds weigh a process start, which a running cluster does not
pay. The per-series code, the chunks and the order of results are the same, and the results come
back to this process, the one that writes DuckDB.
"""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from tqdm import tqdm

T = TypeVar("T")
R = TypeVar("R")


class _BelowError(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


_QUIET = _BelowError()


def quiet() -> None:
    """Silence Prophet's and cmdstanpy's chatter in this process (idempotent). A filter rather
    than a level, because importing prophet sets its logger's level back to INFO."""
    for name in ("prophet", "prophet.plot", "prophet.models", "prophet.forecaster", "cmdstanpy"):
        logger = logging.getLogger(name)
        if _QUIET not in logger.filters:
            logger.addFilter(_QUIET)


def _init_worker() -> None:
    # One thread per process: the pool already uses every core.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                "POLARS_MAX_THREADS"):
        os.environ.setdefault(var, "1")
    quiet()


def _run_chunk(fn: Callable[[Any], Any], chunk: list[Any]) -> list[Any]:
    return [fn(item) for item in chunk]


def run_chunk_anywhere(fn: Callable[[Any], Any], chunk: list[Any]) -> list[Any]:
    """A chunk on a worker that did not start through ``_init_worker`` (a Dask worker)."""
    _init_worker()
    return _run_chunk(fn, chunk)


class Backend(Protocol):
    """Somewhere other than the local pool that runs chunks: ``run_chunk_anywhere(fn, chunk)``
    for every chunk, ``done(i)`` called as chunk ``i`` finishes, results in the chunks' order."""

    workers: int

    def map_chunks(self, fn: Callable[[Any], Any], chunks: list[list[Any]],
                   done: Callable[[int], None]) -> list[list[Any]]: ...


_backend: Backend | None = None


@contextmanager
def using(backend: Backend | None) -> Iterator[None]:
    """Send every ``map_series`` to ``backend`` (None: the local pool or this process)."""
    global _backend
    before, _backend = _backend, backend
    try:
        yield
    finally:
        _backend = before


def _chunks(items: list[T], chunk_size: int | None, workers: int) -> list[list[T]]:
    size = chunk_size or max(1, min(64, math.ceil(len(items) / (workers * 4))))
    return [items[i:i + size] for i in range(0, len(items), size)]


def map_series(fn: Callable[[T], R], items: Sequence[T], *, workers: int = 1, desc: str = "series",
               chunk_size: int | None = None, progress: bool | None = None) -> list[R]:
    """``[fn(item) for item in items]``, fanned out over ``workers`` processes.

    ``chunk_size`` items travel to a worker together (default: about four chunks per worker,
    at most 64 items). ``progress=None`` shows a bar only on a terminal.
    """
    items = list(items)
    if not items:
        return []
    bar = tqdm(total=len(items), desc=desc, unit="series", disable=None if progress is None else not progress,
               leave=False)
    try:
        if _backend is not None:  # a running cluster: even one chunk costs it milliseconds, not a process start
            chunks = _chunks(items, chunk_size, max(workers, _backend.workers))
            done = _backend.map_chunks(fn, chunks, lambda i: bar.update(len(chunks[i])))
            return [r for chunk in done for r in chunk]
        if workers <= 1 or len(items) == 1:
            quiet()
            out = []
            for item in items:
                out.append(fn(item))
                bar.update(1)
            return out
        chunks = _chunks(items, chunk_size, workers)
        results: list[list[R] | None] = [None] * len(chunks)
        with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=mp.get_context("spawn"),
                                 initializer=_init_worker) as pool:
            futures = {pool.submit(_run_chunk, fn, chunk): i for i, chunk in enumerate(chunks)}
            try:
                for fut in as_completed(futures):
                    i = futures[fut]
                    results[i] = fut.result()
                    bar.update(len(chunks[i]))
            except BaseException:  # a failure (or Ctrl-C) stops the queued work, not just this wait
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        return [r for chunk in results for r in chunk]  # type: ignore[union-attr]
    finally:
        bar.close()
