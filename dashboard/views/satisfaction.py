"""Satisfaction: CSAT and NPS over time beside the survey response rate; the score
distributions; comments, searchable."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, state, ui
from dashboard import i18n as T
from metrics import periods
from metrics import registry as R

CARDS = ("csat", "csat_mean", "nps", "survey_response_rate")
COMMENTS_LIMIT = 5000
NPS_COLOURS = ["#d62728"] * 7 + ["#bcbd22"] * 2 + ["#2ca02c"] * 2


def cards(scope: state.Scope) -> None:
    whole = data.kpis(scope.ver, scope.data_scope, CARDS, None, scope.start, scope.end, scope.where)
    for col, kpi_id in zip(st.columns(len(CARDS)), CARDS, strict=True):
        row = whole.filter(pl.col("kpi") == kpi_id).to_dicts() if not whole.is_empty() else []
        with col:
            ui.kpi_card(R.KPIS[kpi_id], row[0] if row else None, scope, period_label=T.t("selected_range", scope.lang))


def distributions(scope: state.Scope) -> None:
    lang = scope.lang
    c1, c2 = st.columns(2)
    sat = data.distribution(scope.ver, scope.data_scope, "satisfaction", scope.start, scope.end, scope.where)
    nps = data.distribution(scope.ver, scope.data_scope, "nps_score", scope.start, scope.end, scope.where)
    with c1:
        if sat.is_empty():
            ui.empty("empty_filter", scope)
        else:
            ui.chart(charts.histogram(sat, lang, T.t("satisfaction_score", lang)), key="sat_hist", selectable=False)
    with c2:
        if nps.is_empty():
            ui.empty("empty_filter", scope)
        else:
            colours = [NPS_COLOURS[int(b)] for b in nps["bucket_lo"].to_list()]
            ui.chart(charts.histogram(nps, lang, T.t("nps_score", lang), colours=colours), key="nps_hist",
                     selectable=False)
            st.caption(" · ".join(f"{T.t(k, lang)} {r}" for k, r in
                                  (("detractor", "0–6"), ("passive", "7–8"), ("promoter", "9–10"))))


def comments(scope: state.Scope, period, point) -> None:
    """Comments of one period (the last, or the one clicked in the trend), searchable."""
    lang = scope.lang
    if point and point[1]:
        import datetime as dt

        period = dt.date.fromisoformat(point[1])
    st.caption(T.t("list_period", lang, p=T.period(period, scope.grain, lang)))
    q = st.text_input(T.t("search_comments", lang), key="q", bind=state.BIND)
    rec = data.records(scope.ver, scope.data_scope, "csat", scope.start, scope.end, scope.where, period, scope.grain,
                       None,
                       COMMENTS_LIMIT)
    if rec.is_empty():
        ui.empty("no_records", scope)
        return
    rec = rec.filter(pl.col("comment").is_not_null() & (pl.col("comment") != ""))
    if q:
        rec = rec.filter(pl.col("comment").str.contains(q, literal=True))
    cols = ["responded_at", "satisfaction", "nps", "comment", "ticket_id", "channel", "service_type", "outlet_id",
            "product_model"]
    rec = rec.select([c for c in cols if c in rec.columns]).sort("responded_at", descending=True)
    st.caption(T.t("n_comments", lang, n=T.number(len(rec), lang)))
    if rec.is_empty():
        ui.empty("no_records", scope)
        return
    ui.table(ui.localize(rec, lang, scope), key="comments", lang=lang, name="comments", selectable=False, height=400)


def reads(scope: state.Scope, distribution_tab: bool, comments_tab: bool) -> list[tuple]:
    """The reads of the cards, the trends and the open tab, independent of one another (the
    comments are of the range's last period: see ``overview.first_reads`` on guessing it)."""
    v, s, a, b, w = scope.ver, scope.data_scope, scope.start, scope.end, scope.where
    calls: list[tuple] = [(data.kpis, v, s, CARDS, None, a, b, w), (data.kpis, v, s, CARDS, scope.grain, a, b, w, (), False)]
    if distribution_tab:
        calls += [(data.distribution, v, s, kind, a, b, w) for kind in ("satisfaction", "nps_score")]
    if comments_tab:
        calls.append((data.records, v, s, "csat", a, b, w, periods.trunc(b, scope.grain), scope.grain,
                      None,
                      COMMENTS_LIMIT))
    return calls


def prefetch(scope: state.Scope, stage: str = "first") -> None:
    """The queries of the default view, for the cache warmer (see ``dashboard.warm``): "first"
    the cards, the trends and the distributions tab the page opens on, "rest" the comments,
    "aggregates" the KPI values and distributions one-value filters are answered from."""
    if stage == "rest":
        df = data.kpis(scope.ver, scope.data_scope, CARDS, scope.grain, scope.start, scope.end, scope.where, (), False)
        if not df.is_empty():
            data.records(scope.ver, scope.data_scope, "csat", scope.start, scope.end, scope.where,
                         df["period_start"].max(),
                         scope.grain, None, COMMENTS_LIMIT)
        return
    data.together(*reads(scope, True, False))


def render() -> None:
    scope = state.current()
    if not ui.guard(scope):
        return
    lang = scope.lang
    ui.header("page_satisfaction", scope)
    top, slot, ((t1, o1), (t2, o2)) = ui.sections_below(scope, ["score_distribution", "comments"])
    df = data.together(*reads(scope, o1, o2))[1]
    with top:
        cards(scope)
        if df.is_empty() or df["value"].is_null().all():
            slot.empty()
            ui.empty("empty_filter", scope)
            return
        st.subheader(T.t("sat_trend", lang))
        c1, c2, c3 = st.columns(3)
        with c1:
            p1 = ui.chart(charts.trend(df, "csat", lang, scope.grain), key="sat_csat")
        with c2:
            p2 = ui.chart(charts.trend(df, "nps", lang, scope.grain), key="sat_nps")
        with c3:
            p3 = ui.chart(charts.trend(df, "survey_response_rate", lang, scope.grain,
                                       title=T.t("response_rate_trend", lang)), key="sat_rr")
        point = p1 or p2 or p3
        if p3:
            ui.drill_from(p3, scope, key="sat_drill")
    if o1:
        with t1:
            distributions(scope)
    if o2:
        with t2:
            comments(scope, df["period_start"].max(), point)


if __name__ == "__main__":
    ui.handle(render, state.current())
