"""Plotly figures for the report. They are embedded in the HTML with plotly.js inlined once
(``html.py``), so they render offline, and Chromium prints them into the PDF.

Figures take plain frames from ``content``; they add no numbers of their own.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from metrics import registry as R
from reports import i18n
from reports.table import Chart

FONT = "Noto Sans CJK SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, sans-serif"
BLUE, GREY, RED, GREEN = "#1f5fa8", "#8a8f98", "#c0392b", "#2e8b57"
_spent = [0.0]


def elapsed() -> float:
    """Seconds spent building figures so far in this process (the benchmark splits time by it)."""
    return _spent[0]


def _timed(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _spent[0] += time.perf_counter() - t
    return wrapper


def _d3(fmt: str) -> str:
    """A registry format as a d3 format for plotly axes (",d" has no d3 equivalent with decimals)."""
    return ",.0f" if fmt in (",d", "d") else fmt


def _layout(fig: go.Figure, height: int, title: str | None = None) -> go.Figure:
    fig.update_layout(template="plotly_white", height=height, font={"family": FONT, "size": 12},
                      margin={"l": 56, "r": 16, "t": 56 if title else 32, "b": 40}, showlegend=False,
                      title={"text": title, "x": 0, "font": {"size": 14}} if title else None,
                      hoverlabel={"font": {"family": FONT}})
    return fig


@_timed
def trends(trend: pl.DataFrame, kpis: Sequence[str], grain: str, lang: str, config: dict) -> Chart | None:
    """Small multiples: one line per KPI over the trend periods, a year earlier dotted, the target dashed."""
    from reports.content import period_label  # the same labels as the trend table

    if not kpis:
        return None
    cols = 2
    nrows = math.ceil(len(kpis) / cols)
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=[R.KPIS[k].label(lang) for k in kpis],
                        vertical_spacing=0.34 / nrows + 0.02, horizontal_spacing=0.1)
    for i, kid in enumerate(kpis):
        k = R.KPIS[kid]
        part = trend.filter(pl.col("kpi") == kid).sort("period_start")
        x = [period_label(d, grain) for d in part["period_start"].to_list()]
        y = part["value"].to_list()
        r, c = i // cols + 1, i % cols + 1
        ly = part["yoy_value"].to_list() if "yoy_value" in part.columns else []
        if any(v is not None for v in ly):
            fig.add_trace(go.Scatter(x=x, y=ly, mode="lines", line={"color": GREY, "width": 1.5, "dash": "dot"},
                                     name=i18n.t("yoy_value", lang), connectgaps=False,
                                     hovertemplate=f"{i18n.t('yoy_value', lang)} %{{x}}: %{{y:{_d3(k.fmt)}}}<extra></extra>"),
                          row=r, col=c)
        # provisional values (not yet final): a dashed line to hollow diamonds, apart from the final ones
        pending = [s == "provisional" for s in part["status"].to_list()] if "status" in part.columns else [False] * len(y)
        fig.add_trace(go.Scatter(x=x, y=[None if p else v for v, p in zip(y, pending, strict=True)],
                                 mode="lines+markers", line={"color": BLUE, "width": 2},
                                 marker={"size": 5}, name=k.label(lang), connectgaps=False,
                                 hovertemplate=f"%{{x}}: %{{y:{_d3(k.fmt)}}}<extra></extra>"), row=r, col=c)
        if any(pending):
            first = pending.index(True)
            idx = ([first - 1] if first > 0 and not pending[first - 1] else []) + [j for j, p in enumerate(pending) if p]
            word = i18n.t("provisional", lang)
            fig.add_trace(go.Scatter(x=[x[j] for j in idx], y=[y[j] for j in idx], mode="lines+markers",
                                     line={"color": BLUE, "width": 2, "dash": "dash"}, connectgaps=False,
                                     marker={"size": [8 if pending[j] else 0 for j in idx], "symbol": "diamond-open",
                                             "color": BLUE},
                                     name=word, hovertemplate=f"%{{x}}: %{{y:{_d3(k.fmt)}}} ({word})<extra></extra>"),
                          row=r, col=c)
        target = R.target_for(k, config)
        if target is not None and x:
            fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[target, target], mode="lines", hoverinfo="skip",
                                     line={"color": RED, "width": 1, "dash": "dash"}), row=r, col=c)
        fig.update_yaxes(tickformat=_d3(k.fmt), row=r, col=c)
        fig.update_xaxes(type="category", tickangle=-45 if len(x) > 8 else 0, tickfont={"size": 9}, row=r, col=c)
    fig.update_annotations(font={"size": 12, "family": FONT})
    return Chart("chart-trends", i18n.t("sec_trends", lang), _layout(fig, 195 * nrows), height=195 * nrows)


@_timed
def bars(chart_id: str, title: str, labels: Sequence[str], values: Sequence[float | None], fmt: str,
         horizontal: bool = True) -> Chart | None:
    """One bar per label (complaint reasons, backlog age buckets)."""
    if not labels:
        return None
    d3 = _d3(fmt)
    if horizontal:
        trace = go.Bar(x=list(values)[::-1], y=list(labels)[::-1], orientation="h", marker={"color": BLUE},
                       texttemplate=f"%{{x:{d3}}}", textposition="outside", cliponaxis=False,
                       hovertemplate=f"%{{y}}: %{{x:{d3}}}<extra></extra>")
    else:
        trace = go.Bar(x=list(labels), y=list(values), marker={"color": BLUE}, texttemplate=f"%{{y:{d3}}}",
                       textposition="outside", cliponaxis=False, hovertemplate=f"%{{x}}: %{{y:{d3}}}<extra></extra>")
    height = max(200, 30 * len(labels) + 60) if horizontal else 260
    fig = _layout(go.Figure(trace), height)  # the title is the heading above the chart
    fig.update_xaxes(type="category") if not horizontal else fig.update_yaxes(type="category")
    return Chart(chart_id, title, fig, height=height)


@_timed
def needed_vs_available(chart_id: str, title: str, labels: Sequence[str], needed: Sequence[float | None],
                        available: Sequence[float | None], lang: str) -> Chart | None:
    """Grouped bars: technicians needed (forecast) and available, per label (region or week)."""
    if not labels:
        return None
    fig = go.Figure([
        go.Bar(name="需要" if lang == "zh" else "Needed", x=list(labels), y=list(needed), marker={"color": BLUE}),
        go.Bar(name="现有" if lang == "zh" else "Available", x=list(labels), y=list(available), marker={"color": GREY}),
    ])
    _layout(fig, 320).update_layout(barmode="group", showlegend=True,
                                           legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right"})
    fig.update_xaxes(type="category")
    return Chart(chart_id, title, fig, height=320)
