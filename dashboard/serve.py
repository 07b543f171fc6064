"""The server process of ``aftersales dashboard``: Streamlit's own ``streamlit run`` command line
(``python -m dashboard.serve run dashboard/app.py …``), preceded by what would otherwise fall
on the first page a manager opens after a start.

- The imports a page run needs (the pages, metrics, plotly, pandas for tables, scipy.stats for
  t intervals): about 2 s on a quiet machine, paid once per process. Streamlit imports the app's
  modules on its first script run, i.e. inside the first page view; here they are imported
  before the server accepts a session.
- With ``--warm`` after the script's ``--``: the cache warmer (``dashboard.warm``) starts as soon
  as Streamlit's runtime exists, instead of on the first visit.
"""

from __future__ import annotations

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


def _first_figure() -> None:
    # plotly builds its validators on first use (a few hundred ms for the first figure of a
    # process); one small figure of each trace type the pages draw pays that here.
    import plotly.graph_objects as go
    import plotly.io as pio
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2)
    fig.add_trace(go.Scatter(x=[1, 2], y=[1, 2], mode="lines+markers"), row=1, col=1)
    fig.add_trace(go.Bar(x=[1, 2], y=[1, 2]), row=1, col=2)
    fig.add_trace(go.Heatmap(z=[[1, 2]]))
    fig.update_layout(height=200)
    pio.to_json(fig, validate=False)


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
    script_args = argv[argv.index("--") + 1:] if "--" in argv else []
    if "--warm" in script_args:
        threading.Thread(target=_warm_when_running, name="dashboard-warm-starter", daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", *argv]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
