"""Repair quality: repair success, first-time fix, MTTR (its distribution, not only the mean);
by outlet and technician with intervals; own against outsourced outlets."""

from __future__ import annotations

import functools

import polars as pl
import streamlit as st

from dashboard import charts, data, state, ui
from dashboard import i18n as T
from metrics import registry as R

CARDS = ("repair_success_rate", "first_time_fix_rate", "mttr", "mttr_median", "mttr_p90")
RANKED = ("repair_success_rate", "first_time_fix_rate", "mttr")
TOP = 30


def summary(scope: state.Scope) -> pl.DataFrame:
    whole = data.kpis(scope.ver, scope.data_scope, CARDS, None, scope.start, scope.end, scope.where)
    cols = st.columns(len(CARDS))
    for col, kpi_id in zip(cols, CARDS, strict=True):
        row = whole.filter(pl.col("kpi") == kpi_id).to_dicts() if not whole.is_empty() else []
        with col:
            ui.kpi_card(R.KPIS[kpi_id], row[0] if row else None, scope, period_label=T.t("selected_range", scope.lang))
    return whole


def trends(scope: state.Scope) -> None:
    df = data.kpis(scope.ver, scope.data_scope, RANKED, scope.grain, scope.start, scope.end, scope.where, (), False)
    point = ui.chart(charts.small_multiples(df, RANKED, scope.lang, scope.grain, cols=3), key="rq_trend")
    ui.drill_from(point, scope, key="rq_trend_drill")


def mttr_distribution(scope: state.Scope, whole: pl.DataFrame) -> None:
    lang = scope.lang
    dist = data.distribution(scope.ver, scope.data_scope, "mttr_hours", scope.start, scope.end, scope.where)
    if dist.is_empty():
        ui.empty("empty_filter", scope)
        return
    med = whole.filter(pl.col("kpi") == "mttr_median")["value"].to_list()
    p90 = whole.filter(pl.col("kpi") == "mttr_p90")["value"].to_list()
    title = T.t("mttr_distribution", lang)
    if med and p90:
        title += (f" · {R.KPIS['mttr_median'].label(lang)} {T.kpi_value(R.KPIS['mttr_median'], med[0], lang)}"
                  f" · P90 {T.kpi_value(R.KPIS['mttr_p90'], p90[0], lang)}")
    ui.chart(charts.histogram(dist, lang, title, kpi_id="mttr"), key="rq_hist", selectable=False)


def by_unit(scope: state.Scope, level: str, key: str) -> None:
    lang = scope.lang
    kpi_id = st.selectbox(T.t("kpi", lang), RANKED, format_func=lambda k: R.KPIS[k].label(lang), key=f"{key}_kpi")
    if ui.unsupported(kpi_id, scope):
        return
    ranked = data.rank(scope.ver, scope.data_scope, kpi_id, level, scope.start, scope.end, scope.where)
    if ranked.is_empty() or ranked["rank"].is_null().all():
        ui.empty("empty_filter", scope)
        return
    st.caption(T.t("rank_note", lang))
    label = functools.partial(scope.label, level)
    if level == "outlet":
        n = int(ranked["rank"].is_not_null().sum())
        if n > TOP:
            st.caption(T.t("top_n", lang, n=TOP, total=n))
        point = ui.chart(charts.ranked(ranked, kpi_id, level, lang, label, limit=TOP), key=f"{key}_chart")
        if point:
            ui.drill_from(point, scope, key=f"{key}_drill")
    picked = ui.kpi_table(ranked, f"{key}_table", scope, f"{level}_{kpi_id}", kpi_id=kpi_id, height=320)
    if picked is not None:
        unit = ranked[level][picked]
        ui.records_panel(scope, kpi_id, extra={level: unit}, key=f"{key}_rows",
                         what=f"{R.KPIS[kpi_id].label(lang)} · {label(unit)}")
    elif level != "outlet":
        st.caption(T.t("pick_to_drill", lang))


