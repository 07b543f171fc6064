"""The staffing and spare-part outlook, from the latest stored forecast run (``forecasts.store``).

The report never forecasts: it shows what the last ``aftersales forecast`` run stored, says which
run that was, and says plainly when there is none.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from aftersales.principal import DataScope
from reports import charts, i18n
from reports.table import Col, Section, Table

REORDER_HTML_ROWS = 20


def _db_path(con) -> str | None:
    """The file behind a connection (None for an in-memory database: no forecast store)."""
    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return row[0][0] if row and row[0][0] else None


def _latest(con, scope: DataScope) -> tuple[dict[str, Any], pl.DataFrame | None, pl.DataFrame | None] | None:
    """(latest run per kind, its staffing plan, its parts reorder table), or None without a run."""
    path = _db_path(con)
    if path is None:
        return None
    from forecasts import store

    runs = {kind: run for kind in ("workload", "parts") if (run := store.latest_run(path, kind)) is not None}
    if not runs:
        return None
    staffing = store.read_staffing(path, runs["workload"]["run_id"], scope=scope) if "workload" in runs else None
    reorder = store.read_reorder(path, runs["parts"]["run_id"], scope=scope) if "parts" in runs else None
    return runs, staffing, reorder


def _run_text(runs: dict[str, Any], lang: str) -> str:
    parts = []
    names = {"workload": ("工单量预测", "workload forecast"), "parts": ("配件预测", "parts forecast")}
    for kind, run in runs.items():
        parts.append(f"{i18n.pick(names[kind], lang)} {run['run_id']} "
                     f"({'数据截至' if lang == 'zh' else 'data to'} {run.get('data_cutoff')})")
    return "; ".join(parts)


def staffing_tables(df: pl.DataFrame, lang: str) -> list[Table]:
    L = lambda k: i18n.t(k, lang)  # noqa: E731
    zh = lang == "zh"
    # people are whole: a need of 12.2 technicians is 13 to staff, and the gap follows from it
    df = df.with_columns(pl.col("technicians_needed").ceil()).with_columns(
        gap=pl.col("technicians_available") - pl.col("technicians_needed"))
    summary = (df.group_by("region").agg(
        pl.col("technicians_available").max().alias("available"),
        pl.col("technicians_needed").max().alias("needed_peak"),
        pl.col("week_start").sort_by("technicians_needed", descending=True).first().alias("peak_week"),
        pl.col("short").sum().alias("weeks_short"), pl.len().alias("weeks"),
        pl.col("gap").min().alias("worst_gap")).sort("region"))
    rows = [{**r, "label": i18n.value_label("region", r["region"], lang), "_key": r["region"],
             "_tone": {"worst_gap": "bad" if r["worst_gap"] < 0 else "good"}} for r in summary.iter_rows(named=True)]
    cols = [Col("label", i18n.dim_label("region", lang), width=12), Col("available", "现有师傅" if zh else "Available", ",d"),
            Col("needed_peak", "峰值需求" if zh else "Needed at peak", ",.0f"),
            Col("peak_week", "峰值周" if zh else "Peak week", "date"),
            Col("weeks_short", "缺员周数" if zh else "Weeks short", ",d"), Col("weeks", "周数" if zh else "Weeks", ",d"),
            Col("worst_gap", "最大缺口" if zh else "Worst gap", "+.0f")] + (
            [] if zh else [Col("region", "region", html=False)])
    chart = charts.needed_vs_available("chart-staffing", L("staffing_title"), [r["label"] for r in rows],
                                       [r["needed_peak"] for r in rows], [r["available"] for r in rows], lang)
    t1 = Table("staffing", L("staffing_title"), "人力需求" if zh else "Staffing", cols, rows, chart=chart)
    detail_cols = [Col("region_label", i18n.dim_label("region", lang)), Col("week_start", "周" if zh else "Week", "date"),
                   Col("tickets_expected", "预计工单" if zh else "Tickets expected", ",.0f"),
                   Col("hours_planned", "计划工时" if zh else "Hours planned", ",.0f"),
                   Col("technicians_needed", "需要师傅" if zh else "Needed", ",.0f"),
                   Col("technicians_available", "现有师傅" if zh else "Available", ",d"),
                   Col("gap", "缺口" if zh else "Gap", "+.0f"), Col("short", "缺员" if zh else "Short", "bool")]
    detail = [{**r, "region_label": i18n.value_label("region", r["region"], lang) if zh else r["region"], "_key": f"{r['region']}:{r['week_start']}", "_tone": {"gap": "bad" if r["short"] else ""}}
              for r in df.sort(["region", "week_start"]).iter_rows(named=True)]
    t2 = Table("staffing_weeks", ("人力需求(按周)" if zh else "Staffing by week"), "人力按周" if zh else "Staffing weeks",
               detail_cols, detail, html_limit=0)
    return [t1, t2]


def reorder_table(df: pl.DataFrame, lang: str) -> Table:
    zh = lang == "zh"
    df = df.sort(["order_now", "runout_date", "part_no"], descending=[True, False, False], nulls_last=True)
    cols = [Col("part_no", "配件编码" if zh else "Part", width=14), Col("part_name", "配件名称" if zh else "Name", width=20),
            Col("on_hand", "库存" if zh else "On hand", ",d"),
            Col("stock_at_cutoff", "当前估计库存" if zh else "Stock now (est.)", ",.0f"),
            Col("reorder_point", "再订货点" if zh else "Reorder point", ",d"),
            Col("order_qty", "建议订货量" if zh else "Order qty", ",d"),
            Col("runout_date", "预计缺货日期" if zh else "Projected stock-out", "date"),
            Col("lead_time_days", "补货周期(天)" if zh else "Lead time (d)", ",d"),
            Col("stockout_prob_lead_time", "补货期内缺货概率" if zh else "Stock-out risk in lead time", ".0%"),
            Col("order_now", "立即订货" if zh else "Order now", "bool")]
    rows = [{**r, "_key": r["part_no"], "_tone": {"order_now": "bad" if r["order_now"] else "",
                                                  "runout_date": "bad" if r.get("runs_out_within_lead_time") else ""}}
            for r in df.iter_rows(named=True)]
    return Table("parts_reorder", i18n.t("reorder_title", lang), "配件补货" if zh else "Parts reorder", cols, rows,
                 html_limit=REORDER_HTML_ROWS)


def section(con, lang: str, *, scope: DataScope) -> tuple[Section, str]:
    """The outlook section and a one-line description of the run it shows: the forecasts inside
    ``scope`` (``forecasts.store``: a region's staffing; spare parts for the whole company only)."""
    s = Section("outlook", i18n.t("sec_outlook", lang))
    latest = _latest(con, scope)
    if latest is None:
        s.notes.append(i18n.t("outlook_none", lang))
        return s, i18n.t("no_run", lang)
    runs, staffing, reorder = latest
    text = _run_text(runs, lang)
    s.notes.append(i18n.t("outlook_run", lang, run=text))
    if staffing is not None and staffing.height:
        s.tables += staffing_tables(staffing, lang)
    if reorder is not None and reorder.height:
        s.tables.append(reorder_table(reorder, lang))
    return s, text
