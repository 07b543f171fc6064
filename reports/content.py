"""Everything a report shows, gathered once from the metrics layer and the forecast store.

``build()`` returns a ``Report``: plain sections of tables, cards and charts holding the raw
values ``metrics.query`` / ``metrics.rank`` / ``metrics.records`` / ``metrics.distribution``
returned. HTML, PDF, XLSX and CSV are all rendered from it, so they show the same numbers as each
other and as the dashboard (which calls the same functions with the same arguments).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

import metrics
from aftersales.errors import UserError
from aftersales.principal import DataScope
from metrics import cost, periods
from metrics import registry as R
from metrics import scope as scoping
from metrics.compute import check_dims, check_where
from reports import charts, i18n, outlook, problems
from reports import complaints as complaint_insight
from reports.fetch import Fetcher
from reports.period import Period
from reports.table import Col, Section, Table, change_fmt

DEFAULT_BY = ("region", "outlet_type", "service_type", "channel")
CARD_KPIS = ("ticket_volume", "repair_success_rate", "first_time_fix_rate", "mttr", "complaint_rate", "csat", "nps",
             "survey_response_rate", "first_response_time", "sla_compliance", "refund_cycle_time", "reopen_rate",
             "backlog")
TREND_KPIS = ("ticket_volume", "complaint_rate", "repair_success_rate", "first_time_fix_rate", "mttr", "csat", "nps",
              "sla_compliance")
BREAKDOWN_KPIS = ("ticket_volume", "complaint_rate", "repair_success_rate", "first_time_fix_rate", "mttr", "csat",
                  "nps", "sla_compliance", "backlog")
TREND_PERIODS = 13  # the period and the twelve before it
BREAKDOWN_HTML_ROWS = 40


@dataclass
class Freshness:
    data_through: dt.datetime  # latest ticket created_at
    last_update: dt.datetime | None  # latest updated_at in the source exports
    last_load: dt.datetime | None  # latest load in the ledger


@dataclass
class Report:
    lang: str
    period: Period
    where: dict[str, list[str]]
    by: list[str]
    freshness: Freshness
    kpis: pl.DataFrame  # metrics.query rows for the period: the CSV, the cards and the KPI table
    sections: list[Section]
    about: list[tuple[str, str]]
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage (the benchmark reads them)
    scope: DataScope = field(default_factory=DataScope)  # whose pack: the whole company unless --scope

    @property
    def title(self) -> str:
        scoped = "" if self.scope.whole_company else f" · {scoping.describe(self.scope, self.lang)}"
        return f"{i18n.t('title', self.lang)}{scoped} · {self.period.label(self.lang)}"

    @property
    def created(self) -> dt.datetime:
        """A fixed document date for file properties: the data's freshness, never the clock."""
        return self.freshness.last_load or self.freshness.data_through

    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]


def freshness(con: duckdb.DuckDBPyConnection) -> Freshness:
    row = con.execute("SELECT max(created_at), max(updated_at) FROM tickets").fetchall()[0]
    if row[0] is None:
        raise UserError("there are no tickets yet: load some with `aftersales load PATH` before making a report")
    try:
        last_load = con.execute("SELECT max(finished_at) FROM loads").fetchall()[0][0]
    except duckdb.CatalogException:  # a database built without the pipeline's ledger
        last_load = None
    return Freshness(row[0], row[1], last_load)


def refuse_empty(con: duckdb.DuckDBPyConnection, period: Period, fresh: Freshness) -> None:
    """A period without a single ticket created in it is refused, saying what the data covers and
    how to pick a period inside it (cron's ``last-month`` counts back from today: ``--as-of``)."""
    first = con.execute("SELECT min(created_at) FROM tickets").fetchall()[0][0]
    inside = period.start <= fresh.data_through.date() and period.end >= first.date() and con.execute(
        "SELECT count(*) FROM (SELECT 1 FROM tickets WHERE created_at >= $a AND created_at < $b LIMIT 1)",
        {"a": period.start, "b": period.end_exclusive}).fetchall()[0][0] > 0
    if inside:
        return
    raise UserError(f"no data for {period.slug}: the data ends on {fresh.data_through:%Y-%m-%d} (tickets from "
                    f"{first:%Y-%m-%d}); pick a period inside it, pass --as-of data (last-month/last-week before "
                    f"the data's last day) or --as-of YYYY-MM-DD, or load newer exports (`aftersales load`)")


