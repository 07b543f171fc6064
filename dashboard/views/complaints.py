"""Complaints: the complaint rate over time and by channel, product category and reason; the
reason × outlet / product matrices, the trend per reason, handling time, repeat complainants and
the themes of the complaint texts (``dashboard.complaint_insight``); the complaint list."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, state, ui
from dashboard import complaint_insight as insight
from dashboard import i18n as T
from metrics import periods
from metrics import registry as R

KPI = "complaint_rate"
TABS = ["tab_breakdown", *insight.SECTIONS, "complaint_list"]


def cards(scope: state.Scope) -> None:
    whole = data.kpis(scope.ver, scope.data_scope, (KPI, "complaints_per_1k_orders", "ticket_volume"), None,
                      scope.start, scope.end,
                      scope.where)
    cols = st.columns(3)
    for col, kpi_id in zip(cols, (KPI, "complaints_per_1k_orders", "ticket_volume"), strict=True):
        row = whole.filter(pl.col("kpi") == kpi_id).to_dicts() if not whole.is_empty() else []
        with col:
            if kpi_id == "complaints_per_1k_orders" and not row:
                with st.container(border=True):
                    st.metric(R.KPIS[kpi_id].label(scope.lang), "—")
                    bad = data.unsupported_dims(kpi_id, scope.where, (), scope.data_scope)
                    if bad:
                        ui.unsupported(kpi_id, scope)
                    elif not data.has_orders(scope.ver):
                        st.caption(T.t("empty_orders", scope.lang))
                continue
            ui.kpi_card(R.KPIS[kpi_id], row[0] if row else None, scope, period_label=T.t("selected_range", scope.lang))


def by_dim(scope: state.Scope, dim: str, title_key: str) -> list | None:
    df = data.kpis(scope.ver, scope.data_scope, (KPI,), None, scope.start, scope.end, scope.where, (dim,))
    if df.is_empty():
        ui.empty("empty_filter", scope)
        return None
    fig = charts.bars(df, KPI, dim, scope.lang, lambda v: scope.label(dim, v), title=T.t(title_key, scope.lang))
    return ui.chart(fig, key=f"cp_{dim}")


def by_reason(scope: state.Scope) -> list | None:
    lang = scope.lang
    df = data.complaint_reasons(scope.ver, scope.data_scope, scope.start, scope.end, scope.where)
    if df.is_empty():
        ui.empty("empty_filter", scope)
        return None
    shown = df.with_columns(bucket=pl.col("complaint_reason").map_elements(
        lambda v: T.code_label("complaint_reason", v, lang), return_dtype=pl.String, skip_nulls=True)
        .fill_null(T.t("no_reason", lang)))
    fig = charts.histogram(shown, lang, T.t("by_reason", lang), kpi_id=KPI, dim="complaint_reason",
                           codes=df["complaint_reason"].to_list(), extra=[
                               f"{R.KPIS[KPI].label(lang)}: {r:.2%}" for r in df["rate"].to_list()])
    return ui.chart(fig, key="cp_reason")


def reads(scope: state.Scope, breakdown_tab: bool, list_tab: bool) -> list[tuple]:
    """The reads of the cards, the trend and the open tab, independent of one another (the
    complaint list is of the range's last period: see ``overview.first_reads`` on guessing it)."""
    v, s, a, b, w = scope.ver, scope.data_scope, scope.start, scope.end, scope.where
    calls: list[tuple] = [(data.kpis, v, s, (KPI, "complaints_per_1k_orders", "ticket_volume"), None,
                           a, b, w),
                          (data.kpis, v, s, (KPI,), scope.grain, a, b, w, (), False)]
    if breakdown_tab:
        calls += [(data.kpis, v, s, (KPI,), None, a, b, w, (dim,)) for dim in ("channel",
                                                                                              "product_category")]
        calls.append((data.complaint_reasons, v, s, a, b, w))
    if list_tab:
        calls.append((data.records, v, s, KPI, a, b, w, periods.trunc(b, scope.grain), scope.grain,
                      "numerator",
                      ui.RECORD_LIMIT))
    return calls


def prefetch(scope: state.Scope, stage: str = "first") -> None:
    """The queries of the default view, for the cache warmer (see ``dashboard.warm``): "first"
    the cards, the trend and the breakdown tab the page opens on, "rest" the complaint list,
    "aggregates" the KPI values one-value filters are answered from."""
    if stage == "rest":
        trend = data.kpis(scope.ver, scope.data_scope, (KPI,), scope.grain, scope.start, scope.end, scope.where, (),
                          False)
        if not trend.is_empty():
            data.records(scope.ver, scope.data_scope, KPI, scope.start, scope.end, scope.where,
                         trend["period_start"].max(),
                         scope.grain, "numerator", ui.RECORD_LIMIT)
        return
    data.together(*reads(scope, True, False))


def render() -> None:
    scope = state.current()
    if not ui.guard(scope):
        return
    lang = scope.lang
    ui.header("page_complaints", scope)
    top, slot, tabs = ui.sections_below(scope, TABS)
    (t1, o1), (t2, o2) = tabs[0], tabs[-1]
    trend = data.together(*reads(scope, o1, o2))[1]
    with top:
        cards(scope)
        if trend.is_empty() or trend["value"].is_null().all():
            slot.empty()
            ui.empty("empty_filter", scope)
            return
        point = ui.chart(charts.trend(trend, KPI, lang, scope.grain, title=T.t("complaint_trend", lang)),
                         key="cp_trend")
    for key, (tab, is_open) in zip(TABS[1:-1], tabs[1:-1], strict=True):
        if is_open:
            with tab:
                insight.SECTIONS[key](scope)
    p_channel = p_category = p_reason = None
    if o1:
        with t1:
            c1, c2 = st.columns(2)
            with c1:
                p_channel = by_dim(scope, "channel", "by_channel")
            with c2:
                p_category = by_dim(scope, "product_category", "by_category")
            p_reason = by_reason(scope)
    picked = point or p_channel or p_category or p_reason
    if not (o2 or picked):
        return
    with t2 if o2 else t1:
        complaint_list(scope, trend, picked)


def complaint_list(scope: state.Scope, trend: pl.DataFrame, picked: list | None) -> None:
    lang = scope.lang
    st.subheader(T.t("complaint_list", lang))
    last = trend["period_start"].max()
    if picked:
        ui.drill_from(picked, scope, key="cp_list")
    else:
        st.caption(T.t("list_period", lang, p=T.period(last, scope.grain, lang)))
        # the records behind the rate, the reason (in words) and the complaint text first
        rec = data.records(scope.ver, scope.data_scope, KPI, scope.start, scope.end, scope.where, last, scope.grain,
                           "numerator",
                           ui.RECORD_LIMIT)
        insight.complaint_list(rec, scope, key="cp_list", name=f"complaints_{last.isoformat()}")


if __name__ == "__main__":
    ui.handle(render, state.current())
