"""Building blocks every page renders with: KPI cards, charts and tables that drill down to the
records behind them, downloads (CSV and Excel) and empty states that say why."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from aftersales import model
from dashboard import data
from dashboard import downloads as downloads_
from dashboard import i18n as T
from dashboard.state import Scope
from metrics import registry as R

CODED_COLUMNS = {"channel", "service_type", "priority", "status", "resolution", "complaint_reason", "outlet_type",
                 "product_category", "region", "visit1_outcome", "survey_channel", "stage", "rule",
                 "warranty"}
RECORD_LIMIT = 1000


# -- empty states -----------------------------------------------------------------------------


def empty(key: str, scope: Scope | None = None, lang: str | None = None, **kwargs: Any) -> None:
    """An empty state that says why it is empty."""
    lg = lang or (scope.lang if scope else "zh")
    st.info(T.t(key, lg, **kwargs), icon="ℹ️")


def forecast_run(scope: Scope, kind: str) -> dict | None:
    """The latest stored forecast run of ``kind`` ("workload", "parts") under a caption naming it,
    or None after saying why there is none (no run stored, or the forecasts API missing)."""
    try:
        run = data.latest_run(scope.ver, kind)
    except data.ForecastMissing as exc:
        empty("empty_forecast_api", scope, fn=exc.api)
        return None
    if run is None:
        empty("empty_forecast", scope)
        return None
    st.caption(f"{run['run_id']} · {T.date(run['created_at'], scope.lang)} · {T.t('cut_off', scope.lang)} "
               f"{T.date(run['data_cutoff'], scope.lang)}")
    return run


def unsupported(kpi_id: str, scope: Scope) -> bool:
    """Explain and return True when the global filters do not apply to this KPI."""
    bad = data.unsupported_dims(kpi_id, scope.where, (), scope.data_scope)
    if bad:
        dims = "、".join(R.DIMENSIONS[d].zh if scope.lang == "zh" else R.DIMENSIONS[d].en for d in bad)
        empty("empty_kpi_dims", scope, kpi=R.KPIS[kpi_id].label(scope.lang), dims=dims)
        return True
    return False


# -- KPI cards --------------------------------------------------------------------------------


def kpi_help(k: R.KpiDef, row: dict, lang: str) -> str:
    """The tooltip of a card: definition, records, interval, target, completeness."""
    lines = [k.description_zh if lang == "zh" else k.description, "",
             f"{T.t('hover_n', lang)}: {T.number(row.get('n_records'), lang)}"]
    if not T.is_missing(row.get("ci_low")):
        lines.append(f"{T.t('hover_ci', lang)}: {T.kpi_value(k, row['ci_low'], lang)} – {T.kpi_value(k, row['ci_high'], lang)}")
    if not T.is_missing(row.get("target")):
        lines.append(f"{T.t('target', lang)}: {T.kpi_value(k, row['target'], lang)}")
    if not T.is_missing(row.get("completeness")) and row["completeness"] < 1:
        lines.append(f"{T.t('completeness', lang)}: {row['completeness']:.1%}")
    if row.get("small_sample"):
        lines.append(f"**{T.t('small_sample', lang)}** (< {k.min_sample})")
    return "  \n".join(lines)


def kpi_card(k: R.KpiDef, row: dict | None, scope: Scope, spark: list[float] | None = None,
             period_label: str | None = None) -> None:
    """Value, change against the previous period and last year, status, a small trend."""
    lang = scope.lang
    with st.container(border=True):
        if row is None:
            st.metric(k.label(lang), "—", help=k.description_zh if lang == "zh" else k.description)
            st.caption(T.t("status_no_data", lang))
            return
        colour = {True: "normal", False: "inverse", None: "off"}[k.higher_is_better]
        value = T.kpi_value(k, row.get("value"), lang, compact=True)
        st.metric(k.label(lang), value, delta=T.kpi_change(k, row.get("prev_change"), lang), delta_color=colour,
                  delta_description=T.t("vs_prev", lang) if row.get("prev_change") is not None else None,
                  help=kpi_help(k, row, lang), chart_data=[v for v in (spark or []) if v is not None] or None,
                  chart_type="line")
        bits = []
        yoy = T.kpi_change(k, row.get("yoy_change"), lang)
        if yoy:
            bits.append(f"{T.t('vs_yoy', lang)} {yoy}")
        status = row.get("status")
        if status == "provisional" and row.get("final_on") is not None:
            # the badge short, the date as text: a badge does not wrap, and a narrow card cut it
            bits += [status_badge(status, lang), T.t("final_on_date", lang, date=T.date(row["final_on"], lang))]
        elif status and status != "no_target":
            bits.append(status_badge(status, lang, row.get("final_on")))
        if row.get("small_sample") and status != "too_small":
            bits.append(status_badge("too_small", lang))
        if period_label:
            bits.append(period_label)
        basis = R.describe_basis(k, row.get("basis"), lang)  # e.g. the source's SLA verdict vs the limits
        if basis:
            bits.append(("依据:" if lang == "zh" else "basis: ") + basis)
        st.caption(" · ".join(bits) or " ")


def status_badge(status: str | None, lang: str, final_on: dt.date | None = None) -> str:
    """Markdown badge for a status against target (coloured text: no emoji font needed); a
    provisional number's badge says when it becomes final (暂定,2026年12月1日定稿)."""
    colour = {"met": "green", "missed": "red", "too_small": "gray", "no_data": "gray",
              "provisional": "orange"}.get(status or "", "blue")
    return f":{colour}-badge[{T.status_label(status, lang, final_on)}]"


