"""SLA and backlog: what is breaching now, the ageing of the backlog, the open list."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, state, ui
from dashboard import i18n as T
from metrics import registry as R

SLA = ("sla_first_response", "sla_onsite", "sla_compliance")
BACKLOG = ("backlog", "backlog_aged_7d")
SHOW_ROWS = 5000


def breaching(scope: state.Scope) -> None:
    """Open tickets whose first response, on-site visit or resolution is past due, as of the data's latest time."""
    lang = scope.lang
    st.caption(T.t("breaching_help", lang, t=T.date(scope.data_end, lang)))
    live = data.breaching(scope.ver, scope.data_scope, scope.where)
    if live.is_empty():
        ui.empty("no_records", scope)
        return
    live = live.select("ticket_id", "stage", "overdue_hours", "due_at", *data.BREACHING_COLUMNS)
    st.markdown(f"**{T.t('n_breaching', lang, n=T.number(live['ticket_id'].n_unique(), lang))}**")
    # shown as a reader says it (36.5 小时, 972 天); the downloads keep the hours as numbers
    shown = ui.localize(live.with_columns(overdue_hours=pl.col("overdue_hours").map_elements(
        lambda h: T.duration(h, lang), return_dtype=pl.String)).rename({"overdue_hours": "overdue"}), lang, scope)
    live = ui.localize(live, lang, scope)
    # The most overdue first, as many as the open list shows (the downloads have every row): the
    # whole list (14,560 rows at 10M) in the browser's table added about 0.35 s to every view.
    if live.height > SHOW_ROWS:
        st.caption(T.t("showing_first", lang, n=T.number(SHOW_ROWS, lang)))
    ui.table(live, key="breaching", lang=lang, name="breaching_now", selectable=False, height=360,
             display=shown.head(SHOW_ROWS))


def backlog(scope: state.Scope, df: pl.DataFrame) -> None:
    lang = scope.lang
    end = scope.data_end.date()
    dist = data.distribution(scope.ver, scope.data_scope, "backlog_ageing", end, end, scope.where)
    c1, c2 = st.columns(2)
    with c1:
        if dist.is_empty():
            ui.empty("no_records", scope)
        else:
            ui.chart(charts.histogram(dist, lang, T.t("ageing", lang) + " · " + T.date(end, lang), kpi_id="backlog"),
                     key="sla_ageing", selectable=False)
    with c2:
        point = ui.chart(charts.trend(df, "backlog", lang, scope.grain, title=T.t("backlog_trend", lang)),
                         key="sla_backlog") if not df.is_empty() else None
    if point:
        ui.drill_from(point, scope, key="sla_backlog_drill")
    st.subheader(T.t("open_list", lang))
    rec = data.open_tickets(scope.ver, scope.data_scope, scope.where)
    if rec.is_empty():
        ui.empty("no_records", scope)
        return
    rec = rec.sort("age_days", descending=True).select(
        "ticket_id", "age_days", "status", "created_at", "service_type", "channel", "priority", "outlet_id",
        "technician_id", "product_model", "customer_name", "customer_phone").with_columns(pl.col("age_days").round(1))
    shown = ui.localize(rec, lang, scope)
    if rec.height > SHOW_ROWS:
        st.caption(T.t("showing_first", lang, n=T.number(SHOW_ROWS, lang)))
    ui.table(shown, key="open_list", lang=lang, name="open_tickets", selectable=False, height=400,
             display=shown.head(SHOW_ROWS))


def reads(scope: state.Scope, breaching_tab: bool, backlog_tab: bool) -> list[tuple]:
    """The reads of the cards and of the open tabs, independent of one another."""
    end = scope.data_end.date()
    calls: list[tuple] = [(data.card_kpis, scope.ver, scope.data_scope, SLA + BACKLOG, scope.grain, scope.start,
                           scope.end, scope.where)]
    if breaching_tab:
        calls.append((data.breaching, scope.ver, scope.data_scope, scope.where))
    if backlog_tab:
        calls += [(data.distribution, scope.ver, scope.data_scope, "backlog_ageing", end, end, scope.where),
                  (data.open_tickets, scope.ver, scope.data_scope, scope.where)]
    return calls


def prefetch(scope: state.Scope, stage: str = "first") -> None:
    """The queries of the default view, for the cache warmer (see ``dashboard.warm``): "first"
    the cards and the breaching list (the tab a page opens on), "rest" the backlog tab (ageing
    and the open list), "aggregates" the KPI values and distributions one-value filters are
    answered from, and the breaching list every filter derives from in memory."""
    if stage == "first":
        data.together(*reads(scope, True, False))
    elif stage == "rest":
        data.together(*reads(scope, False, True)[1:])
    else:
        end = scope.data_end.date()
        data.card_kpis(scope.ver, scope.data_scope, SLA + BACKLOG, scope.grain, scope.start, scope.end, scope.where)
        data.distribution(scope.ver, scope.data_scope, "backlog_ageing", end, end, scope.where)
        data.breaching(scope.ver, scope.data_scope, scope.where)


def render() -> None:
    scope = state.current()
    if not ui.guard(scope):
        return
    lang = scope.lang
    ui.header("page_sla", scope)
    top, slot, ((t1, o1), (t2, o2), (t3, o3)) = ui.sections_below(scope, ["breaching_now", "sla_trend", "tab_backlog"])
    df = data.together(*reads(scope, o1, o3))[0]
    if df.is_empty() or df["value"].is_null().all():
        slot.empty()
        with top:
            ui.empty("empty_filter", scope)
        return
    last = df["period_start"].max()
    with top:
        # three cards a row: five in one row cut the SLA titles short (SLA达成率(首次…)
        ids = SLA + BACKLOG
        cols = [c for i in range(0, len(ids), 3) for c in st.columns(3)][:len(ids)]
        for col, kpi_id in zip(cols, ids, strict=True):
            part = df.filter(pl.col("kpi") == kpi_id).sort("period_start")
            row = part.filter(pl.col("period_start") == last).to_dicts()
            with col:
                ui.kpi_card(R.KPIS[kpi_id], row[0] if row else None, scope, spark=part["value"].to_list(),
                            period_label=T.period(last, scope.grain, lang))
    if o1:
        with t1:
            breaching(scope)
    if o2:
        with t2:
            point = ui.chart(charts.small_multiples(df, SLA, lang, scope.grain, cols=3), key="sla_trend")
            ui.drill_from(point, scope, key="sla_drill")
    if o3:
        with t3:
            backlog(scope, df)


if __name__ == "__main__":
    ui.handle(render, state.current())
