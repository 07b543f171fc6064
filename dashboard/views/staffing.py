"""Staffing: the workload forecast with its interval, holidays and shopping festivals marked;
technicians needed against available per region and week, shortfalls highlighted."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import charts, data, gates, runs, state, ui
from dashboard import i18n as T
from metrics import registry as R

HISTORY_DAYS = 182
HISTORY_POINTS = {"D": HISTORY_DAYS, "W": 52}  # a file run's history shown before its forecast


def series_label(uid: str, lang: str, file_run: bool = False) -> str:
    if file_run:  # a planner's own ids: shown as they are
        return uid
    region, _, service = uid.partition("/")
    r = T.t("all", lang) if region == "all" else ("未分配" if lang == "zh" else "Unassigned") \
        if region == "unassigned" else T.code_label("region", region, lang)
    s = T.t("all", lang) if service in ("", "all") else T.code_label("service_type", service, lang)
    return f"{r} · {s}"


def actuals(scope: state.Scope, uid: str, since: dt.date, until: dt.date) -> pl.DataFrame | None:
    """Daily tickets created for the series, from metrics (the same count the forecast models)."""
    region, _, service = uid.partition("/")
    if region == "unassigned":
        return None
    where = {}
    if region != "all":
        where["region"] = [region]
    if service not in ("", "all"):
        where["service_type"] = [service]
    df = data.kpis(scope.ver, scope.data_scope, ("ticket_volume",), "day", since, until, data.where_tuple(where))
    if df.is_empty():
        return None
    return df.select(ds=pl.col("period_start"), y=pl.col("value"))


def default_series(ids: list[str], scope: state.Scope) -> str:
    """The region filtered on (when one), else the firm's total."""
    regions = dict(scope.where).get("region") or ()
    if len(regions) == 1 and f"{regions[0]}/all" in ids:
        return f"{regions[0]}/all"
    return "all/all" if "all/all" in ids else ids[0]


def china_daily(run: dict) -> bool:
    """Whether the run's days follow China's calendar (the events marked on its chart)."""
    cal = ((run.get("params") or {}).get("forecast") or {}).get("calendar") or {}
    return (run.get("freq") or "D") == "D" and (cal.get("country") or "CN") == "CN"


def series_data(scope: state.Scope, run: dict, uid: str) -> tuple[pl.DataFrame, pl.DataFrame | None,
                                                                   pl.DataFrame | None]:
    """The stored forecast of one series, the actuals before it (a file run's from its stored
    history, the pipeline's from the tickets), and the calendar events (China's days only)."""
    fc = data.store_read(scope.ver, scope.data_scope, "read_forecast", run["run_id"], unique_id=uid)
    if fc.is_empty():
        return fc, None, None
    fc = fc.rename({"yhat_lower_80": "yhat_lower", "yhat_upper_80": "yhat_upper"})
    first = fc["ds"].min()
    if runs.is_file_run(run):
        hist = data.store_read(scope.ver, scope.data_scope, "read_history", run["run_id"], unique_id=uid)
        hist = hist.select("ds", "y").tail(HISTORY_POINTS.get(run.get("freq") or "D", HISTORY_DAYS)) \
            if not hist.is_empty() else None
    else:
        hist = actuals(scope, uid, first - dt.timedelta(days=HISTORY_DAYS), first - dt.timedelta(days=1))
    since = hist["ds"].min() if hist is not None and not hist.is_empty() else first - dt.timedelta(days=HISTORY_DAYS)
    events = data.events(since, fc["ds"].max()) if china_daily(run) else None
    return fc, hist, events


def workload(scope: state.Scope, run: dict) -> None:
    lang = scope.lang
    series = data.store_read(scope.ver, scope.data_scope, "read_series", run["run_id"])
    ids = series["unique_id"].to_list() if not series.is_empty() else []
    if not ids:
        ui.empty("empty_forecast", scope)
        return
    file_run = runs.is_file_run(run)
    uid = st.selectbox(T.t("series", lang), ids, index=ids.index(default_series(ids, scope)),
                       format_func=lambda u: series_label(u, lang, file_run), key="series", bind=state.BIND)
    fc, hist, events = series_data(scope, run, uid)
    if fc.is_empty():
        ui.empty("empty_forecast", scope)
        return
    title = f"{T.t('workload_forecast', lang)} · {series_label(uid, lang, file_run)} · {T.model_label(fc['model'][0], lang)}"
    ui.chart(charts.forecast(hist, fc, lang, title, events), key="wl_chart", selectable=False)
    info = series.filter(pl.col("unique_id") == uid).to_dicts()
    if info:
        st.caption(backtest_caption(info[0], lang), help=T.t("backtest_help", lang))
    if events is None:
        return
    sep = "、" if lang == "zh" else ", "
    st.caption(f"{T.t('events', lang)}: " + sep.join(sorted({T.event_label(n, lang) for n in events["name"]})))


