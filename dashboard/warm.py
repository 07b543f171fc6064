"""Warm the caches with the default view of every page whenever a new database lands.

A background thread (one per server process, started with the server by ``dashboard.serve``)
polls the database file's identity every second; when a load or a forecast run has published a
new file it runs each page's ``prefetch`` (the queries of its default view: default date range,
monthly, no filters), so the first manager to open a page after a load finds it computed. It
only calls the cached functions of ``dashboard.data``, so what it computes is exactly what the
pages read.

Order: what every page shows on opening first (its cards and its first tab, page by page), then
the rest of every page's default view (the other tabs, record lists, rankings), then the
breakdowns by each coded filter. A page opened while its own reads are still being computed
waits for them (the cached functions hold a lock per key) instead of computing them again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
import sys
import threading
import time

from aftersales.principal import DataScope
from dashboard import data, state
from dashboard.views import PAGES
from metrics import registry as R

POLL_SECONDS = 1.0  # one stat() call
# After the default views, the breakdowns one-value filters on these are answered from (see
# dashboard.data; until the warmer has computed one, such a filter is answered with its own
# filtered query): choosing one region, channel, … is then a cache hit on every page's KPIs and
# distributions. Every coded global filter, most used first: each pass costs about as much as
# the default view (a breakdown by a coded dimension has a handful of rows per period).
FILTER_DIMS = data.DERIVE_ORDER
_LOG = logging.getLogger("dashboard.warm")
# ver -> seconds until what every page shows on opening was computed (the first stage)
FIRST_VIEWS_SECONDS: dict[str, float] = {}


def default_scope(ver: str) -> state.Scope | None:
    """The default view of the whole company: the warmer warms no user's scope (a regional
    manager's reads are computed on their first view, then cached under their scope)."""
    rng = data.data_range(ver)
    if rng is None:
        return None
    start, end = state.default_range(rng[1])
    return state.Scope(max(start, rng[0]), end, "month", (), data.settings().language, ver, rng[2], DataScope())


def warm(ver: str, filter_dims: tuple[str, ...] = FILTER_DIMS) -> float:
    """Run every page's prefetch for ``ver``: what each page shows on opening, then the rest of
    each default view, then the breakdowns by each of ``filter_dims``; returns the seconds it
    took."""
    t0 = time.perf_counter()
    scope = default_scope(ver)
    if scope is None:
        return 0.0
    for dim in ("outlet", "technician"):
        data.dimension_values(ver, DataScope(), dim)
    passes = [(scope, "first"), (scope, "rest")]
    for dim in filter_dims:  # any one value: the breakdown it is answered from is what gets cached
        code = next(iter(R.DIMENSIONS[dim].labels or {}), None)
        if code is not None:
            passes.append((dataclasses.replace(scope, where=((dim, (code,)),)), "aggregates"))
    for i, (sc, stage) in enumerate(passes):
        if i == 1:
            FIRST_VIEWS_SECONDS[ver] = time.perf_counter() - t0
        for name, _, _ in PAGES:
            module = importlib.import_module(f"dashboard.views.{name}")
            try:
                with data.computing_breakdowns() if stage == "aggregates" else contextlib.nullcontext():
                    module.prefetch(sc, stage)
            except Exception:  # noqa: BLE001 - a page that cannot warm is simply computed on first view
                _LOG.exception("warming %s failed", name)
    return time.perf_counter() - t0


def _loop() -> None:
    # Cached functions called outside a script run make Streamlit warn about a missing context
    # on every call; that is expected here.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)
    done = None
    while True:
        ver = data.version()
        if ver != done and ver != "missing":
            try:
                seconds = warm(ver)
                first = FIRST_VIEWS_SECONDS.get(ver)
                print(f"dashboard: warmed the default views of {data.settings().db.name} in {seconds:.1f} s"
                      + (f" (what every page shows on opening: {first:.1f} s)" if first is not None else ""),
                      file=sys.stderr, flush=True)
                done = ver
            except Exception:  # noqa: BLE001 - keep serving; try again on the next change
                _LOG.exception("warming failed")
                done = ver
        time.sleep(POLL_SECONDS)


_STARTED: list[threading.Thread] = []
_START_LOCK = threading.Lock()


def start() -> threading.Thread:
    """Start the warmer once per server process (``dashboard.serve`` at start; the app calls
    this on every run in case the server was started another way)."""
    with _START_LOCK:
        if not _STARTED:
            thread = threading.Thread(target=_loop, name="dashboard-cache-warmer", daemon=True)
            thread.start()
            _STARTED.append(thread)
        return _STARTED[0]
