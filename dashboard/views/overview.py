"""Overview: a card per headline KPI, the trend of each, and the biggest movers."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from dashboard import charts, data, state, ui
from dashboard import i18n as T
from metrics import periods
from metrics import registry as R

HEADLINE = ("ticket_volume", "complaint_rate", "repair_success_rate", "first_time_fix_rate", "mttr", "csat", "nps",
            "sla_compliance", "backlog")
MOVER_DIMS = ("region", "outlet", "channel")


def cards(df: pl.DataFrame, scope: state.Scope) -> None:
    last = df["period_start"].max()
    partial = scope.data_end is not None and scope.data_end.date() < df["period_end"].max() - dt.timedelta(days=1)
    label = T.period(last, scope.grain, scope.lang)
    if partial:
        label += " " + T.t("period_to_date", scope.lang, d=T.date(scope.data_end.date(), scope.lang))
    st.caption(T.t("latest_period", scope.lang, p=label))
    cols = st.columns(3)
    for i, kpi_id in enumerate(HEADLINE):
        part = df.filter(pl.col("kpi") == kpi_id).sort("period_start")
        row = part.filter(pl.col("period_start") == last).to_dicts()
        with cols[i % 3]:
            if part.is_empty():
                ui.kpi_card(R.KPIS[kpi_id], None, scope)
            else:
                ui.kpi_card(R.KPIS[kpi_id], row[0] if row else None, scope, spark=part["value"].to_list())


def mover_reads(scope: state.Scope, kpi_id: str, last: dt.date) -> list[tuple]:
    return [(data.kpis, scope.ver, scope.data_scope, (kpi_id,), scope.grain, last, last, scope.where,
             (dim,)) for dim in MOVER_DIMS]


def movers(df: pl.DataFrame, scope: state.Scope) -> None:
    lang = scope.lang
    st.subheader(T.t("movers", lang), help=T.t("movers_help", lang))
    present = [k for k in HEADLINE if k in set(df["kpi"].to_list())]
    kpi_id = st.selectbox(T.t("mover_kpi", lang), present, index=present.index("complaint_rate")
                          if "complaint_rate" in present else 0, format_func=lambda k: R.KPIS[k].label(lang),
                          key="mover", bind=state.BIND)
    k = R.KPIS[kpi_id]
    last = df["period_start"].max()
    frames = []
    for dim in MOVER_DIMS:
        m = data.kpis(scope.ver, scope.data_scope, (kpi_id,), scope.grain, last, last, scope.where, (dim,))
        if m.is_empty():
            continue
        # units with enough records first, by the size of the change; small ones only to fill up
        m = m.filter((pl.col("period_start") == last) & pl.col("prev_change").is_not_null() & pl.col(dim).is_not_null())
        m = m.with_columns(dimension=pl.lit(dim), unit_code=pl.col(dim), size=pl.col("prev_change").abs()).sort(
            ["small_sample", "size"], descending=[False, True]).head(5)
        frames.append(m.select("dimension", "unit_code", "value", "prev_value", "prev_change", "n_records", "ci_low",
                               "ci_high", "small_sample", "final_on"))
    if not frames or sum(len(f) for f in frames) == 0:
        ui.empty("empty_filter", scope)
        return
    top = pl.concat(frames)
    final_on = top["final_on"].drop_nulls()
    if len(final_on):  # the latest period is not final yet: its changes may still move
        st.caption(T.t("movers_provisional", lang, date=T.date(final_on.max(), lang)))
    better = [None if c == 0 or k.higher_is_better is None else ((c > 0) == k.higher_is_better)
              for c in top["prev_change"].to_list()]
    words = [T.t("unchanged", lang) if b is None else T.t("better" if b else "worse", lang) for b in better]
    dim_names = [R.DIMENSIONS[d].zh if lang == "zh" else R.DIMENSIONS[d].en for d in top["dimension"].to_list()]
    units = [scope.label(d, u) for d, u in zip(top["dimension"].to_list(), top["unit_code"].to_list(), strict=True)]
    numbers = ("value", "prev_value", "prev_change", "n_records", "ci_low", "ci_high", "small_sample")
    raw = pl.DataFrame({T.t("dimension", lang): dim_names, T.t("unit_name", lang): units}).with_columns(
        top.select(numbers).rename({c: T.column_label(c, lang) for c in numbers}))
    shown = pl.DataFrame({
        T.t("dimension", lang): dim_names, T.t("unit_name", lang): units,
        T.period(last, scope.grain, lang): [T.kpi_value(k, v, lang) for v in top["value"].to_list()],
        T.t("previous", lang): [T.kpi_value(k, v, lang) for v in top["prev_value"].to_list()],
        T.t("change", lang): [T.kpi_change(k, v, lang) for v in top["prev_change"].to_list()],
        T.t("direction", lang): words,
        T.t("n_records", lang): [T.number(v, lang) for v in top["n_records"].to_list()],
        T.t("interval", lang): [f"{T.kpi_value(k, a, lang)} – {T.kpi_value(k, b, lang)}" if a is not None else "—"
                                for a, b in zip(top["ci_low"].to_list(), top["ci_high"].to_list(), strict=True)],
        T.t("small_sample", lang): [T.t("small_sample", lang) if s else "" for s in top["small_sample"].to_list()],
    })
    picked = ui.table(raw, key="movers", lang=lang, name=f"movers_{kpi_id}", display=shown)
    if picked is not None:
        dim, unit = top["dimension"][picked], top["unit_code"][picked]
        ui.records_panel(scope, kpi_id, period_start=last, grain=scope.grain, extra={dim: unit},
                         what=f"{k.label(lang)} · {scope.label(dim, unit)} · {T.period(last, scope.grain, lang)}",
                         key="movers_drill", only="numerator" if kpi_id == "complaint_rate" else None)
    else:
        st.caption(T.t("pick_to_drill", lang))


def prefetch(scope: state.Scope, stage: str = "first") -> None:
    """The queries of the default view, for the cache warmer (see ``dashboard.warm``): "first"
    what the page shows on opening, "rest" nothing more here, "aggregates" the KPI values a
    one-value filter is answered from."""
    if stage == "rest":
        return
    df = data.card_kpis(scope.ver, scope.data_scope, HEADLINE, scope.grain, scope.start, scope.end, scope.where)
    if not df.is_empty():
        data.together(*mover_reads(scope, "complaint_rate", df["period_start"].max()))


def first_reads(scope: state.Scope) -> list:
    """The headline and the movers of the page's current view, to be read together. The movers
    are for the last period, known for sure only from the headline's result; the last period
    of the range is what it is whenever that period has tickets (a wrong guess only costs a
    read the page then does not use)."""
    kpi_id = state.widget_value("mover", ("complaint_rate", *HEADLINE))
    guess = periods.trunc(scope.end, scope.grain)
    return [(data.card_kpis, scope.ver, scope.data_scope, HEADLINE, scope.grain, scope.start, scope.end, scope.where),
            *mover_reads(scope, kpi_id, guess)]


def render() -> None:
    scope = state.current()
    if not ui.guard(scope):
        return
    ui.header("page_overview", scope)
    df = data.together(*first_reads(scope))[0]
    if df.is_empty() or df["value"].is_null().all():
        ui.empty("empty_filter", scope)
        return
    st.subheader(T.t("headline", scope.lang))
    cards(df, scope)
    st.subheader(T.t("kpi_trend", scope.lang))
    present = [k for k in HEADLINE if k in set(df["kpi"].to_list())]
    point = ui.chart(charts.small_multiples(df, present, scope.lang, scope.grain), key="ov_trend")
    ui.drill_from(point, scope, key="ov_drill")
    movers(df, scope)


if __name__ == "__main__":
    ui.handle(render, state.current())