def backtest_caption(info: dict, lang: str) -> str:
    """The stored backtest of a series in words of ``lang``; the forecasts' own (English) reason
    only in English."""
    metric = T.SCORE_METRICS.get(str(info.get("score_metric") or "").lower())
    text = T.t("backtest_caption", lang, model=T.model_label(info.get("model"), lang),
               metric=T.shared.pick(metric, lang) if metric else str(info.get("score_metric") or ""),
               score=T.number(info.get("score"), lang, 3), baseline=T.number(info.get("baseline_score"), lang, 3))
    if lang == "en" and info.get("reason"):
        text += f" · {info['reason']}"
    return text


def staffing(scope: state.Scope, run: dict) -> None:
    lang = scope.lang
    if runs.is_file_run(run):
        st.info(T.t("staffing_file_run", lang))
        return
    plan = data.store_read(scope.ver, scope.data_scope, "read_staffing", run["run_id"])
    if plan.is_empty():
        ui.empty("empty_forecast", scope)
        return
    regions = dict(scope.where).get("region")
    if regions:
        plan = plan.filter(pl.col("region").is_in(list(regions)))
    # people and tickets are whole: a need of 12.2 technicians is 13 to staff, the gap follows from it
    plan = plan.with_columns(pl.col("technicians_needed").ceil(), pl.col("tickets_expected").round(0)).with_columns(
        gap=pl.col("technicians_available") - pl.col("technicians_needed"))
    short = plan.filter(pl.col("short"))
    st.caption(T.t("shortfall_weeks", lang, n=short.height))
    weeks = sorted(plan["week_start"].unique().to_list())
    regs = sorted(plan["region"].unique().to_list())
    grid = {(r["region"], r["week_start"]): r for r in plan.to_dicts()}

    def cell(r, w, col):
        row = grid.get((r, w))
        return None if row is None else row[col]

    z = [[cell(r, w, "gap") for w in weeks] for r in regs]
    text = [[(f"<b>{T.code_label('region', r, lang)} · {T.date(w, lang)}</b><br>"
              f"{T.t('needed', lang)}: {T.number(cell(r, w, 'technicians_needed'), lang)}<br>"
              f"{T.t('available', lang)}: {T.number(cell(r, w, 'technicians_available'), lang)}<br>"
              f"{T.t('gap', lang)}: {T.number(cell(r, w, 'gap'), lang)}<br>"
              f"{R.KPIS['ticket_volume'].label(lang)}: {T.number(cell(r, w, 'tickets_expected'), lang)}")
             if grid.get((r, w)) else "" for w in weeks] for r in regs]
    lim = max(1.0, max(abs(v) for row in z for v in row if v is not None))
    fig = go.Figure(go.Heatmap(z=z, x=weeks, y=[T.code_label("region", r, lang) for r in regs], text=text,
                               hovertemplate="%{text}<extra></extra>", zmid=0, zmin=-lim, zmax=lim,
                               colorscale=[[0, "#d62728"], [0.5, "#f7f7f7"], [1, "#2ca02c"]],
                               colorbar={"title": T.column_label("gap", lang)}))
    fig.update_layout(title=T.t("staffing_table", lang), height=120 + 40 * len(regs),
                      margin={"l": 10, "r": 10, "t": 40, "b": 10})
    fig.update_xaxes(tickformat=T.plotly_date_format("day", lang))
    ui.chart(fig, key="staff_heat", selectable=False)
    table = plan.select("region", "week_start", "tickets_expected", "hours_planned", "technicians_needed",
                        "technicians_available", "gap", "short").sort(["short", "gap"], descending=[True, False])
    shown = table.with_columns(pl.col("hours_planned").round(1),
                               pl.col("tickets_expected", "technicians_needed", "gap").cast(pl.Int64))
    ui.table(ui.localize(table, lang), key="staff_table", lang=lang, name="staffing_plan", selectable=False,
             height=360, display=ui.localize(shown, lang), highlight=T.column_label("short", lang))


def prefetch(scope: state.Scope, stage: str = "first") -> None:
    """The queries of the default view, for the cache warmer (see ``dashboard.warm``): all of it
    in the "first" stage, nothing in the others."""
    if stage != "first":  # nothing here depends on the ticket filters
        return
    run = data.latest_run(scope.ver, "workload")
    if run is not None:
        series = data.store_read(scope.ver, scope.data_scope, "read_series", run["run_id"])
        if not series.is_empty():
            series_data(scope, run, default_series(series["unique_id"].to_list(), scope))
        data.store_read(scope.ver, scope.data_scope, "read_staffing", run["run_id"])


def render() -> None:
    scope = state.current()
    lang = scope.lang
    if not gates.page_or_refusal("staffing", state.principal(), lang):  # issue 17: forecasts permission
        return
    if not ui.guard(scope):
        return
    ui.header("page_staffing", scope)
    run = runs.pick(scope, "workload")
    if run is None:
        return
    try:
        st.subheader(T.t("workload_forecast", lang))
        workload(scope, run)
        st.subheader(T.t("staffing_table", lang))
        staffing(scope, run)
    except data.ForecastMissing as exc:
        ui.empty("empty_forecast_api", scope, fn=exc.api)


if __name__ == "__main__":
    ui.handle(render, state.current())
