"""Cost of service (成本): the total, per ticket, per repair and the share of repairs in warranty
as cards with the records each rests on; the components (parts, labour, travel, refunds) over
time; the split by region, outlet, service type, product or warranty; the tickets behind any bar
or row. Every number comes from the cost KPIs in ``metrics`` (booked when a ticket is resolved)."""

from __future__ import annotations

import functools

import polars as pl
import streamlit as st

from dashboard import charts, cost_charts, data, state, ui
from dashboard import i18n as T
from metrics import cost
from metrics import registry as R

CARDS = cost.HEADLINE  # cost_total, cost_per_ticket, cost_per_repair, warranty_share
COMPONENTS = cost.COMPONENTS  # parts, labour, travel, refunds: they add up to cost_total
TABLE_KPIS = ("cost_total", *COMPONENTS, "cost_per_ticket", "customer_charges")
PER_UNIT = ("cost_per_ticket", "cost_per_repair")
BREAKDOWNS = ("region", "outlet", "service_type", "product_category", "product_model", "warranty", "outlet_type",
              "channel")


def _row(df: pl.DataFrame, kpi_id: str) -> dict | None:
    rows = df.filter(pl.col("kpi") == kpi_id).to_dicts() if not df.is_empty() else []
    return rows[0] if rows else None


def summary(scope: state.Scope) -> pl.DataFrame:
    """The cards, each with its exact amount and the number of tickets it rests on."""
    lang = scope.lang
    whole = data.kpis(scope.ver, scope.data_scope, CARDS, None, scope.start, scope.end, scope.where)
    for col, kpi_id in zip(st.columns(len(CARDS)), CARDS, strict=True):
        row = _row(whole, kpi_id)
        with col:
            ui.kpi_card(R.KPIS[kpi_id], row, scope, period_label=T.t("selected_range", lang))
            if row is not None:
                st.caption(T.t("cost_rests_on", lang, value=T.kpi_value(R.KPIS[kpi_id], row["value"], lang),
                               n=T.number(row["n_records"], lang)))
    return whole


def components(scope: state.Scope) -> None:
    """Parts, labour, travel and refunds per period, stacked; cost per ticket and per repair."""
    lang = scope.lang
    df = data.kpis(scope.ver, scope.data_scope, (*COMPONENTS, *PER_UNIT), scope.grain, scope.start, scope.end,
                   scope.where, (), False)
    if df.is_empty() or df["value"].is_null().all():
        ui.empty("empty_filter", scope)
        return
    point = ui.chart(cost_charts.stacked(df, COMPONENTS, lang, scope.grain, T.t("cost_components", lang)),
                     key="cost_stack")
    point2 = ui.chart(charts.small_multiples(df, PER_UNIT, lang, scope.grain, cols=2), key="cost_per_unit")
    provisional_note(df, lang)
    ui.drill_from(point or point2, scope, key="cost_trend_drill")


def provisional_note(df: pl.DataFrame, lang: str) -> None:
    """Say so when a number shown is not final (the range reaches a period still open)."""
    if "status" not in df.columns or "final_on" not in df.columns:
        return
    pending = df.filter(pl.col("status") == "provisional")
    if not pending.is_empty():
        final_on = pending["final_on"].max()
        st.caption(T.t("cost_provisional", lang, date=T.date(final_on, lang)))


def _wide(df: pl.DataFrame, dim: str) -> pl.DataFrame:
    """One row per breakdown value, one column per KPI (its value), plus the tickets counted."""
    base = df.filter(pl.col("kpi") == "cost_total").select(dim, pl.col("n_records").alias("tickets"))
    for kpi_id in TABLE_KPIS:
        part = df.filter(pl.col("kpi") == kpi_id).select(dim, pl.col("value").alias(kpi_id))
        base = base.join(part, on=dim, how="left", nulls_equal=True)
    return base.sort("cost_total", descending=True, nulls_last=True)