# -- localisation of frames for display -------------------------------------------------------


def localize(df: pl.DataFrame, lang: str, scope: Scope | None = None, kpi_col: str | None = None) -> pl.DataFrame:
    """Codes to labels and headers to words in ``lang`` (values stay values: downloads keep numbers)."""
    from dashboard.state import labels

    ver = scope.ver if scope is not None else data.version()
    out = df
    for c in df.columns:
        if df[c].dtype != pl.String:
            continue
        if c in CODED_COLUMNS:
            mapping = T.ZH_CODES.get(c) if lang == "zh" else T.EN_CODES.get(c)
            if c == "status":  # the load ledger's statuses beside the tickets'
                mapping = {**(mapping or {}), **{k: T.shared.pick(v, lang) for k, v in T.LOAD_STATUSES.items()}}
        elif c == "rank_method":
            mapping = {k: T.shared.pick(v, lang) for k, v in T.RANK_METHODS.items()}
        elif c == "model":
            mapping = {k: T.shared.pick(v, lang) for k, v in T.MODELS.items()}
        elif c in ("table_name", "table") and lang == "zh":
            mapping = {name: t.zh for name, t in model.TABLES.items() if t.zh}
        elif c == "source" and lang == "zh":  # the mappings that ship for the canonical files
            mapping = {f"canonical-{name}": f"标准格式({t.zh})" for name, t in model.TABLES.items() if t.zh}
        elif c in ("outlet", "technician"):
            mapping = labels(ver, c, lang)
        else:
            continue
        if mapping:
            out = out.with_columns(pl.col(c).replace_strict(mapping, default=pl.col(c), return_dtype=pl.String))
    if kpi_col and kpi_col in out.columns:
        out = out.with_columns(pl.col(kpi_col).replace_strict({k: v.label(lang) for k, v in R.KPIS.items()},
                                                              default=pl.col(kpi_col), return_dtype=pl.String))
    return out.rename({c: T.column_label(c, lang) for c in out.columns})


_VALUE_COLS = ("value", "ci_low", "ci_high", "target", "prev_value", "yoy_value", "score")
_CHANGE_COLS = ("prev_change", "yoy_change")


