"""The problems to act on: the worst outlets by a fair ranking, SLA breaches, the top complaint
reasons and the ageing of the backlog — each straight from the metrics layer."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future
from typing import Any

import polars as pl

import metrics
from aftersales import model
from aftersales.principal import DataScope
from metrics import registry as R
from reports import charts, i18n
from reports.fetch import Fetcher
from reports.period import Period
from reports.table import Col, Section, Table

RANK_KPIS = ("repair_success_rate", "first_time_fix_rate", "complaint_rate", "csat", "sla_compliance", "mttr_median")
SLA_KPIS = ("sla_first_response", "sla_onsite", "sla_compliance")


def _period_args(period: Period) -> dict[str, Any]:
    """records() arguments selecting exactly the report period."""
    if period.grain is not None:
        return {"period_start": period.start, "grain": period.grain}
    return {"grain": None, "start": period.start, "end": period.end}


def _allowed(kpi: str, dims) -> bool:
    return all(d in R.KPIS[kpi].allowed_dims() for d in dims)


def rank_level(where: dict[str, list[str]]) -> str:
    """Outlets are ranked; technicians when the report is about one outlet."""
    return "technician" if "outlet" in where else "outlet"


def submit(f: Fetcher, period: Period, where, config, *, scope: DataScope) -> dict[str, Any]:
    """Start every metrics call this section needs; ``section()`` collects them. ``where``: the
    filters already narrowed to ``scope`` (``metrics.scope.narrowed``), so that the KPIs chosen
    fit the scope's breakdowns too."""
    level = rank_level(where)
    span = {"start": period.start, "end": period.end, "where": where, "config": config, "scope": scope}
    out: dict[str, Any] = {"ranks": {k: f.submit(metrics.rank, k, level=level, **span)
                                     for k in RANK_KPIS if _allowed(k, [level, *where])}}
    rec = {"where": where, "config": config, "limit": None, "scope": scope, **_period_args(period)}
    if _allowed("sla_compliance", where):
        out["sla"] = f.submit(metrics.records, "sla_compliance", **rec)
    if _allowed("complaint_rate", where):
        out["complaints"] = f.submit(metrics.records, "complaint_rate", only="numerator", **rec)
    if _allowed("backlog", where):
        out["backlog"] = f.submit(metrics.distribution, "backlog_ageing", grain=period.grain, **span)
    return out


def worst(ranks: dict[str, Future], level: str, names: dict[str, str], lang: str, top: int) -> Table | None:
    """The ``top`` worst units per KPI, from ``metrics.rank`` (best first)."""
    L = lambda k: i18n.t(k, lang)  # noqa: E731
    level_label = i18n.dim_label(level, lang)
    cols = [Col("kpi_label", L("kpi"), width=22), Col("rank", L("rank"), ",d"), Col("of", L("of"), ",d"),
            Col("unit", level_label, width=24), Col("value", L("value"), "@"), Col("score", L("score"), "@"),
            Col("n_records", L("n_records"), ",d"), Col("ci_low", L("ci_low"), "@"), Col("ci_high", L("ci_high"), "@"),
            Col("status", L("status"), "status"), Col("method", L("rank_method"), html=False),
            Col("code", level_label + (" 代码" if lang == "zh" else " code"), html=False), Col("kpi", L("kpi_id"), html=False)]
    rows = []
    for kid, fut in ranks.items():
        k = R.KPIS[kid]
        ranked = fut.result().filter(pl.col("rank").is_not_null())
        for rec in ranked.tail(top).reverse().iter_rows(named=True):
            code = rec[level]
            rows.append({"kpi_label": k.label(lang), "rank": rec["rank"], "of": ranked.height,
                         "unit": i18n.value_label(level, code, lang, names), "value": rec["value"], "score": rec["score"],
                         "n_records": rec["n_records"], "ci_low": rec["ci_low"], "ci_high": rec["ci_high"],
                         "status": rec["status"], "method": i18n.rank_method(rec["rank_method"], lang), "code": code,
                         "kpi": kid,
                         "_key": f"{kid}:{code}", "_status": {"value": rec["status"]},
                         "_fmt": {c: k.fmt for c in ("value", "score", "ci_low", "ci_high")}})
    if not rows:
        return None
    title = i18n.t("worst_title", lang, level=level_label if lang == "zh" else level)
    sheet = ("最差网点" if level == "outlet" else "最差师傅") if lang == "zh" else f"Worst {level}s"
    return Table("worst", title, sheet, cols, rows, note=i18n.t("worst_note", lang, n=top))


