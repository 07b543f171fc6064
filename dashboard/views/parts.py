"""Spare parts: demand forecasts per part, the reorder table (reorder point, order-up-to level,
projected stock-out date) and the demand classes; consumption by part from the metrics."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from dashboard import charts, data, gates, runs, state, ui
from dashboard import i18n as T

CLASSES = {"smooth": ("平稳", "Smooth"), "erratic": ("波动", "Erratic"), "intermittent": ("间歇", "Intermittent"),
           "lumpy": ("块状", "Lumpy"), "no_demand": ("无需求", "No demand")}
HISTORY_WEEKS = 52
HISTORY_POINTS = {"W": HISTORY_WEEKS, "M": 24}  # a file run's history shown before its forecast
# The stored column is ``mean_weekly_demand`` whatever the run's frequency: it holds the mean per
# period, so its header follows the run (a monthly run's is a monthly mean).
DEMAND_LABELS = {"W": ("周均需求", "Mean weekly demand"), "M": ("月均需求", "Mean monthly demand")}
PERIOD_WORDS = {"W": ("周", "week"), "M": ("月", "month")}
# A lumpy part's best point forecast (least absolute error) is often zero while its reorder point
# is not: the page says why, so the two do not read as a contradiction.
ZERO_NOTE = ("点预测为零：该配件多数{period}没有需求，零是绝对误差最小的点预测；再订货点 {s} 由需求分布"
             "（含偶发的大单）算出，{label} {rate}。",
             "Point forecast zero: this part has no demand in most {period}s, and zero is the point forecast with "
             "the least absolute error; its reorder point {s} comes from the demand distribution (rare large orders "
             "included), {label} {rate}.")


def class_label(c: str | None, lang: str) -> str:
    pair = CLASSES.get(c or "")
    return (c or "—") if pair is None else pair[0 if lang == "zh" else 1]


def demand_header(run: dict, lang: str) -> dict[str, str]:
    """The rename that puts the run's own period on the mean-demand header."""
    pair = DEMAND_LABELS.get(run.get("freq") or "W", DEMAND_LABELS["W"])
    return {T.column_label("mean_weekly_demand", lang): pair[0 if lang == "zh" else 1]}


def zero_note(run: dict, row: dict, lang: str) -> str | None:
    """Why a zero point forecast sits beside a non-zero reorder point, for ``row`` of the reorder
    table; None when the part's point forecast is not zero or nothing is stocked."""
    if row.get("model") != "zero" or not (row.get("reorder_point") or row.get("order_up_to")):
        return None
    freq = run.get("freq") or "W"
    i = 0 if lang == "zh" else 1
    return ZERO_NOTE[i].format(period=PERIOD_WORDS.get(freq, PERIOD_WORDS["W"])[i], s=row.get("reorder_point"),
                               label=DEMAND_LABELS.get(freq, DEMAND_LABELS["W"])[i],
                               rate=f"{float(row.get('mean_weekly_demand') or 0.0):.2f}")


def consumption(scope: state.Scope) -> None:
    lang = scope.lang
    if ui.unsupported("parts_consumption", scope):
        return
    df = data.kpis(scope.ver, scope.data_scope, ("parts_consumption",), None, scope.start, scope.end, scope.where,
                   ("part_no",))
    if df.is_empty() or df["value"].is_null().all():
        ui.empty("empty_filter", scope)
        return
    top = df.sort("value", descending=True).head(25)
    point = ui.chart(charts.bars(top, "parts_consumption", "part_no", lang, str, title=T.t("consumption", lang)),
                     key="parts_cons")
    ui.drill_from(point, scope, key="parts_cons_drill")


def reorder(scope: state.Scope, run: dict) -> pl.DataFrame:
    lang = scope.lang
    table = data.store_read(scope.ver, scope.data_scope, "read_reorder", run["run_id"])
    if table.is_empty():
        ui.empty("empty_forecast", scope)
        return table
    risk = table.filter(pl.col("runs_out_within_lead_time").fill_null(False))
    st.caption(T.t("stockout_soon", lang, n=risk.height))
    cols = ["part_no", "part_name", "series_class", "mean_weekly_demand", "lead_time_days", "on_hand", "stock_at_cutoff",
            "reorder_point", "order_up_to", "order_now", "order_qty", "runout_date", "runs_out_within_lead_time",
            "stockout_prob_lead_time", "model"]
    table = table.select([c for c in cols if c in table.columns])
    shown = table.with_columns(
        pl.col("series_class").map_elements(lambda c: class_label(c, lang), return_dtype=pl.String),
        pl.col("mean_weekly_demand").round(1),
        pl.col("stock_at_cutoff").round(0).cast(pl.Int64),  # parts on a shelf are whole
        stockout_prob_lead_time=(pl.col("stockout_prob_lead_time") * 100).round(1))
    header = demand_header(run, lang)
    ui.table(ui.localize(table, lang).rename(header, strict=False), key="reorder", lang=lang, name="reorder_table",
             selectable=False, height=380, display=ui.localize(shown, lang).rename(header, strict=False),
             highlight=T.column_label("runs_out_within_lead_time", lang))
    return table


