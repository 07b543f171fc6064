"""The Complaints page's insight sections: reason × outlet / product matrices, the trend per
reason, handling time, repeat complainants and the themes of the complaint texts. Numbers come
through ``dashboard.data`` from ``metrics.complaints`` and the registry; each section drills down
to the complaint tickets it rests on."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import charts, data, ui
from dashboard import i18n as T
from dashboard.state import Scope
from metrics import registry as R
from metrics import text as themes_text

KPI = "complaint_rate"
HANDLING = ("complaint_handling_hours", "complaint_handling_median")
MATRIX_ROWS = ("outlet", "product_category", "product_model")
MATRIX_TOP = 30  # rows drawn in a heatmap; the table below has them all


def reason_label(code: str | None, lang: str) -> str:
    return T.t("no_reason", lang) if code is None else T.code_label("complaint_reason", code, lang)


def row_label(scope: Scope, dim: str, code: str | None) -> str:
    if code is None:
        return T.t("no_outlet", scope.lang) if dim == "outlet" else T.t("no_reason", scope.lang)
    return scope.label(dim, code)


def dim_name(dim: str, lang: str) -> str:
    d = R.DIMENSIONS[dim]
    return d.zh if lang == "zh" else d.en


PERCENT = {"rate": ".2%", "share": ".1%"}  # result columns shown as percentages


def readable(df: pl.DataFrame, lang: str) -> pl.DataFrame:
    """For display only: every column as text, empty cells as — (never None), rates as
    percentages, counts with thousands separators, times and lists written out; downloads keep
    the values."""
    out = []
    for c, dtype in df.schema.items():
        col = pl.col(c)
        if dtype.is_float():
            spec = PERCENT.get(c, ",.1f")
            expr = col.map_elements(lambda v, spec=spec: format(v, spec), return_dtype=pl.String)
        elif dtype.is_integer():
            expr = col.map_elements(lambda v: f"{v:,d}", return_dtype=pl.String)
        elif isinstance(dtype, pl.Datetime):
            expr = col.dt.strftime("%Y-%m-%d %H:%M")
        elif dtype == pl.Date:
            expr = col.dt.strftime("%Y-%m-%d")
        elif isinstance(dtype, pl.List):
            expr = col.list.eval(pl.element().cast(pl.String)).list.join("、" if lang == "zh" else ", ")
        elif dtype == pl.Boolean:
            expr = pl.when(col).then(pl.lit(T.t("yes", lang))).otherwise(pl.lit(T.t("no", lang)))
        else:
            expr = col.cast(pl.String)
        out.append(expr.fill_null("—").alias(c))
    return df.select(out)


def show_table(df: pl.DataFrame, scope: Scope, key: str, name: str, selectable: bool = False,
               height: int = 360) -> int | None:
    """A localised table: shown as readable text, downloaded with its values."""
    raw = ui.localize(df, scope.lang, scope)
    shown = ui.localize(readable(df, scope.lang), scope.lang, scope)
    return ui.table(raw, key=key, lang=scope.lang, name=name, selectable=selectable, height=height, display=shown)


def complaint_list(rec: pl.DataFrame, scope: Scope, key: str, name: str) -> None:
    """Complaint tickets, the reason and the text first (personal data already masked)."""
    if rec.is_empty():
        ui.empty("no_records", scope)
        return
    first = ["ticket_id", "created_at", "complaint_reason", "complaint_text", "theme", "outlet_id", "outlet",
             "product_model", "channel", "service_type", "status", "closed_at", "customer_id", "customer_name",
             "customer_phone"]
    cols = [c for c in first if c in rec.columns]
    shown = rec.select(cols)
    if "complaint_reason" in shown.columns:  # a complaint without a reason says so, in words
        shown = shown.with_columns(pl.col("complaint_reason").fill_null(T.t("no_reason", scope.lang)))
    if "theme" in shown.columns:
        shown = shown.with_columns(pl.col("theme").map_elements(lambda c: themes_text.theme_label(c, scope.lang),
                                                                return_dtype=pl.String))
    show_table(shown.head(ui.RECORD_LIMIT), scope, key=key, name=name)
    if len(shown) > ui.RECORD_LIMIT:
        st.caption(T.t("showing_first", scope.lang, n=T.number(ui.RECORD_LIMIT, scope.lang)))


def records_behind(scope: Scope, kpi_id: str, extra: dict[str, str], what: str, key: str,
                   period_start=None) -> None:
    """The records behind a cell or a point (``extra``: breakdown -> code, added to the filters),
    listed as ``complaint_list`` lists them."""
    where = dict(data.dict_where(scope.where))
    where.update({dim: [code] for dim, code in extra.items() if code})
    w = data.where_tuple(where)
    if data.unsupported_dims(kpi_id, w, (), scope.data_scope):
        ui.unsupported(kpi_id, scope)
        return
    only = "numerator" if kpi_id == KPI else None
    rec = data.records(scope.ver, scope.data_scope, kpi_id, scope.start, scope.end, w, period_start,
                       scope.grain if period_start else None, only, ui.RECORD_LIMIT)
    with st.expander(T.t("drill_for", scope.lang, what=what), expanded=True):
        complaint_list(rec, scope, key=f"{key}_list", name=f"records_{kpi_id}")


def drill_point(point: list | None, scope: Scope, key: str) -> None:
    """The records behind a clicked point (``ui.chart``'s customdata: kpi, period, breakdown,
    code), or the hint to click one."""
    import datetime as dt

    if not point or point[0] not in R.KPIS:
        st.caption(T.t("pick_to_drill", scope.lang))
        return
    kpi_id, period_iso, dim, code = (list(point) + ["", "", "", ""])[:4]
    period_start = dt.date.fromisoformat(period_iso) if period_iso else None
    bits = [R.KPIS[kpi_id].label(scope.lang)]
    if period_start:
        bits.append(T.period(period_start, scope.grain, scope.lang))
    if dim and code:
        bits.append(reason_label(code, scope.lang) if dim == "complaint_reason" else scope.label(dim, code))
    records_behind(scope, kpi_id, {dim: code} if dim in R.DIMENSIONS and code else {}, " · ".join(bits), key,
                   period_start)


# -- reason × outlet / product -----------------------------------------------------------------

def heatmap(df: pl.DataFrame, dim: str, scope: Scope, colour: str, title: str) -> go.Figure:
    lang = scope.lang
    reasons = sorted(df["complaint_reason"].unique().to_list(), key=lambda r: (r is None, r or ""))
    rows = df.group_by(dim).agg(pl.col("complaints").sum()).sort(["complaints", dim], descending=[True, False],
                                                                  nulls_last=True)
    keys = rows[dim].to_list()[:MATRIX_TOP]
    cells = {(r[dim], r["complaint_reason"]): r for r in df.to_dicts()}
    z, text, custom = [], [], []
    for k in keys:
        zr, tr, cr = [], [], []
        for reason in reasons:
            cell = cells.get((k, reason))
            n, rate = (cell["complaints"], cell["rate"]) if cell else (0, 0.0)
            zr.append(rate if colour == "rate" else n)
            tr.append(f"{T.number(n, lang)}<br>{rate:.2%}")
            cr.append([KPI if k is not None else "", "", dim, k or "", reason or ""])
        z.append(zr)
        text.append(tr)
        custom.append(cr)
    xs = [reason_label(r, lang) for r in reasons]
    ys = [row_label(scope, dim, k) for k in keys]
    fig = go.Figure(go.Heatmap(
        z=z, x=xs, y=ys, text=text, texttemplate="%{text}", customdata=custom, colorscale="Reds",
        hovertemplate="%{y} · %{x}<br>%{text}<extra></extra>", xgap=1, ygap=1,
        colorbar={"title": {"text": T.t("matrix_rate" if colour == "rate" else "matrix_count", lang)},
                  "tickformat": ".1%" if colour == "rate" else ",d"}))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="top")
    fig.update_layout(title={"text": title, "font": {"size": 15}}, height=max(320, 28 * len(keys) + 140),
                      margin={"l": 10, "r": 10, "t": 90, "b": 10})
    return fig


def matrix_section(scope: Scope) -> None:
    lang = scope.lang
    c1, c2 = st.columns(2)
    dim = c1.segmented_control(T.t("matrix_rows", lang), MATRIX_ROWS, default=MATRIX_ROWS[0],
                               format_func=lambda d: dim_name(d, lang), key="cp_matrix_rows") or MATRIX_ROWS[0]
    colour = c2.segmented_control(T.t("matrix_colour", lang), ("rate", "count"), default="rate",
                                  format_func=lambda c: T.t(f"matrix_{c}", lang), key="cp_matrix_colour") or "rate"
    df = data.complaint_matrix(scope.ver, scope.data_scope, dim, scope.start, scope.end, scope.where)
    if df.is_empty():
        ui.empty("empty_filter", scope)
        return
    name = dim_name(dim, lang)
    st.caption(T.t("matrix_help", lang, dim=name))
    total = df[dim].n_unique()
    if total > MATRIX_TOP:
        st.caption(T.t("matrix_top", lang, n=MATRIX_TOP, total=total))
    point = ui.chart(heatmap(df, dim, scope, colour, T.t("matrix_title", lang, dim=name)), key=f"cp_matrix_{dim}")
    table = df.with_columns(pl.col("complaint_reason").fill_null(T.t("no_reason", lang)))
    if dim == "outlet":
        table = table.with_columns(pl.col("outlet").fill_null(T.t("no_outlet", lang)))
    show_table(table, scope, key=f"cp_matrix_table_{dim}", name=f"complaint_matrix_{dim}", height=300)
    # the cell to list: the one clicked, else the one with most complaints (rows without a code
    # cannot be filtered on, so they are not offered)
    cells = df.filter(pl.col(dim).is_not_null()).sort("complaints", descending=True)
    if cells.is_empty():
        return
    options = [(r[dim], r["complaint_reason"]) for r in cells.select(dim, "complaint_reason").to_dicts()]
    index = 0
    if point and len(point) >= 5 and point[0] == KPI:
        clicked = (point[3], point[4] or None)
        index = options.index(clicked) if clicked in options else 0
    pick = st.selectbox(T.t("cell_pick", lang), range(len(options)), index=index, key=f"cp_matrix_cell_{dim}",
                        format_func=lambda i: f"{row_label(scope, dim, options[i][0])} · "
                                              f"{reason_label(options[i][1], lang)}")
    code, reason = options[pick]
    extra = {dim: code}
    if reason is not None:
        extra["complaint_reason"] = reason
    records_behind(scope, KPI, extra, f"{row_label(scope, dim, code)} · {reason_label(reason, lang)}",
                   key="cp_matrix_drill")


# -- trend per reason ----------------------------------------------------------------------------

def reason_trend_section(scope: Scope) -> None:
    lang = scope.lang
    df = data.complaint_reason_trend(scope.ver, scope.data_scope, scope.grain, scope.start, scope.end, scope.where)
    if df.is_empty():
        ui.empty("empty_filter", scope)
        return
    fig = go.Figure()
    for i, reason in enumerate(sorted(df["complaint_reason"].unique().to_list(), key=lambda r: (r is None, r or ""))):
        part = df.filter(pl.col("complaint_reason").eq_missing(reason)).sort("period_start")
        label = reason_label(reason, lang)
        fig.add_trace(go.Scatter(
            x=part["period_start"].to_list(), y=part["rate"].to_list(), mode="lines+markers", name=label,
            line={"color": charts.PALETTE[i % len(charts.PALETTE)]},
            text=[f"{label}<br>{T.t('matrix_count', lang)}: {T.number(n, lang)}<br>"
                  f"{T.t('tickets', lang)}: {T.number(t, lang)}" for n, t in zip(part["complaints"], part["tickets"],
                                                                                 strict=True)],
            hovertemplate="%{x}<br>%{text}<br>" + T.t("matrix_rate", lang) + ": %{y:.2%}<extra></extra>",
            customdata=[[KPI, d.isoformat(), "complaint_reason" if reason else "", reason or ""]
                        for d in part["period_start"].to_list()]))
    fig.update_yaxes(tickformat=".1%", rangemode="tozero")
    fig.update_xaxes(tickformat=T.plotly_date_format(scope.grain, lang))
    fig.update_layout(title={"text": T.t("reason_trend_title", lang), "font": {"size": 15}}, height=400,
                      margin={"l": 10, "r": 10, "t": 50, "b": 10}, legend={"orientation": "h", "y": -0.15})
    point = ui.chart(fig, key="cp_reason_trend")
    drill_point(point, scope, key="cp_reason_trend_drill")


# -- handling time -------------------------------------------------------------------------------

def handling_section(scope: Scope) -> None:
    lang = scope.lang
    st.caption(T.t("handling_help", lang))
    whole = data.kpis(scope.ver, scope.data_scope, HANDLING, None, scope.start, scope.end, scope.where)
    cols = st.columns(len(HANDLING))
    for col, kpi_id in zip(cols, HANDLING, strict=True):
        row = whole.filter(pl.col("kpi") == kpi_id).to_dicts() if not whole.is_empty() else []
        with col:
            ui.kpi_card(R.KPIS[kpi_id], row[0] if row else None, scope, period_label=T.t("selected_range", lang))
    trend = data.kpis(scope.ver, scope.data_scope, (HANDLING[0],), scope.grain, scope.start, scope.end, scope.where,
                      (), False)
    point = None
    if not trend.is_empty() and not trend["value"].is_null().all():
        point = ui.chart(charts.trend(trend, HANDLING[0], lang, scope.grain, title=T.t("handling_trend", lang)),
                         key="cp_handling_trend")
    by = data.kpis(scope.ver, scope.data_scope, (HANDLING[0],), None, scope.start, scope.end, scope.where,
                   ("complaint_reason",))
    p2 = None
    if not by.is_empty():
        p2 = ui.chart(charts.bars(by, HANDLING[0], "complaint_reason", lang, lambda v: reason_label(v, lang),
                                  title=T.t("handling_by_reason", lang)), key="cp_handling_reason")
    drill_point(point or p2, scope, key="cp_handling_drill")


# -- repeat complainants -------------------------------------------------------------------------

def repeat_section(scope: Scope) -> None:
    lang = scope.lang
    n_min = st.number_input(T.t("repeat_min", lang), min_value=2, max_value=20, value=2, step=1, key="cp_repeat_min")
    st.caption(T.t("repeat_help", lang, n=int(n_min)))
    df = data.repeat_complainants(scope.ver, scope.data_scope, scope.start, scope.end, scope.where, int(n_min))
    if df.is_empty():
        ui.empty("no_repeat", scope)
        return
    st.markdown(T.t("n_repeat", lang, n=T.number(len(df), lang), c=T.number(df["complaints"].sum(), lang)))
    shown = df.with_columns(pl.col("reasons").list.eval(
        pl.element().replace_strict(T.ZH_CODES.get("complaint_reason", {}) if lang == "zh"
                                    else T.EN_CODES.get("complaint_reason", {}), default=pl.element())))
    picked = show_table(shown, scope, key="cp_repeat_table", name="repeat_complainants", selectable=True)
    row = df.row(picked if picked is not None else 0, named=True)
    rec = data.complaint_records(scope.ver, scope.data_scope, scope.start, scope.end, scope.where)
    rec = rec.filter(pl.col("customer_id") == row["customer_id"]) if not rec.is_empty() else rec
    who = f"{row['customer_id']} {row['customer_name'] or ''}".strip()
    st.subheader(T.t("complaints_of", lang, who=who))
    complaint_list(rec, scope, key="cp_repeat_list", name=f"complaints_{row['customer_id']}")


# -- themes of the texts -------------------------------------------------------------------------

def themes_section(scope: Scope) -> None:
    lang = scope.lang
    whole = data.complaint_themes(scope.ver, scope.data_scope, scope.start, scope.end, scope.where)
    if whole.is_empty():
        ui.empty("no_texts", scope)
        return
    st.caption(T.t("themes_help", lang, n=T.number(whole["complaints"].sum(), lang)))
    bars = whole.sort("complaints", descending=True).with_columns(
        bucket=pl.col("theme").map_elements(lambda c: themes_text.theme_label(c, lang), return_dtype=pl.String),
        count=pl.col("complaints"))
    c1, c2 = st.columns(2)
    with c1:
        ui.chart(charts.histogram(bars, lang, T.t("themes_title", lang), extra=[
            f"{T.t('reason', lang)}: {reason_label(r, lang) if r else '—'}" for r in bars["reason"].to_list()]),
            key="cp_themes", selectable=False)
    with c2:
        kw = data.complaint_keywords(scope.ver, scope.data_scope, scope.start, scope.end, scope.where, None, (), 20)
        kw_shown = kw.drop("period_start").with_columns(pl.col("theme").map_elements(
            lambda c: themes_text.theme_label(c, lang), return_dtype=pl.String))
        st.markdown(f"**{T.t('keywords_title', lang)}**")
        show_table(kw_shown, scope, key="cp_keywords", name="complaint_keywords", height=320)
    by_outlet = data.complaint_themes(scope.ver, scope.data_scope, scope.start, scope.end, scope.where, None,
                                      ("outlet",))
    if not by_outlet.is_empty():
        ui.chart(theme_heatmap(by_outlet, scope), key="cp_theme_outlet", selectable=False)
    over_time = data.complaint_themes(scope.ver, scope.data_scope, scope.start, scope.end, scope.where, scope.grain)
    ui.chart(theme_trend(over_time, scope), key="cp_theme_trend", selectable=False)
    codes = bars["theme"].to_list()
    pick = st.selectbox(T.t("theme_pick", lang), codes, key="cp_theme_pick",
                        format_func=lambda c: themes_text.theme_label(c, lang))
    rec = data.complaint_analysis(scope.ver, scope.data_scope, scope.start, scope.end, scope.where)
    st.subheader(T.t("texts_of_theme", lang, t=themes_text.theme_label(pick, lang)))
    complaint_list(rec.filter(pl.col("theme") == pick) if not rec.is_empty() else rec, scope, key="cp_theme_list",
                   name=f"complaint_texts_{pick}")


def theme_heatmap(df: pl.DataFrame, scope: Scope) -> go.Figure:
    lang = scope.lang
    outlets = (df.group_by("outlet").agg(pl.col("complaints").sum())
               .sort(["complaints", "outlet"], descending=[True, False], nulls_last=True)["outlet"].to_list()[:MATRIX_TOP])
    themes = (df.group_by("theme").agg(pl.col("complaints").sum()).sort("complaints", descending=True)["theme"]
              .to_list())
    cells = {(r["outlet"], r["theme"]): r for r in df.to_dicts()}
    z = [[(cells.get((o, t)) or {}).get("share", 0.0) for t in themes] for o in outlets]
    text = [[f"{T.number((cells.get((o, t)) or {}).get('complaints', 0), lang)}" for t in themes] for o in outlets]
    fig = go.Figure(go.Heatmap(
        z=z, x=[themes_text.theme_label(t, lang) for t in themes], y=[row_label(scope, "outlet", o) for o in outlets],
        text=text, texttemplate="%{text}", colorscale="Blues", xgap=1, ygap=1,
        hovertemplate="%{y} · %{x}<br>" + T.t("matrix_count", lang) + ": %{text}<br>" + T.t("share", lang)
                      + ": %{z:.1%}<extra></extra>", colorbar={"tickformat": ".0%"}))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="top")
    fig.update_layout(title={"text": T.t("theme_by_outlet", lang), "font": {"size": 15}},
                      height=max(320, 28 * len(outlets) + 140), margin={"l": 10, "r": 10, "t": 90, "b": 10})
    return fig


def theme_trend(df: pl.DataFrame, scope: Scope) -> go.Figure:
    lang = scope.lang
    fig = go.Figure()
    order = df.group_by("theme").agg(pl.col("complaints").sum()).sort("complaints", descending=True)["theme"]
    for i, theme in enumerate(order.to_list()):
        part = df.filter(pl.col("theme") == theme).sort("period_start")
        fig.add_trace(go.Bar(x=part["period_start"].to_list(), y=part["complaints"].to_list(),
                             name=themes_text.theme_label(theme, lang),
                             marker={"color": charts.PALETTE[i % len(charts.PALETTE)]},
                             hovertemplate="%{x}<br>" + themes_text.theme_label(theme, lang) + ": %{y:,d}<extra></extra>"))
    fig.update_layout(barmode="stack", title={"text": T.t("theme_trend", lang), "font": {"size": 15}}, height=380,
                      margin={"l": 10, "r": 10, "t": 50, "b": 10}, legend={"orientation": "h", "y": -0.15})
    fig.update_xaxes(tickformat=T.plotly_date_format(scope.grain, lang))
    return fig


SECTIONS = {"tab_matrix": matrix_section, "tab_reason_trend": reason_trend_section, "tab_handling": handling_section,
            "tab_repeat": repeat_section, "tab_themes": themes_section}

__all__ = ["SECTIONS", "complaint_list", "readable"]