def sla_summary(current: pl.DataFrame, lang: str) -> Table | None:
    """Due and breached tickets per SLA stage: the SLA KPIs' denominators and what their numerators miss."""
    L = lambda k: i18n.t(k, lang)  # noqa: E731
    cur = {r["kpi"]: r for r in current.iter_rows(named=True)}
    rows = []
    for kid in SLA_KPIS:
        if kid in cur and cur[kid]["denominator"] is not None:
            due, met = cur[kid]["denominator"], cur[kid]["numerator"]
            rows.append({"stage": i18n.pick(i18n.STAGES[kid], lang), "due": due, "breaches": due - met,
                         "breach_share": (due - met) / due if due else None, "kpi": kid, "_key": kid})
    if not rows:
        return None
    return Table("sla_summary", L("sla_summary_title"), "SLA汇总" if lang == "zh" else "SLA summary",
                 [Col("stage", L("stage"), width=16), Col("due", L("due"), ",.0f"),
                  Col("breaches", L("breaches"), ",.0f"), Col("breach_share", L("breach_share"), ".1%"),
                  Col("kpi", L("kpi_id"), html=False)], rows)


def sla_breaches(recs: pl.DataFrame, lang: str, as_of: dt.datetime, outlets: dict[str, str],
                 limit: int) -> list[Table]:
    """Resolution-SLA breaches from ``metrics.records('sla_compliance')``: by service type, and the list."""
    L = lambda k: i18n.t(k, lang)  # noqa: E731
    counted = recs.filter(pl.col("counted"))
    by_type = (counted.group_by("service_type")
               .agg(pl.len().alias("due"), (~pl.col("in_numerator")).sum().alias("breaches"))
               .with_columns(breach_share=pl.col("breaches") / pl.col("due"))
               .sort(["breaches", "service_type"], descending=[True, False], nulls_last=True))
    t1 = Table("sla_by_type", L("sla_by_type_title"), "SLA按服务类型" if lang == "zh" else "SLA by type",
               [Col("label", i18n.dim_label("service_type", lang), width=14), Col("due", L("due"), ",d"),
                Col("breaches", L("breaches"), ",d"), Col("breach_share", L("breach_share"), ".1%")]
               + ([Col("code", "service_type", html=False)] if lang == "en" else []),
               [{"label": i18n.value_label("service_type", r["service_type"], lang), "code": r["service_type"],
                 "due": r["due"], "breaches": r["breaches"], "breach_share": r["breach_share"],
                 "_key": r["service_type"] or ""} for r in by_type.iter_rows(named=True)])
    # hours over: to the time it was done, or for a ticket still open to the data's latest time
    # (the "now" metrics judges due times by)
    breaches = (counted.filter(~pl.col("in_numerator"))
                .with_columns(still_open=pl.col("done_at").is_null(),
                              hours_over=(pl.coalesce(pl.col("done_at"), pl.lit(as_of)) - pl.col("due_at"))
                              .dt.total_microseconds() / 3.6e9)
                .sort(["still_open", "hours_over", "ticket_id"], descending=[True, True, False]))
    rows = [{"ticket_id": r["ticket_id"], "service_type": i18n.value_label("service_type", r["service_type"], lang),
             "channel": i18n.value_label("channel", r["channel"], lang),
             "outlet": i18n.value_label("outlet", r["outlet_id"], lang, outlets),
             "created_at": r["created_at"], "due_at": r["due_at"], "done_at": r["done_at"],
             "still_open": r["still_open"], "hours_over": r["hours_over"],
             "overdue": i18n.duration(r["hours_over"], lang), "_key": r["ticket_id"]}
            for r in breaches.head(limit).iter_rows(named=True)]
    cols = [Col("ticket_id", L("ticket_id"), width=20), Col("service_type", i18n.dim_label("service_type", lang)),
            Col("channel", i18n.dim_label("channel", lang)), Col("outlet", i18n.dim_label("outlet", lang), width=22),
            Col("created_at", L("created_at"), "datetime"), Col("due_at", L("due_at"), "datetime"),
            Col("done_at", L("done_at"), "datetime"), Col("still_open", L("still_open"), "bool"),
            Col("overdue", L("overdue")), Col("hours_over", L("hours_over"), ",.1f", html=False)]
    t2 = Table("sla_breaches", L("sla_title"), "SLA超时工单" if lang == "zh" else "SLA breaches", cols, rows,
               note=L("sla_note").format(n=len(rows), total=breaches.height))
    return [t1, t2]