def value_names(con: duckdb.DuckDBPyConnection, dim: str, *, scope: DataScope) -> dict[str, str]:
    """Display names of a breakdown's values (outlet and technician names), from the metrics layer."""
    if dim not in ("outlet", "technician"):
        return {}
    df = metrics.dimension_values(con, dim, scope=scope)
    return {str(v): str(lb) for v, lb in df.iter_rows() if lb is not None}


def filter_text(where: dict[str, list[str]], lang: str, names: dict[str, dict[str, str]]) -> str:
    if not where:
        return i18n.t("no_filters", lang)
    sep = "、" if lang == "zh" else ", "
    return "; ".join(f"{i18n.dim_label(d, lang)} = " + sep.join(i18n.value_label(d, v, lang, names.get(d)) for v in vs)
                     for d, vs in where.items())


def period_label(d: dt.date, grain: str | None) -> str:
    if grain == "month":
        return f"{d:%Y-%m}"
    if grain == "week":
        y, w, _ = d.isocalendar()
        return f"{y}-W{w:02d}"
    if grain == "quarter":
        return f"{d.year}-Q{(d.month - 1) // 3 + 1}"
    return d.isoformat()


# -- KPIs ----------------------------------------------------------------------------------------

def trend_grain(period: Period) -> str:
    if period.grain is not None:
        return period.grain
    return "day" if period.days <= 62 else "week" if period.days <= 26 * 7 else "month"


def submit_kpis(f: Fetcher, period: Period, where, config, *, scope: DataScope) -> tuple[Future, Future | None]:
    """(the period's row per KPI, the trend rows of the trend KPIs)."""
    grain = trend_grain(period)
    if period.grain is not None:
        current = f.submit(metrics.query, grain=period.grain, start=period.start, end=period.end, where=where,
                           config=config, scope=scope)
        first = periods.shift(period.start, period.grain, -(TREND_PERIODS - 1))
    else:
        current = f.submit(with_comparisons, period, where, config, scope=scope)
        first = period.start
    trend_kpis = [k for k in TREND_KPIS if all(d in R.KPIS[k].allowed_dims() for d in where)]
    if not trend_kpis:  # e.g. filtered by part number: no trend KPI applies
        return current, None
    trend = f.submit(metrics.query, metrics=trend_kpis, grain=grain, start=first, end=period.end, where=where,
                     config=config, scope=scope)
    return current, trend


def with_comparisons(con, period: Period, where, config, *, scope: DataScope) -> pl.DataFrame:
    """A FROM:TO range is one period with no grain, for which metrics has no previous or
    last-year values: they come from the same query over the previous range (as many days,
    just before) and last year's range, and the changes are derived as metrics derives them."""
    cur = metrics.query(con, grain=None, start=period.start, end=period.end, where=where, config=config, scope=scope)
    kpis = cur["kpi"].to_list()
    for name, p in (("prev", period.previous()), ("yoy", period.last_year())):
        other = metrics.query(con, metrics=kpis, grain=None, start=p.start, end=p.end, where=where, config=config,
                              scope=scope)
        cur = cur.drop(f"{name}_value").join(other.select("kpi", pl.col("value").alias(f"{name}_value")),
                                             on="kpi", how="left")
        v, o = pl.col("value"), pl.col(f"{name}_value")
        cur = cur.with_columns((v - o).alias(f"{name}_change"), pl.when(o != 0).then(v / o - 1).alias(f"{name}_change_pct"))
    return cur.select([c for c in metrics.RESULT_COLUMNS if c != "<dims>"])


