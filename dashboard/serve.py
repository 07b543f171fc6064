"""The server process of ``aftersales dashboard``: Streamlit's own ``streamlit run`` command line
(``python -m dashboard.serve run dashboard/app.py …``), preceded by what would otherwise fall
on the first page a manager opens after a start (and, the garbage collector, on every one).

- The imports a page run needs (the pages, metrics, plotly, pandas for tables, scipy.stats for
  t intervals): about 2 s on a quiet machine, paid once per process. Streamlit imports the app's
  modules on its first script run, i.e. inside the first page view; here they are imported
  before the server accepts a session. Likewise plotly's first figure of each kind and
  Streamlit's once-per-process check of its first element (about 0.5 s more).
- The garbage collector's full pass after every script run, over the objects loaded by then
  (``gc.freeze``).
- With ``--warm`` after the script's ``--``: the cache warmer (``dashboard.warm``) starts as soon
  as Streamlit's runtime exists, instead of on the first visit.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import logging
import sys
import threading
import time

# Modules a page run imports, heaviest first (measured with ``python -X importtime``).
PRELOAD = ("scipy.stats", "pandas", "pyarrow", "plotly.graph_objects", "plotly.subplots", "plotly.io", "metrics",
           "dashboard.data", "dashboard.ui", "dashboard.charts", "dashboard.warm", "forecasts.store",
           "forecasts.calendar")
RUNTIME_WAIT_SECONDS = 120.0


def preload() -> None:
    # Streamlit checks each cached function's parameters when it is defined and, with no runtime
    # yet, warns that it checked them against a stand-in; the caches themselves are created on
    # first use, inside the runtime.
    import streamlit  # noqa: F401 - configures its loggers (their levels) on import

    checks = logging.getLogger("streamlit.runtime.caching.cache_data_api")
    level = checks.level
    checks.setLevel(logging.ERROR)
    try:
        for name in PRELOAD:
            importlib.import_module(name)
        from dashboard.views import PAGES

        for name, _, _ in PAGES:
            importlib.import_module(f"dashboard.views.{name}")
    finally:
        checks.setLevel(level)
    _first_figure()
    _first_element()
    _first_queries()


def _first_figure() -> None:
    # plotly builds its validators on first use (a few hundred ms for the first figure of a
    # process); one small figure of each trace type the pages draw pays that here.
    import plotly.graph_objects as go
    import plotly.io as pio
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=["a", "b"])
    fig.add_trace(go.Scatter(x=[1, 2], y=[1, 2], mode="lines+markers"), row=1, col=1)
    fig.add_trace(go.Bar(x=[1, 2], y=[1, 2], orientation="h"), row=1, col=2)
    fig.add_trace(go.Heatmap(z=[[1, 2]]))
    fig.add_vrect(x0=1, x1=2, annotation_text="a")
    fig.add_vline(x=1)
    fig.update_xaxes(tickformat="%Y", row=1, col=1)
    fig.update_yaxes(tickformat=".1%", row=1, col=1)
    fig.update_annotations(font_size=13)
    fig.update_layout(height=200)
    pio.to_json(fig, validate=False)


def _first_queries() -> None:
    # polars starts its thread pool and DuckDB its first instance on first use (together about
    # 0.3 s of the first page view); a tiny in-memory query of each does it here.
    import duckdb
    import polars as pl

    frame = pl.DataFrame({"k": ["a", "b", "a"], "v": [1.0, 2.0, 3.0]})
    frame.lazy().with_columns(w=pl.col("v") * 2).group_by("k").agg(pl.col("w").sum()).sort("k").collect()
    with duckdb.connect() as con:
        con.sql("SELECT 1 AS x").pl()


def _first_element() -> None:
    # Streamlit asks once per process, on the first element a script draws, whether it runs in
    # a REPL: an inspect.stack() that reads every loaded module's source file list (0.25 s on
    # the first page view). Asked here, inspect's module index is built before any session.
    from streamlit import env_util

    env_util.is_repl()


def _warm_when_running() -> None:
    from streamlit import runtime

    from dashboard import warm

    deadline = time.monotonic() + RUNTIME_WAIT_SECONDS
    while not runtime.exists():  # the warmer's caches must be the runtime's, not a stand-in
        if time.monotonic() > deadline:
            return  # the first visit starts it (dashboard.app)
        time.sleep(0.1)
    warm.start()


def main(argv: list[str]) -> int:
    preload()
    # Streamlit runs a full garbage collection after every script run (runner.postScriptGC), and
    # it holds the GIL while the finished page is being sent: with these modules loaded that was
    # 0.08-0.12 s on every page view and filter change. What is loaded by now lives as long as
    # the process, so it is moved out of the collector's sight (unfrozen at exit, so the final
    # collection still runs).
    gc.freeze()
    atexit.register(gc.unfreeze)
    script_args = argv[argv.index("--") + 1:] if "--" in argv else []
    if "--warm" in script_args:
        threading.Thread(target=_warm_when_running, name="dashboard-warm-starter", daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", *argv]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
