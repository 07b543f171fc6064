"""Plotly figures built from ``metrics`` result frames. Every point says on hover how many
records it rests on and its 95% interval; values below the KPI's minimum sample are drawn
hollow and say so; provisional values (not yet final) hang on a dashed line as hollow diamonds
and say when they become final. ``customdata`` carries (kpi, period_start, breakdown, value) so a click can
drill down to the records behind the point."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from dashboard import i18n as T
from metrics import registry as R

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]
# Shares on an axis: one decimal where the ticks need it (3.5%), none where they do not (85%);
# ".0%" would label ticks half a point apart 4%, 4%, 5%, 5%.
SHARE_TICKS = ".1~%"
STATUS_COLOURS = {"met": "#2ca02c", "missed": "#d62728", "too_small": "#9e9e9e", "no_target": "#1f77b4",
                  "no_data": "#cccccc", "provisional": "#ff7f0e"}


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    return f"rgba({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)}, {alpha})"


def hover_lines(kpi: R.KpiDef, row: dict, lang: str, head: str) -> str:
    """The hover text of one value: what, value, records, interval, small-sample flag."""
    lines = [f"<b>{head}</b>", f"{kpi.label(lang)}: {T.kpi_value(kpi, row.get('value'), lang)}",
             f"{T.t('hover_n', lang)}: {T.number(row.get('n_records'), lang)}"]
    if not T.is_missing(row.get("ci_low")):
        lines.append(f"{T.t('hover_ci', lang)}: {T.kpi_value(kpi, row['ci_low'], lang)} – "
                     f"{T.kpi_value(kpi, row['ci_high'], lang)}")
    if row.get("small_sample"):
        lines.append(f"<i>{T.t('small_sample', lang)} (&lt; {kpi.min_sample})</i>")
    if row.get("status") == "provisional":
        lines.append(f"<i>{T.status_label('provisional', lang, row.get('final_on'))}</i>")
    return "<br>".join(lines)


def _series(fig: go.Figure, df: pl.DataFrame, kpi: R.KpiDef, lang: str, grain: str | None, colour: str, name: str,
            dim: str = "", dim_value: str = "", row: int | None = None, col: int | None = None,
            showlegend: bool = True) -> None:
    df = df.sort("period_start")
    x = df["period_start"].to_list()
    rows = df.to_dicts()
    pos = {"row": row, "col": col} if row is not None else {}
    if kpi.kind not in ("count", "sum") and df["ci_low"].is_not_null().any():
        fig.add_trace(go.Scatter(x=x + x[::-1], y=df["ci_high"].to_list() + df["ci_low"].to_list()[::-1],
                                 fill="toself", fillcolor=_rgba(colour, 0.15), line={"width": 0},
                                 hoverinfo="skip", showlegend=False, legendgroup=name), **pos)
    small = [bool(r.get("small_sample")) for r in rows]
    # Provisional values (not yet final, metrics.maturity) are drawn apart: a dashed line to hollow
    # diamonds, so the month whose repeat repairs are still to come does not read as a final drop.
    pending = [r.get("status") == "provisional" for r in rows]
    values = df["value"].to_list()
    text = [hover_lines(kpi, r, lang, T.period(r["period_start"], grain, lang)) for r in rows]
    custom = [[kpi.id, r["period_start"].isoformat(), dim, dim_value] for r in rows]
    fig.add_trace(go.Scatter(
        x=x, y=[None if p else v for v, p in zip(values, pending, strict=True)], mode="lines+markers", name=name,
        legendgroup=name, showlegend=showlegend, line={"color": colour, "width": 2},
        marker={"size": [9 if s else 6 for s in small], "color": ["white" if s else colour for s in small],
                "line": {"color": colour, "width": 2}},
        text=text, hovertemplate="%{text}<extra></extra>", customdata=custom), **pos)
    if any(pending):
        first = pending.index(True)
        idx = ([first - 1] if first > 0 and not pending[first - 1] else []) + [i for i, p in enumerate(pending) if p]
        fig.add_trace(go.Scatter(
            x=[x[i] for i in idx], y=[values[i] for i in idx], mode="lines+markers", name=name, legendgroup=name,
            showlegend=False, line={"color": colour, "width": 2, "dash": "dash"},
            marker={"size": [9 if pending[i] else 0 for i in idx], "symbol": "diamond-open",
                    "color": colour, "line": {"color": colour, "width": 2}},
            text=[text[i] for i in idx], hovertemplate="%{text}<extra></extra>",
            customdata=[custom[i] for i in idx]), **pos)
    if kpi.target is not None and df["target"].is_not_null().any():
        target = df["target"].drop_nulls()[0]
        fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[target, target], mode="lines", hoverinfo="skip",
                                 line={"color": "#888", "dash": "dot", "width": 1}, showlegend=False), **pos)


def _axis_format(fig: go.Figure, kpi: R.KpiDef, lang: str, grain: str | None, **sel) -> None:
    if kpi.unit == "share":
        fig.update_yaxes(tickformat=SHARE_TICKS, **sel)
    elif kpi.unit == "yuan":  # an amount's axis says 元 (a bare 400 could be anything)
        fig.update_yaxes(**yuan_axis(lang), **sel)
    elif kpi.unit == "hours":
        fig.update_yaxes(ticksuffix=" 小时" if lang == "zh" else " h", **sel)
    fig.update_xaxes(tickformat=T.plotly_date_format(grain, lang), **sel)


def yuan_axis(lang: str) -> dict:
    """Tick settings of an amount axis: thousands separators, 元 (yuan in English)."""
    return {"tickformat": ",.0f", "ticksuffix": " 元" if lang == "zh" else " yuan"}


def _layout(fig: go.Figure, height: int, legend: bool = True) -> go.Figure:
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}, hovermode="closest",
                      showlegend=legend, legend={"orientation": "h", "y": -0.15},
                      clickmode="event+select")
    return fig


def trend(df: pl.DataFrame, kpi_id: str, lang: str, grain: str | None, by: str | None = None,
          label=None, height: int = 320, title: str | None = None) -> go.Figure:
    """One KPI over time (one line per breakdown value with ``by``), with its interval band."""
    k = R.KPIS[kpi_id]
    fig = go.Figure()
    part = df.filter(pl.col("kpi") == kpi_id)
    if by:
        for i, ((value,), sub) in enumerate(part.group_by(by, maintain_order=True)):
            name = label(value) if label else str(value)
            _series(fig, sub, k, lang, grain, PALETTE[i % len(PALETTE)], name, by, "" if value is None else str(value))
    else:
        _series(fig, part, k, lang, grain, PALETTE[0], k.label(lang))
    _axis_format(fig, k, lang, grain)
    fig.update_layout(title={"text": title or k.label(lang), "font": {"size": 15}})
    return _layout(fig, height, legend=bool(by))


def small_multiples(df: pl.DataFrame, kpi_ids: Sequence[str], lang: str, grain: str | None, cols: int = 3,
                    row_height: int = 210) -> go.Figure:
    """The trend of each KPI, one small chart each."""
    rows = (len(kpi_ids) + cols - 1) // cols
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[R.KPIS[k].label(lang) for k in kpi_ids],
                        vertical_spacing=0.12 if rows > 1 else 0.1, horizontal_spacing=0.07)
    for i, kpi_id in enumerate(kpi_ids):
        r, c = i // cols + 1, i % cols + 1
        part = df.filter(pl.col("kpi") == kpi_id)
        if part.is_empty():
            continue
        k = R.KPIS[kpi_id]
        _series(fig, part, k, lang, grain, PALETTE[i % len(PALETTE)], k.label(lang), row=r, col=c, showlegend=False)
        _axis_format(fig, k, lang, grain, row=r, col=c)
    fig.update_annotations(font_size=13)
    # a few level tick labels: tilted ones ran into the titles of the charts below
    fig.update_xaxes(tickangle=0, nticks=4)
    return _layout(fig, rows * row_height + 40, legend=False)


def bars(df: pl.DataFrame, kpi_id: str, dim: str, lang: str, label, height: int | None = None,
         title: str | None = None, period: dt.date | None = None) -> go.Figure:
    """A KPI per breakdown value (horizontal bars with interval whiskers), best at the top."""
    k = R.KPIS[kpi_id]
    part = df.filter(pl.col("kpi") == kpi_id).drop_nulls("value")
    # best first: highest first unless lower is better (counts: largest first)
    part = part.sort("value", descending=k.higher_is_better is not False, nulls_last=True)
    rows = part.to_dicts()
    names = [label(r[dim]) for r in rows]
    colours = [STATUS_COLOURS.get(r.get("status") or "", "#1f77b4") for r in rows]
    err = None
    if k.kind not in ("count", "sum") and part["ci_low"].is_not_null().any():
        err = {"type": "data", "symmetric": False, "color": "#555",
               "array": [(r["ci_high"] - r["value"]) if r["ci_high"] is not None else 0 for r in rows],
               "arrayminus": [(r["value"] - r["ci_low"]) if r["ci_low"] is not None else 0 for r in rows]}
    fig = go.Figure(go.Bar(
        y=names, x=part["value"].to_list(), orientation="h", error_x=err,
        marker={"color": colours, "pattern": {"shape": ["/" if r.get("small_sample") else "" for r in rows]}},
        text=[hover_lines(k, r, lang, n) for r, n in zip(rows, names, strict=True)],
        hovertemplate="%{text}<extra></extra>", textposition="none",
        customdata=[[kpi_id, (period or r["period_start"]).isoformat() if r.get("period_start") else "", dim,
                     "" if r[dim] is None else str(r[dim])] for r in rows]))
    if k.unit == "share":
        fig.update_xaxes(tickformat=SHARE_TICKS)
    elif k.unit == "yuan":
        fig.update_xaxes(**yuan_axis(lang))
    if k.target is not None and part["target"].is_not_null().any():
        fig.add_vline(x=part["target"].drop_nulls()[0], line_dash="dot", line_color="#888")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title={"text": title or k.label(lang), "font": {"size": 15}})
    return _layout(fig, height or max(220, 28 * len(rows) + 80), legend=False)


def ranked(df: pl.DataFrame, kpi_id: str, level: str, lang: str, label, limit: int = 30,
           title: str | None = None) -> go.Figure:
    """Units ranked on a KPI (``metrics.rank``): worst ``limit`` shown, value dot and interval."""
    k = R.KPIS[kpi_id]
    part = df.drop_nulls("rank").sort("rank", descending=True).head(limit)
    rows = part.to_dicts()
    names = [label(r[level]) for r in rows]
    fig = go.Figure(go.Scatter(
        x=part["value"].to_list(), y=names, mode="markers",
        marker={"size": 9, "color": ["white" if r["small_sample"] else STATUS_COLOURS.get(r["status"], "#1f77b4")
                                     for r in rows], "line": {"color": "#333", "width": 1}},
        error_x={"type": "data", "symmetric": False, "color": "#999",
                 "array": [(r["ci_high"] - r["value"]) if r["ci_high"] is not None and r["value"] is not None else 0
                           for r in rows],
                 "arrayminus": [(r["value"] - r["ci_low"]) if r["ci_low"] is not None and r["value"] is not None
                                else 0 for r in rows]},
        text=[hover_lines(k, r, lang, f"#{r['rank']} {n}") for r, n in zip(rows, names, strict=True)],
        hovertemplate="%{text}<extra></extra>",
        customdata=[[kpi_id, "", level, str(r[level])] for r in rows]))
    if k.unit == "share":
        fig.update_xaxes(tickformat=SHARE_TICKS)
    if part["target"].is_not_null().any():
        fig.add_vline(x=part["target"].drop_nulls()[0], line_dash="dot", line_color="#888")
    fig.update_layout(title={"text": title or k.label(lang), "font": {"size": 15}})
    return _layout(fig, max(260, 22 * len(rows) + 90), legend=False)


def histogram(df: pl.DataFrame, lang: str, title: str, colours: Sequence[str] | None = None,
              kpi_id: str = "", height: int = 300, dim: str = "", codes: Sequence | None = None,
              extra: Sequence[str] | None = None) -> go.Figure:
    """Counts per bucket (``metrics.distribution``), share on hover. With ``dim`` and ``codes``
    (one per bar) a click drills down to the records of that breakdown value."""
    rows = [{**r, "bucket": T.bucket_label(r["bucket"], lang)} for r in df.to_dicts()]
    fig = go.Figure(go.Bar(
        x=[r["bucket"] for r in rows], y=df["count"].to_list(),
        marker={"color": list(colours) if colours else PALETTE[0]},
        text=[f"<b>{r['bucket']}</b><br>{T.t('count', lang)}: {T.number(r['count'], lang)}<br>"
              f"{T.t('share', lang)}: {r['share']:.1%}" + (f"<br>{extra[i]}" if extra else "")
              for i, r in enumerate(rows)],
        hovertemplate="%{text}<extra></extra>", textposition="none",
        customdata=[[kpi_id, "", dim, "" if c is None else str(c)] for c in (codes or [None] * len(rows))]))
    fig.update_xaxes(type="category")
    fig.update_layout(title={"text": title, "font": {"size": 15}})
    return _layout(fig, height, legend=False)


def mark_events(fig: go.Figure, events: pl.DataFrame, lang: str) -> None:
    """Shade holidays and shopping-festival peaks, labelled; an event within three weeks of the
    one before has its label at the bottom so the two do not overprint (618 and Dragon Boat)."""
    previous_last, low = None, False
    for r in events.sort("first").to_dicts():
        festival = "peak" in r["name"]
        low = not low if previous_last is not None and (r["first"] - previous_last).days < 21 else False
        previous_last = r["last"]
        fig.add_vrect(x0=r["first"], x1=r["last"] + dt.timedelta(days=1), line_width=0, layer="below",
                      fillcolor="rgba(255,127,14,0.18)" if festival else "rgba(44,160,44,0.15)",
                      annotation_text=T.event_label(r["name"], lang),
                      annotation_position="bottom left" if low else "top left", annotation_font_size=10)


def forecast(actual: pl.DataFrame | None, fc: pl.DataFrame, lang: str, title: str,
             events: pl.DataFrame | None = None, height: int = 380) -> go.Figure:
    """Actuals, the forecast and its interval band (``ds``, ``yhat``, ``yhat_lower``, ``yhat_upper``)."""
    fig = go.Figure()
    fc = fc.sort("ds")
    x = fc["ds"].to_list()
    if "yhat_lower" in fc.columns and fc["yhat_lower"].is_not_null().any():
        fig.add_trace(go.Scatter(x=x + x[::-1], y=fc["yhat_upper"].to_list() + fc["yhat_lower"].to_list()[::-1],
                                 fill="toself", fillcolor=_rgba(PALETTE[1], 0.2), line={"width": 0},
                                 name=T.t("interval_80", lang), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=fc["yhat"].to_list(), mode="lines", name=T.t("forecast", lang),
                             line={"color": PALETTE[1], "width": 2},
                             customdata=[[lo, hi] for lo, hi in zip(fc["yhat_lower"].to_list() if "yhat_lower" in fc.columns else [None] * len(x),
                                                                   fc["yhat_upper"].to_list() if "yhat_upper" in fc.columns else [None] * len(x), strict=True)],
                             hovertemplate=("%{x}<br>" + T.t("forecast", lang) + ": %{y:,.0f}<br>"
                                            + T.t("interval_80", lang) + ": %{customdata[0]:,.0f} – %{customdata[1]:,.0f}"
                                            "<extra></extra>")))
    if actual is not None and not actual.is_empty():
        actual = actual.sort("ds")
        fig.add_trace(go.Scatter(x=actual["ds"].to_list(), y=actual["y"].to_list(), mode="lines+markers",
                                 marker={"size": 3},
                                 name=T.t("actual", lang), line={"color": PALETTE[0], "width": 1.5},
                                 hovertemplate="%{x}<br>" + T.t("actual", lang) + ": %{y:,.0f}<extra></extra>"))
    if events is not None:
        mark_events(fig, events, lang)
    fig.update_xaxes(tickformat=T.plotly_date_format("day", lang))
    fig.update_layout(title={"text": title, "font": {"size": 15}})
    return _layout(fig, height)