def _shown(wide: pl.DataFrame, dim: str, scope: state.Scope) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(downloaded: numbers; shown: amounts in 元 with thousands separators), headers in the language."""
    lang = scope.lang
    label = functools.partial(scope.label, dim)
    raw = wide.with_columns(pl.col(dim).map_elements(label, return_dtype=pl.String, skip_nulls=False))
    text = raw.with_columns(
        pl.col("tickets").map_elements(lambda v: T.number(v, lang), return_dtype=pl.String),
        *(pl.col(k).map_elements(lambda v, k=k: T.kpi_value(R.KPIS[k], v, lang), return_dtype=pl.String,
                                 skip_nulls=False) for k in TABLE_KPIS))
    names = {dim: R.DIMENSIONS[dim].zh if lang == "zh" else R.DIMENSIONS[dim].en,
             "tickets": T.t("cost_tickets", lang), **{k: R.KPIS[k].label(lang) for k in TABLE_KPIS}}
    return raw.rename(names), text.rename(names)


def breakdown(scope: state.Scope) -> None:
    """The components of each value of a breakdown, and a table of every cost KPI per value."""
    lang = scope.lang
    dim = st.selectbox(T.t("dimension", lang), BREAKDOWNS, key="cost_dim", bind=state.BIND,
                       format_func=lambda d: R.DIMENSIONS[d].zh if lang == "zh" else R.DIMENSIONS[d].en)
    df = data.kpis(scope.ver, scope.data_scope, TABLE_KPIS, None, scope.start, scope.end, scope.where, (dim,), False)
    if df.is_empty() or df["value"].is_null().all():
        ui.empty("empty_filter", scope)
        return
    label = functools.partial(scope.label, dim)
    title = T.t("cost_by", lang, dim=R.DIMENSIONS[dim].zh if lang == "zh" else R.DIMENSIONS[dim].en.lower())
    point = ui.chart(cost_charts.split(df, COMPONENTS, dim, lang, label, title), key="cost_split")
    wide = _wide(df, dim)
    raw, text = _shown(wide, dim, scope)
    if wide[dim].null_count():  # say what the empty value's label stands for rather than leave it unexplained
        st.caption(T.t("cost_no_warranty" if dim == "warranty" else "cost_unassigned", lang, label=label(None),
                       dim=R.DIMENSIONS[dim].zh if lang == "zh" else R.DIMENSIONS[dim].en.lower()))
    picked = ui.table(raw, key="cost_table", lang=lang, name=f"cost_by_{dim}", display=text, height=420)
    if picked is not None:
        value = wide[dim][picked]
        ui.records_panel(scope, "cost_total", extra={dim: value}, key="cost_rows",
                         what=f"{R.KPIS['cost_total'].label(lang)} · {label(value)}")
    else:
        ui.drill_from(point, scope, key="cost_split_drill")


def warranty(scope: state.Scope) -> None:
    """In warranty against paid by the customer: cost, per repair, what customers paid; the trend."""
    lang = scope.lang
    kpis = ("cost_total", "cost_per_repair", "customer_charges")
    whole = data.kpis(scope.ver, scope.data_scope, kpis, None, scope.start, scope.end, scope.where, ("warranty",),
                      False)
    trend = data.kpis(scope.ver, scope.data_scope, ("warranty_share",), scope.grain, scope.start, scope.end,
                      scope.where, (), False)
    if whole.is_empty() or whole["value"].is_null().all():
        ui.empty("empty_filter", scope)
        return
    label = functools.partial(scope.label, "warranty")
    cols = st.columns(len(kpis))
    points = []
    for col, kpi_id in zip(cols, kpis, strict=True):
        with col:
            part = whole.filter(pl.col("kpi") == kpi_id)
            points.append(ui.chart(charts.bars(part, kpi_id, "warranty", lang, label, height=240), key=f"cw_{kpi_id}"))
    st.caption(T.t("cost_no_warranty", lang, label=label(None)))
    provisional_note(pl.concat([f.select("status", "final_on") for f in (whole, trend)
                                if {"status", "final_on"} <= set(f.columns)], how="vertical_relaxed"), lang)
    if not trend.is_empty():
        points.append(ui.chart(charts.trend(trend, "warranty_share", lang, scope.grain, height=300), key="cw_trend"))
    ui.drill_from(next((p for p in points if p), None), scope, key="cw_drill")


def reads(scope: state.Scope, tabs: tuple[bool, bool, bool]) -> list[tuple]:
    """The reads of the cards and of the open tabs, independent of one another."""
    trends_tab, by_tab, warranty_tab = tabs
    v, s, a, b, w = scope.ver, scope.data_scope, scope.start, scope.end, scope.where
    calls: list[tuple] = [(data.kpis, v, s, CARDS, None, a, b, w)]
    if trends_tab:
        calls.append((data.kpis, v, s, (*COMPONENTS, *PER_UNIT), scope.grain, a, b, w, (), False))
    if by_tab:
        calls.append((data.kpis, v, s, TABLE_KPIS, None, a, b, w, (state.widget_value("cost_dim", BREAKDOWNS),), False))
    if warranty_tab:
        calls += [(data.kpis, v, s, ("cost_total", "cost_per_repair", "customer_charges"), None, a, b,
                   w, ("warranty",),
                   False), (data.kpis, v, s, ("warranty_share",), scope.grain, a, b, w, (), False)]
    return calls


def prefetch(scope: state.Scope, stage: str = "first") -> None:
    """The queries of the default view, for the cache warmer (see ``dashboard.warm``)."""
    if stage == "first":
        data.together(*reads(scope, (True, False, False)))
    elif stage == "rest":
        data.together(*reads(scope, (False, True, True))[1:])
    else:
        data.together(*reads(scope, (True, False, False)))


def render() -> None:
    scope = state.current()
    if not ui.guard(scope):
        return
    ui.header("page_cost", scope, caption=T.t("cost_caption", scope.lang))
    if ui.unsupported("cost_total", scope):
        return
    top, slot, ((t1, o1), (t2, o2), (t3, o3)) = ui.sections_below(scope, ["tab_trends", "cost_tab_by", "cost_tab_warranty"])
    data.together(*reads(scope, (o1, o2, o3)))
    with top:
        whole = summary(scope)
    if whole.is_empty() or whole["value"].is_null().all():
        slot.empty()
        with top:
            ui.empty("empty_filter", scope)
        return
    if o1:
        with t1:
            components(scope)
    if o2:
        with t2:
            breakdown(scope)
    if o3:
        with t3:
            warranty(scope)


if __name__ == "__main__":
    ui.handle(render, state.current())
