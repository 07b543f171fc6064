"""The report's complaint insight: reason × outlet, handling time by reason, the themes and
keywords of the complaint texts, and repeat complainants (masked) — from ``metrics.complaints``
and the registry, as the dashboard's Complaints page shows them."""

from __future__ import annotations

from typing import Any

import polars as pl

import metrics
from aftersales.principal import DataScope
from metrics import complaints as C
from metrics import registry as R
from metrics import text
from reports import charts, i18n
from reports.fetch import Fetcher
from reports.period import Period
from reports.table import Col, Section, Table

HANDLING = ("complaint_handling_hours", "complaint_handling_median")
MATRIX_HTML_ROWS = 30
REPEAT_ROWS = 50


def _allowed(kpi: str, dims) -> bool:
    return all(d in R.KPIS[kpi].allowed_dims() for d in dims)


def submit(f: Fetcher, period: Period, where: dict[str, list[str]], config: dict, *,
           scope: DataScope) -> dict[str, Any]:
    """Start the section's metrics calls; ``section()`` collects them (``where`` narrowed to
    ``scope`` as in ``reports.problems.submit``)."""
    if not _allowed("complaint_rate", where):
        return {}
    span = {"start": period.start, "end": period.end, "where": where, "config": config, "scope": scope}
    out: dict[str, Any] = {
        "matrix": f.submit(C.matrix, "outlet", **span),
        "themes": f.submit(C.themes, **span),
        "themes_outlet": f.submit(C.themes, by=("outlet",), **span),
        "keywords": f.submit(C.keywords, top=15, **span),
        "repeat": f.submit(C.repeat_complainants, **span),
    }
    if _allowed(HANDLING[0], [*where, "complaint_reason"]):
        out["handling"] = f.submit(metrics.query, list(HANDLING), by=["complaint_reason"], grain=None,
                                   compare=False, **span)
        out["handling_all"] = f.submit(metrics.query, list(HANDLING), grain=None, compare=False, **span)
    return out


def _reason(code: str | None, lang: str) -> str:
    return i18n.value_label("complaint_reason", code, lang)


def matrix_table(df: pl.DataFrame, lang: str, outlets: dict[str, str]) -> Table:
    L = lambda k: i18n.t(k, lang)  # noqa: E731
    totals = df.group_by("outlet").agg(pl.col("complaints").sum().alias("_total"))
    df = df.join(totals, on="outlet", how="left", nulls_equal=True).sort(
        ["_total", "outlet", "complaints"], descending=[True, False, True], nulls_last=True)
    rows = [{"outlet": (L("central_service") if r["outlet"] is None
                        else i18n.value_label("outlet", r["outlet"], lang, outlets)),
             "reason": _reason(r["complaint_reason"], lang), "complaints": r["complaints"], "tickets": r["tickets"],
             "rate": r["rate"], "share": r["share"], "code": r["outlet"], "reason_code": r["complaint_reason"],
             "_key": f"{r['outlet'] or ''}:{r['complaint_reason'] or ''}"} for r in df.iter_rows(named=True)]
    cols = [Col("outlet", i18n.dim_label("outlet", lang), width=24), Col("reason", L("reason"), width=14),
            Col("complaints", L("complaints"), ",d"), Col("tickets", L("tickets_created"), ",d"),
            Col("rate", L("complaint_share_of_tickets"), ".2%"), Col("share", L("share_of_outlet"), ".1%"),
            Col("code", i18n.dim_label("outlet", lang) + (" 代码" if lang == "zh" else " code"), html=False),
            Col("reason_code", L("reason_code"), html=False)]
    return Table("complaint_matrix", L("matrix_title"), "投诉原因×网点" if lang == "zh" else "Reason x outlet", cols,
                 rows, note=L("matrix_note"), html_limit=MATRIX_HTML_ROWS)


def handling_table(by_reason: pl.DataFrame, whole: pl.DataFrame, lang: str) -> Table:
    L = lambda k: i18n.t(k, lang)  # noqa: E731

    def row(part: pl.DataFrame, label: str, code: str | None) -> dict[str, Any]:
        vals = {r["kpi"]: r for r in part.iter_rows(named=True)}
        mean, median = vals.get(HANDLING[0]) or {}, vals.get(HANDLING[1]) or {}
        return {"reason": label, "n_records": mean.get("n_records"), "mean": mean.get("value"),
                "median": median.get("value"), "code": code, "_key": code or "_all"}

    body = [row(by_reason.filter(pl.col("complaint_reason").eq_missing(code)), _reason(code, lang), code)
            for code in by_reason["complaint_reason"].unique(maintain_order=True).to_list()]
    body = [r for r in body if r["n_records"]]  # tickets without a reason are mostly not complaints at all
    body.sort(key=lambda r: (-(r["n_records"] or 0), r["code"] or ""))
    rows = [row(whole, L("all_complaints"), None), *body]
    cols = [Col("reason", L("reason"), width=14), Col("n_records", L("n_records"), ",d"),
            Col("mean", R.KPIS[HANDLING[0]].label(lang), ",.1f"), Col("median", R.KPIS[HANDLING[1]].label(lang), ",.1f"),
            Col("code", L("reason_code"), html=False)]
    return Table("complaint_handling", L("handling_title"), "投诉处理时长" if lang == "zh" else "Complaint handling",
                 cols, rows, note=L("handling_note"))


