"""Data: the load ledger, quarantined rows with their reasons, data freshness, and how complete
each KPI is (records that could not be counted, and why)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from aftersales import model, permits
from dashboard import audit_view, data, state, ui
from dashboard import i18n as T
from metrics import registry as R


def freshness(scope: state.Scope) -> None:
    lang = scope.lang
    fr = data.freshness(scope.ver)
    ledger = data.ledger(scope.ver)
    c1, c2, c3 = st.columns(3)
    c1.metric(T.t("db_file", lang), data.settings().db.name, help=str(data.settings().db))
    if not ledger.is_empty():
        last = ledger["finished_at"].max()
        c2.metric(T.t("last_load", lang), T.date(last.date(), lang),
                  help=f"{T.date(last, lang)} · {T.t('load_id', lang)} {ledger['load_id'].max()}")
    if scope.data_end is not None:
        days = (dt.datetime.now() - scope.data_end).days
        c3.metric(T.t("latest_data", lang), T.date(scope.data_end.date(), lang), help=T.date(scope.data_end, lang),
                  delta=T.t("days_ago", lang, n=days), delta_color="off", delta_arrow="off")
    shown = fr.with_columns(pl.col("table").map_elements(
        lambda t: model.TABLES[t].zh if lang == "zh" and t in model.TABLES else t,
        return_dtype=pl.String))
    ui.table(ui.localize(shown, lang), key="freshness", lang=lang, name="freshness", selectable=False)


def completeness(scope: state.Scope) -> None:
    """Per KPI over the selected range: records counted, records that could not be, and why."""
    lang = scope.lang
    df = data.kpis(scope.ver, scope.data_scope, tuple(R.KPIS), None, scope.start, scope.end, scope.where)
    if df.is_empty():
        ui.empty("empty_filter", scope)
        return

    def reasons(kpi_id: str, text: str | None) -> str:
        if not text:
            return ""
        labels = {e.reason: (e.zh if lang == "zh" else e.en) for e in R.KPIS[kpi_id].exclusions}
        parts = []
        for item in text.split("; "):
            code, _, n = item.partition(": ")
            parts.append(f"{labels.get(code, code)}: {T.number(int(n), lang)}" if n.isdigit() else item)
        return "; ".join(parts)

    df = df.with_columns(pl.Series("excluded_reason", [reasons(k, r) for k, r in zip(
        df["kpi"].to_list(), df["excluded_reason"].to_list(), strict=True)], dtype=pl.String))
    # final_on: a number not final yet is that much less complete (metrics.maturity)
    picked = ui.kpi_table(df.select("kpi", "completeness", "final_on", "n_records", "n_excluded", "excluded_reason",
                                    "value", "small_sample"), "completeness", scope, "completeness",
                          height=40 + 35 * df.height)
    if picked is None:
        st.caption(T.t("pick_to_drill", lang))
        return
    kpi_id = df["kpi"][picked]
    ui.records_panel(scope, kpi_id, only="excluded", key="excluded",
                     what=f"{R.KPIS[kpi_id].label(lang)} · {T.t('excluded', lang)}")


def quarantine(scope: state.Scope) -> None:
    lang = scope.lang
    principal = state.principal()
    unmask = False
    if principal.can("unmask"):  # issue 17: the toggle only for those allowed to use it
        unmask = st.toggle(T.t("unmask_toggle", lang), key="q_unmask")
    if unmask:
        st.warning(T.t("unmask_on", lang), icon=":material/visibility:")
        rows, by_rule = _quarantine_unmasked(principal, lang)
    else:
        rows, by_rule = data.quarantine(scope.ver)
    if rows.is_empty():
        ui.empty("empty_quarantine", scope)
        return
    if "raw" in rows.columns:
        rows = rows.with_columns(raw=pl.col("raw").map_elements(lambda r: T.raw_row(r, lang), return_dtype=pl.String))
    if "message" in rows.columns and lang == "zh":  # the loader's messages are English: the reason in Chinese
        rows = rows.with_columns(message=pl.Series([T.quarantine_message(r, c, m, lang) for r, c, m in zip(
            rows["rule"].to_list(), rows["column_name"].to_list(), rows["message"].to_list(), strict=True)],
            dtype=pl.String))
        if "column_name" in rows.columns:
            rows = rows.with_columns(pl.col("column_name").replace_strict(T._MODEL_ZH, default=pl.col("column_name"),
                                                                           return_dtype=pl.String))
    c1, c2 = st.columns([1, 3])
    with c1:
        st.caption(T.t("by_rule", lang))
        ui.table(ui.localize(by_rule, lang), key="q_rules", lang=lang, name="quarantine_by_rule", selectable=False)
    with c2:
        ui.table(ui.localize(rows, lang), key="q_rows", lang=lang, name="quarantine", selectable=False, height=360)


def _quarantine_unmasked(principal: object, lang: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Quarantined rows with names and phones as written: refused without ``unmask`` whatever the
    toggle said, and never cached (unmasked rows stay out of a cache other sessions share)."""
    from pipelines import status

    permits.require(principal, "unmask", lang)
    with data.snapshot() as con:
        return status.quarantine(con, 1000, unmask=True), status.quarantine_counts(con)


def prefetch(scope: state.Scope, stage: str = "first") -> None:
    """The queries of the default view, for the cache warmer (see ``dashboard.warm``): all of it
    in the "first" stage, nothing in "rest", in "aggregates" the KPI values one-value filters
    are answered from."""
    if stage == "rest":
        return
    aggregates_only = stage == "aggregates"
    data.kpis(scope.ver, scope.data_scope, tuple(R.KPIS), None, scope.start, scope.end, scope.where)
    if not aggregates_only:
        data.freshness(scope.ver)
        data.ledger(scope.ver)
        data.quarantine(scope.ver)


def render() -> None:
    scope = state.current()
    lang = scope.lang
    if scope.ver == "missing":
        ui.guard(scope)
        return
    ui.header("page_data", scope)
    principal = state.principal()
    sections = {"tab_loads": lambda: loads(scope), "completeness_per_kpi": lambda: completeness_tab(scope)}
    # quarantined rows are raw records of any outlet: only for a whole-company data scope (issue 17)
    if permits.allowed(principal, "whole_company"):
        sections = {"tab_loads": sections["tab_loads"], "quarantine": lambda: quarantine(scope),
                    "completeness_per_kpi": sections["completeness_per_kpi"]}
    if permits.allowed(principal, "audit"):  # issue 17: head office only
        sections["tab_audit"] = lambda: audit_view.render(principal, lang)
    for (tab, is_open), show in zip(ui.sections(scope, list(sections)), sections.values(), strict=True):
        if is_open:  # only the open tab computes
            with tab:
                show()


def loads(scope: state.Scope) -> None:
    lang = scope.lang
    st.subheader(T.t("freshness", lang))
    freshness(scope)
    st.subheader(T.t("ledger", lang))
    ledger = data.ledger(scope.ver)
    if ledger.is_empty():
        ui.empty("empty_ledger", scope)
    else:
        ui.table(ui.localize(ledger, lang), key="ledger", lang=lang, name="load_ledger", selectable=False, height=300)


def completeness_tab(scope: state.Scope) -> None:
    if scope.data_end is None:
        ui.empty("empty_no_tickets", scope)
    else:
        completeness(scope)

if __name__ == "__main__":
    ui.handle(render, state.current())
