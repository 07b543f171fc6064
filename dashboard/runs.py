"""Which stored forecast run a page shows: the pipeline's (database) latest run by default, or
another run a planner picks, each labelled with its source (the database, or a file with its
SHA-256), frequency, data cut-off and when it ran. Runs from a planner's file never replace the
pipeline's run as the default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from aftersales import permits
from dashboard import data, state, ui
from dashboard import i18n as T

DATABASE = "database"  # forecasts.store.DATABASE: the source of the pipeline's runs


def is_file_run(run: dict[str, Any]) -> bool:
    return run.get("source") != DATABASE


def run_label(row: dict[str, Any], lang: str) -> str:
    """``流水线数据库 · 按日 · 数据截止 2026年10月31日 · 运行于 ...`` or ``文件 calls.csv · 按周 · ... · SHA-256 1a2b3c4d``."""
    source = row.get("source") or DATABASE
    parts = [T.t("run_database", lang) if source == DATABASE else T.t("run_file", lang, name=Path(source).name)]
    if row.get("freq"):
        parts.append(T.t(f"freq_{row['freq']}", lang))
    parts.append(f"{T.t('cut_off', lang)} {T.date(row.get('data_cutoff'), lang)}")
    parts.append(T.t("run_created", lang, t=T.date(row.get("created_at"), lang)))
    if row.get("source_sha256"):
        parts.append(f"SHA-256 {row['source_sha256'][:8]}")
    return " · ".join(parts)


def default_index(runs: pl.DataFrame) -> int:
    """The newest database run (runs are newest first), else the newest run of any source."""
    sources = runs["source"].to_list()
    return sources.index(DATABASE) if DATABASE in sources else 0


def not_forecast_rows(run: dict[str, Any], lang: str) -> pl.DataFrame:
    """The series a file run left out, with why, in the page's language."""
    items = (run.get("params") or {}).get("not_forecast") or []
    return pl.DataFrame({
        T.t("series", lang): [str(i.get("unique_id")) for i in items],
        T.t("reason", lang): [T.t(f"nf_{i['code']}", lang, n=i.get("n")) if i.get("code") else str(i.get("reason"))
                              for i in items]}, schema={T.t("series", lang): pl.String, T.t("reason", lang): pl.String})


def pick(scope: state.Scope, kind: str) -> dict[str, Any] | None:
    """The run of ``kind`` ('workload', 'parts') the page shows, after a picker labelled with
    each run's source and cut-off; None after saying why there is none. Refused (issue 17)
    without the ``forecasts`` permission, whichever page asks."""
    lang = scope.lang
    permits.require(state.principal(), "forecasts", lang)
    try:
        runs = data.list_runs(scope.ver, kind)
    except data.ForecastMissing as exc:
        ui.empty("empty_forecast_api", scope, fn=exc.api)
        return None
    if runs.is_empty():
        ui.empty("empty_forecast", scope)
        return None
    rows = {r["run_id"]: r for r in runs.to_dicts()}
    ids = list(rows)
    run_id = st.selectbox(T.t("run_pick", lang), ids, index=default_index(runs),
                          format_func=lambda i: run_label(rows[i], lang) if i in rows else str(i),
                          key=f"run_{kind}", bind=state.BIND, help=T.t("run_pick_help", lang))
    run = data.get_run(scope.ver, run_id if run_id in rows else ids[default_index(runs)])
    if run is None:
        ui.empty("empty_forecast", scope)
        return None
    st.caption(f"{run['run_id']} · {run_label(run, lang)}")
    skipped = not_forecast_rows(run, lang)
    if skipped.height:
        with st.expander(T.t("not_forecast", lang, n=skipped.height)):
            st.dataframe(skipped, hide_index=True, width="stretch", placeholder="—")
    return run