def classes(scope: state.Scope, run: dict) -> None:
    lang = scope.lang
    series = data.store_read(scope.ver, scope.data_scope, "read_series", run["run_id"])
    if series.is_empty() or "series_class" not in series.columns:
        ui.empty("empty_forecast", scope)
        return
    counts = series.group_by("series_class").agg(count=pl.len(), adi=pl.col("adi").median(), cv2=pl.col("cv2").median())
    counts = counts.with_columns(share=pl.col("count") / pl.col("count").sum()).sort("count", descending=True)
    hist = counts.with_columns(bucket=pl.col("series_class").map_elements(lambda c: class_label(c, lang),
                                                                          return_dtype=pl.String))
    c1, c2 = st.columns(2)
    with c1:
        ui.chart(charts.histogram(hist, lang, T.t("demand_classes", lang)), key="classes", selectable=False)
    with c2:
        models = series.group_by("series_class", "model").agg(count=pl.len()).sort("series_class", "count")
        ui.table(ui.localize(models.with_columns(pl.col("series_class").map_elements(
            lambda c: class_label(c, lang), return_dtype=pl.String)), lang), key="class_models", lang=lang,
            name="demand_classes", selectable=False)


def part_order(table: pl.DataFrame) -> list[str]:
    """Parts at risk of running out first (the default pick), then the others."""
    risky = table.filter(pl.col("runs_out_within_lead_time").fill_null(False))["part_no"].to_list()
    return risky + [p for p in table["part_no"].to_list() if p not in set(risky)]


def part_data(scope: state.Scope, run: dict, part: str) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """A part's stored forecast and its use before it: weekly from the tickets (firm-wide, as it
    is forecast) for the pipeline's run, the stored history for a run from a file."""
    fc = data.store_read(scope.ver, scope.data_scope, "read_forecast", run["run_id"], unique_id=part)
    if fc.is_empty():
        return fc, None
    fc = fc.rename({"yhat_lower_80": "yhat_lower", "yhat_upper_80": "yhat_upper"})
    if runs.is_file_run(run):
        hist = data.store_read(scope.ver, scope.data_scope, "read_history", run["run_id"], unique_id=part)
        return fc, (hist.select("ds", "y").tail(HISTORY_POINTS.get(run.get("freq") or "W", HISTORY_WEEKS))
                    if not hist.is_empty() else None)
    first = fc["ds"].min()
    since = first - dt.timedelta(weeks=HISTORY_WEEKS)
    hist = data.kpis(scope.ver, scope.data_scope, ("parts_consumption",), "week", since, first - dt.timedelta(days=1),
                     data.where_tuple({"part_no": [part]}))
    # weeks without any use have no records: a count of zero, shown as such
    weeks = pl.DataFrame({"ds": pl.date_range(since, first - dt.timedelta(weeks=1), "1w", eager=True)})
    used = hist.select(ds=pl.col("period_start"), y=pl.col("value")) if not hist.is_empty() else \
        pl.DataFrame(schema={"ds": pl.Date, "y": pl.Float64})
    return fc, weeks.join(used, on="ds", how="left").with_columns(pl.col("y").fill_null(0.0))


def part_forecast(scope: state.Scope, run: dict, table: pl.DataFrame) -> None:
    lang = scope.lang
    if table.is_empty():
        return
    parts = part_order(table)
    names = dict(zip(table["part_no"].to_list(), table["part_name"].to_list(), strict=True)) \
        if "part_name" in table.columns else {}
    part = st.selectbox(T.t("part", lang), parts, format_func=lambda p: f"{p} {names.get(p) or ''}".strip(),
                        key="part", bind=state.BIND)
    fc, hist = part_data(scope, run, part)
    if fc.is_empty():
        ui.empty("empty_forecast", scope)
        return
    ui.chart(charts.forecast(hist, fc, lang, f"{T.t('part_forecast', lang)} · {part} · {T.model_label(fc['model'][0], lang)}"),
             key="part_chart", selectable=False)
    rows = table.filter(pl.col("part_no") == part).to_dicts()
    note = zero_note(run, rows[0], lang) if rows else None
    if note:
        st.caption(note)


def prefetch(scope: state.Scope, stage: str = "first") -> None:
    """The queries of the default view, for the cache warmer (see ``dashboard.warm``): all of it
    in the "first" stage, nothing in "rest", in "aggregates" the KPI values one-value filters
    are answered from."""
    if stage == "rest":
        return
    aggregates_only = stage == "aggregates"
    data.kpis(scope.ver, scope.data_scope, ("parts_consumption",), None, scope.start, scope.end, scope.where,
              ("part_no",))
    run = None if aggregates_only else data.latest_run(scope.ver, "parts")
    if run is not None:
        table = data.store_read(scope.ver, scope.data_scope, "read_reorder", run["run_id"])
        data.store_read(scope.ver, scope.data_scope, "read_series", run["run_id"])
        if not table.is_empty():
            part_data(scope, run, part_order(table)[0])


def render() -> None:
    scope = state.current()
    lang = scope.lang
    if not gates.page_or_refusal("parts", state.principal(), lang):  # issue 17: forecasts permission
        return
    if not ui.guard(scope):
        return
    ui.header("page_parts", scope)
    run = runs.pick(scope, "parts")
    if run is not None:
        st.subheader(T.t("reorder_table", lang))
        table = reorder(scope, run)
        st.subheader(T.t("part_forecast", lang))
        part_forecast(scope, run, table)
        st.subheader(T.t("demand_classes", lang))
        classes(scope, run)
    st.subheader(T.t("consumption", lang))
    consumption(scope)


if __name__ == "__main__":
    ui.handle(render, state.current())