def own_vs_outsourced(scope: state.Scope) -> None:
    lang = scope.lang
    if ui.unsupported("first_time_fix_rate", scope):
        return
    df = data.kpis(scope.ver, scope.data_scope, RANKED, scope.grain, scope.start, scope.end, scope.where,
                   ("outlet_type",))
    whole = data.kpis(scope.ver, scope.data_scope, RANKED, None, scope.start, scope.end, scope.where, ("outlet_type",))
    if df.is_empty():
        ui.empty("empty_filter", scope)
        return
    cols = st.columns(len(RANKED))
    label = functools.partial(T.code_label, "outlet_type", lang=lang)
    points = []
    for col, kpi_id in zip(cols, RANKED, strict=True):
        with col:
            points.append(ui.chart(charts.trend(df.drop_nulls("outlet_type"), kpi_id, lang, scope.grain, by="outlet_type",
                                                label=label, height=300), key=f"ovo_{kpi_id}"))
    ui.kpi_table(whole.drop_nulls("outlet_type").select(
        "kpi", "outlet_type", "value", "n_records", "ci_low", "ci_high", "target", "status", "small_sample"),
        "ovo_table", scope, "own_vs_outsourced", selectable=False)
    ui.drill_from(next((p for p in points if p), None), scope, key="ovo_drill")


def reads(scope: state.Scope, tabs: tuple[bool, bool, bool, bool]) -> list[tuple]:
    """The reads of the cards and of the open tabs (trends, by outlet, by technician, own vs
    outsourced), independent of one another."""
    trends_tab, outlet_tab, tech_tab, ovo_tab = tabs
    v, s, a, b, w = scope.ver, scope.data_scope, scope.start, scope.end, scope.where
    calls: list[tuple] = [(data.kpis, v, s, CARDS, None, a, b, w)]
    if trends_tab:
        calls += [(data.kpis, v, s, RANKED, scope.grain, a, b, w, (), False), (data.distribution, v, s, "mttr_hours", a, b, w)]
    for on, level, key in ((outlet_tab, "outlet", "rq_outlet"), (tech_tab, "technician", "rq_tech")):
        if on:
            calls.append((data.rank, v, s, state.widget_value(f"{key}_kpi", RANKED), level, a, b, w))
    if ovo_tab:
        calls += [(data.kpis, v, s, RANKED, scope.grain, a, b, w, ("outlet_type",)),
                  (data.kpis, v, s, RANKED, None, a, b, w, ("outlet_type",))]
    return calls


def prefetch(scope: state.Scope, stage: str = "first") -> None:
    """The queries of the default view, for the cache warmer (see ``dashboard.warm``): "first"
    the cards and the trends tab the page opens on, "rest" the other tabs, "aggregates" the KPI
    values and distributions one-value filters are answered from."""
    if stage == "first":
        data.together(*reads(scope, (True, False, False, False)))
    elif stage == "rest":
        data.together(*reads(scope, (False, True, True, True))[1:])
    else:
        data.together(*reads(scope, (True, False, False, True)))


def render() -> None:
    scope = state.current()
    if not ui.guard(scope):
        return
    ui.header("page_repair", scope)
    if ui.unsupported("repair_success_rate", scope):
        return
    top, slot, ((t1, o1), (t2, o2), (t3, o3), (t4, o4)) = ui.sections_below(
        scope, ["tab_trends", "by_outlet", "by_technician", "own_vs_outsourced"])
    data.together(*reads(scope, (o1, o2, o3, o4)))
    with top:
        whole = summary(scope)
    if whole.is_empty() or whole["value"].is_null().all():
        slot.empty()
        with top:
            ui.empty("empty_filter", scope)
        return
    if o1:
        with t1:
            trends(scope)
            st.subheader(T.t("mttr_distribution", scope.lang))
            mttr_distribution(scope, whole)
    if o2:
        with t2:
            by_unit(scope, "outlet", "rq_outlet")
    if o3:
        with t3:
            by_unit(scope, "technician", "rq_tech")
    if o4:
        with t4:
            own_vs_outsourced(scope)


if __name__ == "__main__":
    ui.handle(render, state.current())