def provisional_items(current: pl.DataFrame, lang: str) -> list[str]:
    """The period's KPIs not yet final, each with the date it becomes final (维修成功率(2026-12-01定稿))."""
    rows = current.filter(pl.col("status") == "provisional")
    return [i18n.t("provisional_item", lang, kpi=R.KPIS[r["kpi"]].label(lang), date=r["final_on"].isoformat())
            for r in rows.iter_rows(named=True)]


def tone(kpi: str, change: float | None) -> str:
    """'good' / 'bad' for a change, by the KPI's direction ('' when it has none)."""
    better = R.KPIS[kpi].higher_is_better
    if change is None or change == 0 or better is None:
        return ""
    return "good" if (change > 0) == better else "bad"


def kpi_section(df: pl.DataFrame, lang: str) -> Section:
    L = lambda k: i18n.t(k, lang)  # noqa: E731
    cols = [Col("label", L("kpi"), width=30), Col("value", L("value"), "@"),
            Col("prev_value", L("prev_value"), "@", html=False), Col("prev_change", L("prev_change"), "@d"),
            Col("prev_change_pct", L("prev_change_pct"), "+.1%", html=False),
            Col("yoy_value", L("yoy_value"), "@", html=False), Col("yoy_change", L("yoy_change"), "@d"),
            Col("yoy_change_pct", L("yoy_change_pct"), "+.1%", html=False), Col("target", L("target"), "@"),
            Col("status", L("status"), "status"), Col("final_on", L("final_on"), "date"),
            Col("n_records", L("n_records"), ",d"),
            Col("ci_low", L("ci_low"), "@"), Col("ci_high", L("ci_high"), "@"),
            Col("numerator", L("numerator"), ",.2f", html=False), Col("denominator", L("denominator"), ",.2f", html=False),
            Col("completeness", L("completeness"), ".1%", html=False), Col("unit", L("unit"), html=False),
            Col("kpi", L("kpi_id"), html=False)]
    rows, cards = [], []
    for rec in df.iter_rows(named=True):
        k = R.KPIS[rec["kpi"]]
        dfmt = change_fmt(k.fmt, k.unit)
        fmts = {c.key: (k.fmt if c.fmt == "@" else dfmt) for c in cols if c.fmt in ("@", "@d")}
        if k.kind in ("count", "sum"):
            fmts["numerator"] = k.fmt
        tones = {"prev_change": tone(k.id, rec["prev_change"]), "yoy_change": tone(k.id, rec["yoy_change"])}
        tones.update(prev_change_pct=tones["prev_change"], yoy_change_pct=tones["yoy_change"])
        unit = i18n.pick(i18n.UNITS.get(k.unit, (k.unit, k.unit)), lang)
        rows.append({**{c.key: rec.get(c.key) for c in cols}, "label": k.label(lang), "unit": unit, "_key": k.id,
                     "_fmt": fmts, "_status": {"value": rec["status"]}, "_tone": tones})
        if k.id in CARD_KPIS:
            cards.append({**rec, "label": k.label(lang), "fmt": k.fmt, "change_fmt": dfmt, "unit_label": unit,
                          "prev_tone": tones["prev_change"], "yoy_tone": tones["yoy_change"]})
    order = {k: i for i, k in enumerate(CARD_KPIS)}
    cards.sort(key=lambda c: order[c["kpi"]])
    table = Table("kpis", L("all_kpis"), "KPI" if lang == "en" else "关键指标", cols, rows, note=L("change_note"))
    return Section("kpis", L("sec_kpis"), tables=[table], cards=cards)