def themes_table(df: pl.DataFrame, lang: str) -> Table:
    L = lambda k: i18n.t(k, lang)  # noqa: E731
    rows = [{"theme": text.theme_label(r["theme"], lang), "reason": _reason(r["reason"], lang) if r["reason"] else "—",
             "complaints": r["complaints"], "share": r["share"], "code": r["theme"], "_key": r["theme"]}
            for r in df.sort(["complaints", "theme"], descending=[True, False]).iter_rows(named=True)]
    chart = charts.bars("chart-complaint-themes", L("themes_title"), [r["theme"] for r in rows],
                        [r["complaints"] for r in rows], ",d")
    return Table("complaint_themes", L("themes_title"), "投诉主题" if lang == "zh" else "Complaint themes",
                 [Col("theme", L("theme"), width=14), Col("reason", L("reason"), width=14),
                  Col("complaints", L("complaints"), ",d"), Col("share", L("share"), ".1%"),
                  Col("code", L("theme_code"), html=False)], rows, note=L("themes_note"), chart=chart)


def themes_by_outlet_table(df: pl.DataFrame, lang: str, outlets: dict[str, str]) -> Table:
    """Per outlet: its complaint texts, its two largest themes and their shares."""
    L = lambda k: i18n.t(k, lang)  # noqa: E731
    rows = []
    for (code,), part in df.group_by("outlet", maintain_order=True):
        part = part.sort(["complaints", "theme"], descending=[True, False])
        top = part.head(2).to_dicts()
        second = top[1] if len(top) > 1 else None
        rows.append({"outlet": L("central_service") if code is None else i18n.value_label("outlet", code, lang, outlets),
                     "texts": int(part["complaints"].sum()), "theme1": text.theme_label(top[0]["theme"], lang),
                     "share1": top[0]["share"], "theme2": text.theme_label(second["theme"], lang) if second else "—",
                     "share2": second["share"] if second else None, "code": code, "_key": code or ""})
    rows.sort(key=lambda r: (-r["texts"], r["code"] or ""))
    cols = [Col("outlet", i18n.dim_label("outlet", lang), width=24), Col("texts", L("complaint_texts"), ",d"),
            Col("theme1", L("top_theme"), width=14), Col("share1", L("share"), ".1%"),
            Col("theme2", L("second_theme"), width=14), Col("share2", L("share"), ".1%"),
            Col("code", i18n.dim_label("outlet", lang) + (" 代码" if lang == "zh" else " code"), html=False)]
    return Table("complaint_themes_outlet", L("themes_outlet_title"), "网点投诉主题" if lang == "zh" else "Themes by outlet",
                 cols, rows, html_limit=MATRIX_HTML_ROWS)


def keywords_table(df: pl.DataFrame, lang: str) -> Table:
    L = lambda k: i18n.t(k, lang)  # noqa: E731
    rows = [{"keyword": r["keyword"], "complaints": r["complaints"], "share": r["share"],
             "theme": text.theme_label(r["theme"], lang) if r["theme"] else "—", "_key": r["keyword"]}
            for r in df.iter_rows(named=True)]
    return Table("complaint_keywords", L("keywords_title"), "投诉关键词" if lang == "zh" else "Complaint keywords",
                 [Col("keyword", L("keyword"), width=12), Col("complaints", L("texts_using"), ",d"),
                  Col("share", L("share"), ".1%"), Col("theme", L("theme"), width=14)], rows)


def repeat_table(df: pl.DataFrame, lang: str) -> Table:
    L = lambda k: i18n.t(k, lang)  # noqa: E731
    sep = "、" if lang == "zh" else ", "
    rows = [{"customer_id": r["customer_id"], "customer_name": r["customer_name"], "customer_phone": r["customer_phone"],
             "complaints": r["complaints"], "reasons": sep.join(_reason(c, lang) for c in r["reasons"]),
             "first_at": r["first_at"], "last_at": r["last_at"], "_key": r["customer_id"]}
            for r in df.head(REPEAT_ROWS).iter_rows(named=True)]
    cols = [Col("customer_id", L("customer_id"), width=12), Col("customer_name", L("customer_name"), width=8),
            Col("customer_phone", L("customer_phone"), width=14), Col("complaints", L("complaints"), ",d"),
            Col("reasons", L("reasons"), width=24), Col("first_at", L("first_complaint"), "datetime"),
            Col("last_at", L("last_complaint"), "datetime")]
    return Table("repeat_complainants", L("repeat_title"), "重复投诉客户" if lang == "zh" else "Repeat complainants",
                 cols, rows, note=L("repeat_note").format(n=len(rows), total=df.height))


def section(futures: dict[str, Any], lang: str, names: dict[str, dict[str, str]]) -> Section | None:
    if not futures:
        return None
    s = Section("complaint_insight", i18n.t("sec_complaints", lang), notes=[i18n.t("complaint_text_masked", lang)])
    matrix = futures["matrix"].result()
    if not matrix.is_empty():
        s.tables.append(matrix_table(matrix, lang, names.get("outlet", {})))
    if "handling" in futures:
        whole = futures["handling_all"].result()
        if not whole.is_empty():
            s.tables.append(handling_table(futures["handling"].result(), whole, lang))
    themes = futures["themes"].result()
    if not themes.is_empty():
        s.tables.append(themes_table(themes, lang))
        s.tables.append(themes_by_outlet_table(futures["themes_outlet"].result(), lang, names.get("outlet", {})))
        s.tables.append(keywords_table(futures["keywords"].result(), lang))
    else:
        s.notes.append(i18n.t("no_complaint_texts", lang))
    s.tables.append(repeat_table(futures["repeat"].result(), lang))
    return s


__all__ = ["section", "submit"]