def complaints(recs: pl.DataFrame, lang: str) -> Table:
    """Complaint tickets of the period (``metrics.records('complaint_rate', only='numerator')``) by reason."""
    df = (recs.group_by("complaint_reason").agg(pl.len().alias("count"))
          .with_columns(share=pl.col("count") / pl.col("count").sum())
          .sort(["count", "complaint_reason"], descending=[True, False], nulls_last=True))
    L = lambda k: i18n.t(k, lang)  # noqa: E731

    def label(code: str | None) -> str:
        if code is None:
            return L("no_reason")
        return model.COMPLAINT_REASONS.get(code, code) if lang == "zh" else code.replace("_", " ").capitalize()

    rows = [{"label": label(r["complaint_reason"]), "count": r["count"], "share": r["share"],
             "code": r["complaint_reason"], "_key": r["complaint_reason"] or ""} for r in df.iter_rows(named=True)]
    chart = charts.bars("chart-complaints", L("complaints_title"), [r["label"] for r in rows],
                        [r["count"] for r in rows], ",d")
    return Table("complaint_reasons", L("complaints_title"), "投诉原因" if lang == "zh" else "Complaint reasons",
                 [Col("label", L("reason"), width=16), Col("count", L("count"), ",d"), Col("share", L("share"), ".1%")]
                 + ([Col("code", "complaint_reason", html=False)] if lang == "en" else []), rows, chart=chart)


def backlog(df: pl.DataFrame, lang: str) -> Table:
    """The period-end backlog by age (``metrics.distribution('backlog_ageing')``)."""
    L = lambda k: i18n.t(k, lang)  # noqa: E731
    rows = [{"bucket": i18n.bucket_label(r["bucket"], lang), "count": r["count"], "share": r["share"], "_key": r["bucket"]}
            for r in df.sort("bucket_lo").iter_rows(named=True)]
    chart = charts.bars("chart-backlog", L("backlog_title"), [r["bucket"] for r in rows], [r["count"] for r in rows],
                        ",d", horizontal=False)
    return Table("backlog_ageing", L("backlog_title"), "积压账龄" if lang == "zh" else "Backlog ageing",
                 [Col("bucket", L("age"), width=10), Col("count", L("count"), ",d"), Col("share", L("share"), ".1%")],
                 rows, chart=chart)


def section(futures: dict[str, Any], where, lang: str, current: pl.DataFrame, as_of: dt.datetime,
            names: dict[str, dict[str, str]], top: int = 5, breaches: int = 20) -> Section:
    s = Section("problems", i18n.t("sec_problems", lang))
    level = rank_level(where)
    w = worst(futures["ranks"], level, names.get(level, {}), lang, top)
    s.tables += [t for t in (w, sla_summary(current, lang)) if t is not None]
    if "sla" in futures:
        s.tables += sla_breaches(futures["sla"].result(), lang, as_of, names.get("outlet", {}), breaches)
    if "complaints" in futures:
        s.tables.append(complaints(futures["complaints"].result(), lang))
    if "backlog" in futures:
        s.tables.append(backlog(futures["backlog"].result(), lang))
    return s