def trend_section(trend: pl.DataFrame, grain: str, lang: str, config: dict) -> Section:
    L = lambda k: i18n.t(k, lang)  # noqa: E731
    kpis = [k for k in TREND_KPIS if k in set(trend["kpi"].to_list())]
    cols = [Col("period", L("trend_period"), width=12)] + [Col(k, i18n.kpi_header(k, lang), R.KPIS[k].fmt) for k in kpis]
    rows: dict[dt.date, dict[str, Any]] = {}
    for rec in trend.iter_rows(named=True):
        row = rows.setdefault(rec["period_start"], {"period": period_label(rec["period_start"], grain),
                                                    "_key": rec["period_start"].isoformat(), "_status": {}})
        row[rec["kpi"]] = rec["value"]
        row["_status"][rec["kpi"]] = rec["status"]
    ordered = [rows[d] for d in sorted(rows)]
    title = L("trend_title").format(n=len(ordered))
    table = Table("trends", title, "趋势" if lang == "zh" else "Trends", cols, ordered,
                  chart=charts.trends(trend, kpis, grain, lang, config))
    notes = [L("trend_note")]
    if (trend.filter(pl.col("kpi").is_in(kpis))["status"] == "provisional").any():
        notes.append(L("trend_provisional"))
    return Section("trends", L("sec_trends"), tables=[table], notes=notes)


def breakdown_kpis(dim: str, where) -> list[str]:
    """The headline KPIs that can be broken down by ``dim`` under the filters; for a dimension
    only some KPIs allow (part number), every KPI that does."""
    fits = [k for k in R.KPIS if all(d in R.KPIS[k].allowed_dims() for d in (dim, *where))]
    return [k for k in BREAKDOWN_KPIS if k in fits] or [k for k in fits if R.KPIS[k].base != "orders"]


def submit_breakdown(f: Fetcher, dim: str, period: Period, where, config, *, scope: DataScope) -> Future | None:
    kpis = breakdown_kpis(dim, where)
    if not kpis:
        return None
    # One window (grain None) for the report period: the same values as the period's row of a
    # month/week query, without also computing the previous and last-year periods a grain adds.
    return f.submit(metrics.query, metrics=kpis, by=[dim], grain=None, start=period.start, end=period.end,
                    where=where, config=config, scope=scope)


def breakdown_table(df: pl.DataFrame, dim: str, period: Period, names: dict[str, str], lang: str) -> Table:
    """One row per value of ``dim`` (largest first), one column per KPI, status-coloured."""
    present = set(df["kpi"].to_list())
    kpis = [k for k in R.KPIS if k in present]
    # the code column serves joins in English workbooks, and in Chinese ones only where the value
    # is a code a reader looks up (outlets, products), never for labelled codes (east -> 华东)
    code_col = [] if lang == "zh" and R.DIMENSIONS[dim].labels else [
        Col("code", i18n.dim_label(dim, lang) + (" 代码" if lang == "zh" else " code"), html=False)]
    cols = [Col("label", i18n.dim_label(dim, lang), width=24)] + [
        Col(k, i18n.kpi_header(k, lang), R.KPIS[k].fmt) for k in kpis] + code_col
    rows: dict[Any, dict[str, Any]] = {}
    for rec in df.iter_rows(named=True):
        code = rec[dim]
        row = rows.setdefault(code, {"label": i18n.value_label(dim, code, lang, names), "code": code,
                                     "_key": "" if code is None else str(code), "_status": {}})
        row[rec["kpi"]] = rec["value"]
        row["_status"][rec["kpi"]] = rec["status"]
    size = next((k for k in kpis if R.KPIS[k].additive), None)  # largest first: volume, or parts used
    ordered = sorted(rows.values(), key=lambda r: (-((r.get(size) or 0) if size else 0), r["code"] is None,
                                                   str(r["code"])))
    title = i18n.t("by", lang, dim=i18n.dim_label(dim, lang))
    sheet = ("按" + i18n.dim_label(dim, "zh")) if lang == "zh" else ("By " + dim.replace("_", " "))
    note = (i18n.t("rows_capped", lang, n=BREAKDOWN_HTML_ROWS, total=len(ordered))
            if len(ordered) > BREAKDOWN_HTML_ROWS else "")
    return Table(f"by_{dim}", title, sheet, cols, ordered, note=note, html_limit=BREAKDOWN_HTML_ROWS)