def format_values(df: pl.DataFrame, lang: str, kpi_id: str | None = None, kpi_col: str = "kpi") -> pl.DataFrame:
    """KPI result columns as text in each KPI's own format (89.3%, 36.5 小时), for display."""
    ids = [kpi_id] * len(df) if kpi_id else df[kpi_col].to_list()
    out = {}
    for c in df.columns:
        vals = df[c].to_list()
        if c in _VALUE_COLS:
            out[c] = [T.kpi_value(R.KPIS[k], v, lang) for k, v in zip(ids, vals, strict=True)]
        elif c in _CHANGE_COLS:
            out[c] = [T.kpi_change(R.KPIS[k], v, lang) for k, v in zip(ids, vals, strict=True)]
        elif c in ("n_records", "numerator", "denominator", "n_excluded", "count"):
            out[c] = [T.number(v, lang) for v in vals]
        elif c in ("completeness", "share"):
            out[c] = ["—" if T.is_missing(v) else f"{v:.1%}" for v in vals]
        elif c == "small_sample":
            out[c] = [T.t("small_sample", lang) if v else "" for v in vals]
        elif c == "status":  # a provisional number with the date it becomes final
            finals = df["final_on"].to_list() if "final_on" in df.columns else [None] * len(vals)
            out[c] = [T.status_label(v, lang, f) for v, f in zip(vals, finals, strict=True)]
        elif c == "rank_method":
            out[c] = [None if v is None else T.shared.pick(T.RANK_METHODS.get(v, (v, v)), lang) for v in vals]
        else:
            continue
    return df.with_columns(**{c: pl.Series(c, v, dtype=pl.String) for c, v in out.items()})


def kpi_table(df: pl.DataFrame, key: str, scope: Scope, name: str, kpi_id: str | None = None,
              selectable: bool = True, height: int | str = "auto") -> int | None:
    """A table of ``metrics`` results: shown formatted, downloaded with its numbers."""
    kpi_col = "kpi" if "kpi" in df.columns else None
    shown = localize(format_values(df, scope.lang, kpi_id), scope.lang, scope, kpi_col=kpi_col)
    raw = localize(_status_words(df, scope.lang), scope.lang, scope, kpi_col=kpi_col)
    return table(raw, key=key, lang=scope.lang, name=name, selectable=selectable, height=height, display=shown,
                 kpi_id=kpi_id)


def _status_words(df: pl.DataFrame, lang: str) -> pl.DataFrame:
    """The status column in words for a download (达标, 暂定,2026年12月1日定稿): numbers stay numbers,
    a status is read, not computed on."""
    if "status" not in df.columns or df["status"].dtype != pl.String:
        return df
    finals = df["final_on"].to_list() if "final_on" in df.columns else [None] * df.height
    words = [T.status_label(v, lang, f) if v else None for v, f in zip(df["status"].to_list(), finals, strict=True)]
    return df.with_columns(pl.Series("status", words, dtype=pl.String))


def _column_config(df: pl.DataFrame, lang: str) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    for c, dtype in df.schema.items():
        if dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
            cfg[c] = st.column_config.DatetimeColumn(format="YYYY年M月D日 HH:mm" if lang == "zh" else "D MMM YYYY, HH:mm")
        elif dtype == pl.Date:
            cfg[c] = st.column_config.DateColumn(format="YYYY年M月D日" if lang == "zh" else "D MMM YYYY")
    return cfg


def _csv_bytes(df: pl.DataFrame, lang: str = "zh") -> bytes:
    """A download as CSV: raw values, said so in its first line (``dashboard.downloads``)."""
    return downloads_.csv_bytes(df, lang)


def _xlsx_bytes(df: pl.DataFrame, lang: str = "zh", kpi_id: str | None = None) -> bytes:
    """A download as a workbook formatted like the report's (``dashboard.downloads``)."""
    return downloads_.xlsx_bytes(df, lang, kpi_id)


