"""Figures of the Cost page: cost components stacked per period, and the whole-range split of
one breakdown. Built from ``metrics`` result frames like ``dashboard.charts``; a click carries
(kpi, period_start, breakdown, value) so the records behind a bar can be listed."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from dashboard import charts
from dashboard import i18n as T
from metrics import registry as R


def stacked(df: pl.DataFrame, kpi_ids: Sequence[str], lang: str, grain: str | None, title: str,
            height: int = 360) -> go.Figure:
    """Each period's amount of every component in ``kpi_ids``, stacked (they add up to the total)."""
    fig = go.Figure()
    for i, kpi_id in enumerate(kpi_ids):
        k = R.KPIS[kpi_id]
        part = df.filter(pl.col("kpi") == kpi_id).sort("period_start")
        if part.is_empty():
            continue
        rows = part.to_dicts()
        # a period not final yet (the current month) is drawn pale and hatched, as other charts hollow it
        pending = [r.get("status") == "provisional" for r in rows]
        fig.add_trace(go.Bar(
            x=part["period_start"].to_list(), y=part["value"].to_list(), name=k.label(lang),
            marker={"color": charts.PALETTE[i % len(charts.PALETTE)], "opacity": [0.45 if p else 1.0 for p in pending],
                    "pattern": {"shape": ["/" if p else "" for p in pending]}},
            text=[charts.hover_lines(k, r, lang, T.period(r["period_start"], grain, lang)) for r in rows],
            hovertemplate="%{text}<extra></extra>", textposition="none",
            customdata=[[kpi_id, r["period_start"].isoformat(), "", ""] for r in rows]))
    fig.update_layout(barmode="stack", title={"text": title, "font": {"size": 15}})
    fig.update_yaxes(**charts.yuan_axis(lang))
    fig.update_xaxes(tickformat=T.plotly_date_format(grain, lang))
    return charts._layout(fig, height)


def split(df: pl.DataFrame, kpi_ids: Sequence[str], dim: str, lang: str, label, title: str,
          limit: int = 25) -> go.Figure:
    """The components of each breakdown value as horizontal stacked bars, largest total first."""
    totals = (df.filter(pl.col("kpi").is_in(list(kpi_ids))).group_by(dim).agg(pl.col("value").sum().alias("_t"))
              .sort("_t", descending=True).head(limit))
    order = totals[dim].to_list()
    names = [label(v) for v in order]
    fig = go.Figure()
    for i, kpi_id in enumerate(kpi_ids):
        k = R.KPIS[kpi_id]
        part = {r[dim]: r for r in df.filter(pl.col("kpi") == kpi_id).to_dicts()}
        rows = [part.get(v) or {dim: v, "value": None} for v in order]
        fig.add_trace(go.Bar(
            y=names, x=[r.get("value") for r in rows], name=k.label(lang), orientation="h",
            marker={"color": charts.PALETTE[i % len(charts.PALETTE)]},
            text=[charts.hover_lines(k, r, lang, n) for r, n in zip(rows, names, strict=True)],
            hovertemplate="%{text}<extra></extra>", textposition="none",
            customdata=[[kpi_id, "", dim, "" if v is None else str(v)] for v in order]))
    fig.update_layout(barmode="stack", title={"text": title, "font": {"size": 15}})
    fig.update_xaxes(**charts.yuan_axis(lang))
    fig.update_yaxes(autorange="reversed")
    return charts._layout(fig, max(260, 28 * len(order) + 120))