# -- cost of service (metrics.cost): the cost KPIs by region, service type and warranty -----------

COST_BY = ("region", "service_type", "warranty")


def submit_cost(f: Fetcher, period: Period, where, config, *, scope: DataScope) -> dict[str, Future]:
    kpis = [k for k in cost.ALL if all(d in R.KPIS[k].allowed_dims() for d in where)]
    if not kpis:  # e.g. filtered by part number
        return {}
    return {d: f.submit(metrics.query, metrics=kpis, by=[d], grain=None, start=period.start, end=period.end,
                        where=where, config=config, scope=scope) for d in COST_BY}


def cost_section(futures: dict[str, Future], period: Period, lang: str) -> Section | None:
    """One table per breakdown: the cost KPIs (total, per ticket, per repair, warranty share,
    components, what customers paid), largest total first; amounts in 元."""
    if not futures:
        return None
    tables = []
    for dim, fut in futures.items():
        t = breakdown_table(fut.result(), dim, period, {}, lang)
        sheet = ("成本按" + i18n.dim_label(dim, "zh")) if lang == "zh" else ("Cost by " + dim.replace("_", " "))
        # the amounts' headers say 元 already (i18n.kpi_header)
        tables.append(dataclasses.replace(t, id=f"cost_by_{dim}", sheet=sheet[:31],
                                          title=i18n.t("cost_by", lang, dim=i18n.dim_label(dim, lang))))
    return Section("cost", i18n.t("sec_cost", lang), tables=tables, notes=[i18n.t("cost_note", lang)])


def definitions_section(kpi_ids: list[str], lang: str, config: dict) -> Section:
    L = lambda k: i18n.t(k, lang)  # noqa: E731
    cols = [Col("label", L("kpi"), width=26), Col("kpi", L("kpi_id"), width=24, html=False),
            Col("description", L("def_description"), width=60), Col("unit", L("unit"), width=10),
            Col("period_by", L("def_period_by"), width=14), Col("direction", L("def_direction"), width=10),
            Col("target", L("target"), "@"), Col("min_sample", L("def_min_sample"), ",d"),
            Col("final_when", L("def_final_when"), width=40), Col("note", L("def_note"), width=60)]
    rows = []
    for kid in kpi_ids:
        k = R.KPIS[kid]
        rows.append({"label": k.label(lang), "kpi": k.id, "description": k.description_zh if lang == "zh" else k.description,
                     "unit": i18n.pick(i18n.UNITS.get(k.unit, (k.unit, k.unit)), lang),
                     "period_by": i18n.pick(i18n.PERIOD_BY.get(k.period_by, (k.period_by, k.period_by)), lang),
                     "direction": L(k.direction), "target": R.target_for(k, config), "min_sample": k.min_sample,
                     "final_when": k.maturity.zh if lang == "zh" else k.maturity.en,
                     "note": i18n.kpi_note(k.id, lang), "_key": k.id, "_fmt": {"target": k.fmt}})
    table = Table("definitions", L("sec_definitions"), "指标定义" if lang == "zh" else "Definitions", cols, rows,
                  freeze_cols=1)
    return Section("definitions", L("sec_definitions"), tables=[table], notes=[L("masking")])


# -- the whole report -----------------------------------------------------------------------------