def downloads(df: pl.DataFrame, name: str, lang: str, key: str, kpi_id: str | None = None) -> None:
    """CSV and Excel of exactly the table shown (headers in ``lang``), made when clicked; only for
    a principal with the ``download`` permission, each download recorded in the audit trail
    (``dashboard.downloads.export``, which refuses and records below this page too)."""
    from dashboard import signin, state

    principal = state.principal()
    if not principal.can("download"):
        return
    shown = st.session_state.get("_scope")
    filters = {dim: list(v) for dim, v in shown.where} if shown is not None else {}
    db, client = data.settings().db, signin._client()

    def made(fmt: str) -> Callable[[], bytes]:
        return lambda: downloads_.export(principal, df, fmt, what=name, db=db, lang=lang, kpi_id=kpi_id,
                                         filters=filters, client=client)

    row = st.container(horizontal=True)
    row.download_button(T.t("download_csv", lang), data=made("csv"), file_name=f"{name}.csv",
                       mime="text/csv", key=f"{key}_csv", on_click="ignore", icon=":material/download:")
    row.download_button(T.t("download_xlsx", lang), data=made("xlsx"),
                       file_name=f"{name}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key=f"{key}_xlsx", on_click="ignore", icon=":material/download:")


def table(df: pl.DataFrame, key: str, lang: str, name: str | None = None, selectable: bool = True,
          height: int | str = "auto", display: pl.DataFrame | None = None, highlight: str | None = None,
          kpi_id: str | None = None) -> int | None:
    """A table (already localised) with its downloads; returns the selected row's index.
    ``highlight``: a boolean column of ``display`` whose true rows carry a red label (shortfalls)."""
    shown: Any = display if display is not None else df
    if isinstance(height, int):
        height = min(height, 38 + 35 * max(len(shown), 1))  # no empty rows under a short table
    config = _column_config(shown, lang)
    if highlight and highlight in shown.columns:
        # A coloured label column, not a pandas Styler: the Styler costs 1-2 s to import on a
        # page's first view and styles every cell on every rerun.
        flag = T.t("yes", lang)
        shown = shown.with_columns(pl.when(pl.col(highlight).fill_null(False)).then(pl.lit([flag]))
                                   .otherwise(pl.lit([], dtype=pl.List(pl.String))).alias(highlight))
        config[highlight] = st.column_config.MultiselectColumn(options=[flag], color="#d62728")
        for c, dtype in shown.schema.items():
            if dtype.is_float():
                config[c] = st.column_config.NumberColumn(format="localized")
    event = st.dataframe(shown, key=key, hide_index=True, height=height, width="stretch", column_config=config,
                         on_select="rerun" if selectable else "ignore", selection_mode="single-row",
                         placeholder="—")  # a missing value, never Streamlit's "None"
    downloads(df, name or key, lang, key, kpi_id)
    if selectable and event is not None:
        rows = event.selection.rows if hasattr(event, "selection") else []
        return rows[0] if rows else None
    return None


def chart(fig: go.Figure, key: str, selectable: bool = True) -> list | None:
    """A Plotly chart; returns the clicked point's customdata (kpi, period, breakdown, value)."""
    if not selectable:
        st.plotly_chart(fig, key=key, width="stretch", config={"displaylogo": False})
        return None
    event = st.plotly_chart(fig, key=key, width="stretch", on_select="rerun", selection_mode="points",
                            config={"displaylogo": False})
    points = event.selection.points if event is not None and hasattr(event, "selection") else []
    for p in points:
        cd = p.get("customdata")
        if cd:
            return list(cd)
    return None


# -- drill-down -------------------------------------------------------------------------------


def records_panel(scope: Scope, kpi_id: str, *, period_start: dt.date | None = None, grain: str | None = None,
                  extra: dict[str, str] | None = None, only: str | None = None, what: str = "",
                  key: str = "drill", limit: int | None = RECORD_LIMIT, expanded: bool = True) -> None:
    """The records behind a value (the ticket list with details), downloadable."""
    lang = scope.lang
    where = dict(data.dict_where(scope.where))
    for dim, value in (extra or {}).items():
        if value not in (None, ""):
            where[dim] = [value]
    if data.unsupported_dims(kpi_id, data.where_tuple(where), (), scope.data_scope):
        unsupported(kpi_id, scope)
        return
    rec = data.records(scope.ver, scope.data_scope, kpi_id, scope.start, scope.end, data.where_tuple(where),
                       period_start, grain, only,
                       limit)
    with st.expander(T.t("drill_for", lang, what=what or R.KPIS[kpi_id].label(lang)), expanded=expanded):
        if rec.is_empty():
            empty("no_records", scope)
            return
        if limit is not None and len(rec) >= limit:
            st.caption(T.t("showing_first", lang, n=T.number(limit, lang)))
        shown = localize(tidy_records(rec, only), lang, scope)
        table(shown, key=f"{key}_table", lang=lang, name=f"records_{kpi_id}", selectable=False, height=360)


# Columns of a record list worth reading first; the rest follow in their own order.
_FIRST = ("ticket_id", "period_start", "created_at", "resolved_at", "status", "service_type", "channel", "outlet_id",
          "technician_id", "product_model", "resolution", "complaint_reason")


def tidy_records(rec: pl.DataFrame, only: str | None) -> pl.DataFrame:
    """Ticket id first; flags implied by ``only`` and columns empty throughout dropped."""
    drop = {"counted", "in_numerator"} if only == "numerator" else set()
    keep = [c for c in rec.columns if c not in drop and rec[c].null_count() < rec.height]
    first = [c for c in _FIRST if c in keep]
    return rec.select(first + [c for c in keep if c not in first])


def drill_from(point: list | None, scope: Scope, key: str, default: dict | None = None) -> None:
    """Render the records behind a clicked point (``chart``'s customdata), or a hint."""
    lang = scope.lang
    if not point:
        if default:
            records_panel(scope, key=key, **default)
        else:
            st.caption(T.t("pick_to_drill", lang))
        return
    kpi_id, period_iso, dim, value = (list(point) + ["", "", "", ""])[:4]
    if kpi_id not in R.KPIS:
        st.caption(T.t("pick_to_drill", lang))
        return
    period_start = dt.date.fromisoformat(period_iso) if period_iso else None
    extra = {dim: value} if dim and dim in R.DIMENSIONS and value else {}
    bits = [R.KPIS[kpi_id].label(lang)]
    if period_start:
        bits.append(T.period(period_start, scope.grain, lang))
    if extra:
        bits.append(scope.label(dim, value))
    only = "numerator" if kpi_id in ("complaint_rate",) else None
    records_panel(scope, kpi_id, period_start=period_start, grain=scope.grain if period_start else None,
                  extra=extra, what=" · ".join(bits), key=key, only=only)


def sections(scope: Scope, keys: list[str]) -> list[tuple[Any, bool]]:
    """Tabs for a page's sections, run lazily: only the open one computes (its queries are the
    expensive part at 10M tickets). The open tab is in the URL (``tab=``) like the filters."""
    from dashboard.state import BIND

    tabs = st.tabs([T.t(k, scope.lang) for k in keys], key="tab", bind=BIND, on_change="rerun")
    return [(tab, bool(tab.open)) for tab in tabs]


def sections_below(scope: Scope, keys: list[str]) -> tuple[Any, Any, list[tuple[Any, bool]]]:
    """A container for the page's top (cards, trends) and, under it, the section tabs laid out
    before any read runs, so that the reads of the open tab go together with the top's
    (``data.together``). Returns (top, slot, sections); empty ``slot`` to drop the tabs when the
    page turns out to have nothing to show."""
    top, slot = st.container(), st.empty()
    with slot.container():
        tabs = sections(scope, keys)
    return top, slot, tabs


def header(title_key: str, scope: Scope, caption: str | None = None) -> None:
    st.header(T.t(title_key, scope.lang))
    alert_badge(title_key.removeprefix("page_"), scope.lang)
    bits = [f"{T.date(scope.start, scope.lang)} – {T.date(scope.end, scope.lang)}"]
    for dim, values in scope.where:
        d = R.DIMENSIONS[dim]
        bits.append(f"{d.zh if scope.lang == 'zh' else d.en}: " + ", ".join(scope.label(dim, v) for v in values))
    st.caption(" · ".join(bits) + (f"  \n{caption}" if caption else ""))


def alert_badge(page: str, lang: str) -> None:
    """A red badge under a page's title while alerts on its numbers are firing (issue 16)."""
    n = data.alerts_pages(data.alerts_version()).get(page, 0) if page != "alerts" else 0
    if n:
        st.badge(T.t("alerts_badge", lang, n=n), icon=":material/notifications_active:", color="red")


def guard(scope: Scope) -> bool:
    """False (with the reason shown) when there is nothing to show at all."""
    if scope.ver == "missing":
        st.error(T.t("empty_no_db", scope.lang, db=data.settings().db))
        return False
    if scope.data_end is None:
        empty("empty_no_tickets", scope)
        return False
    return True


def handle(fn: Callable[[], None], scope: Scope) -> None:
    """Run a page, turning a metrics UserError (a bad filter value in a URL, say) into a message."""
    from aftersales.errors import UserError

    try:
        fn()
    except UserError as exc:
        st.warning(T.t("error_user", scope.lang, msg=str(exc)))