@contextlib.contextmanager
def single_threaded_queries(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Each query on one thread while the report is gathered, so sums of doubles are added in
    the same order every time and a re-run gives the same last digits (a parallel DuckDB sum
    varies in the 16th digit). The report's own thread pool keeps the cores busy instead."""
    before = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute(f"SET threads = {int(before)}")


def build(con: duckdb.DuckDBPyConnection, period: Period, where: dict[str, Any] | None = None,
          by: list[str] | None = None, lang: str = "zh", config: dict | None = None, top: int = 5,
          breaches: int = 20, workers: int | None = None, *, scope: DataScope) -> Report:
    """Gather the report for ``period`` (filters ``where``, breakdowns ``by``) over one read-only
    connection. Raises UserError for unknown filters/breakdowns and for a period after the data.
    ``scope``: the data scope of the pack (``DataScope()``: head office's, the whole company);
    every number, list and forecast in it is inside the scope, and its title names it."""
    config = config or {}
    t0 = time.perf_counter()
    fresh = freshness(con)
    refuse_empty(con, period, fresh)
    checked = check_where(con, where)
    inside = scoping.narrowed(scope, checked)  # also what decides which KPIs fit
    outside = [d for d, v in inside.items() if not v]
    if outside:
        raise UserError(f"--where {outside[0]}={','.join(checked[outside[0]])} lies outside the data scope "
                        f"({scoping.describe(scope, 'en')}): the pack would be empty; drop it or widen --scope")
    by_dims = check_dims(list(by) if by else list(DEFAULT_BY))
    names = {d: value_names(con, d, scope=scope) for d in ("outlet", "technician")}
    with single_threaded_queries(con), Fetcher(con, workers) as f:
        current_f, trend_f = submit_kpis(f, period, inside, config, scope=scope)
        bd_f = {d: submit_breakdown(f, d, period, inside, config, scope=scope) for d in by_dims}
        cost_f = submit_cost(f, period, inside, config, scope=scope)
        problem_f = problems.submit(f, period, inside, config, scope=scope)
        complaint_f = complaint_insight.submit(f, period, inside, config, scope=scope)
        outlook_f = f.submit(outlook.section, lang, scope=scope)
        current = current_f.result()
        c0 = charts.elapsed()
        sections = [kpi_section(current, lang)]
        if trend_f is not None:
            sections.append(trend_section(trend_f.result(), trend_grain(period), lang, config))
        bd = [breakdown_table(fut.result(), d, period, names.get(d, {}), lang) for d, fut in bd_f.items() if fut]
        sections.append(Section("breakdowns", i18n.t("sec_breakdowns", lang), tables=bd))
        cost_sec = cost_section(cost_f, period, lang)
        if cost_sec is not None:
            sections.append(cost_sec)
        sections.append(problems.section(problem_f, checked, lang, current, fresh.data_through, names, top, breaches))
        complaint_section = complaint_insight.section(complaint_f, lang, names)
        if complaint_section is not None:
            sections.append(complaint_section)
        out_section, run_text = outlook_f.result()
        sections.append(out_section)
        sections.append(definitions_section(current["kpi"].to_list(), lang, config))
    timings = {"charts": charts.elapsed() - c0}
    timings["queries"] = time.perf_counter() - t0 - timings["charts"]

    warnings = []
    if fresh.data_through.date() < period.end:
        warnings.append(i18n.t("partial", lang, end=f"{fresh.data_through:%Y-%m-%d %H:%M}"))
    pending = provisional_items(current, lang)
    if pending:
        warnings.append(i18n.t("provisional_warning", lang, items="、".join(pending) if lang == "zh" else "; ".join(pending)))
    L = lambda k: i18n.t(k, lang)  # noqa: E731
    about = [
        (L("period"), period.label(lang) + (f" ({period.start.isoformat()} – {period.end.isoformat()})"
                                             if period.grain == "month" else "")),
        (L("comparison"), f"{L('prev')}: {period.previous().label(lang)}; {L('yoy')}: {period.last_year().label(lang)}"),
        (L("filters"), filter_text(checked, lang, names)),
        (L("data_scope"), scoping.describe(scope, lang)),
        (L("breakdowns"), ", ".join(i18n.dim_label(d, lang) for d in by_dims)),
        (L("data_through"), f"{fresh.data_through:%Y-%m-%d %H:%M}"),
        (L("last_load"), f"{fresh.last_load:%Y-%m-%d %H:%M}" if fresh.last_load else L("never")),
        (L("forecast"), run_text),
        (L("language"), "中文" if lang == "zh" else "English"),
    ]
    return Report(lang, period, checked, by_dims, fresh, current, sections, about, warnings, timings, scope)
