"""The audit trail on the Data page (issue 17): sign-ins, failures, lock-outs, ended sessions,
downloads and report sends, newest first, filtered by kind, user and date, counted in 条, and
downloadable like every table (formula-safe, the download itself audited). Head office only:
``frame`` refuses anyone else below the page (``aftersales.permits``)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import polars as pl
import streamlit as st

from aftersales import audit, permits
from aftersales.principal import Principal
from dashboard import data, ui
from dashboard import i18n as T

LIMIT = 2000  # the newest this many of a selection are shown; the export (aftersales audit --out) has all
COLUMNS = {"at": ("时间", "Time"), "kind": ("类型", "Kind"), "username": ("用户", "User"),
           "role": ("角色", "Role"), "method": ("方式", "Method"), "reason": ("结果/原因", "Result / reason"),
           "client": ("来源地址", "Client"), "detail": ("详情", "Detail"), "rows": ("行数", "Rows"),
           "recipients": ("收件人数", "Recipients")}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def frame(principal: Principal, db: Any, kinds: tuple[str, ...] = (), username: str | None = None,
          since: dt.datetime | None = None, until: dt.datetime | None = None,
          limit: int | None = LIMIT) -> pl.DataFrame:
    """The audit events (UTC bounds), newest first: head office only (``permits.Refused``)."""
    permits.require(principal, "audit")
    return audit.read(db, since, until, kinds, username or None, newest_first=True, limit=limit)


def shown(df: pl.DataFrame, lang: str, tz: str) -> pl.DataFrame:
    """The events for reading: local times, kinds, reasons and methods in words, the detail
    summarised (rows downloaded and recipients as numbers of their own)."""
    zone = zoneinfo.ZoneInfo(tz)
    at = [None if t is None else t.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None)
          for t in df["at_utc"].to_list()]
    details = [audit.describe(k, r, lang) for k, r in zip(df["kind"].to_list(), df["detail"].to_list(), strict=True)]

    def words(col: str, table: dict[str, tuple[str, str]]) -> list[str | None]:
        return [None if v is None else _pick(table[v], lang) if v in table else v for v in df[col].to_list()]

    from aftersales.principal import ROLES

    roles = {k: (r.zh, r.en) for k, r in ROLES.items()}
    out = pl.DataFrame({
        "at": pl.Series(at, dtype=pl.Datetime("us")), "kind": words("kind", audit.KIND_WORDS),
        "username": df["username"], "role": words("role", roles), "method": words("method", audit.METHOD_WORDS),
        "reason": words("reason", audit.REASON_WORDS), "detail": [d[0] for d in details],
        "rows": pl.Series([d[1] for d in details], dtype=pl.Int64),
        "recipients": pl.Series([d[2] for d in details], dtype=pl.Int64), "client": df["client"]},
        schema_overrides={"kind": pl.String, "role": pl.String, "method": pl.String, "reason": pl.String,
                          "detail": pl.String})
    return out.rename({c: _pick(COLUMNS[c], lang) for c in out.columns})


def render(principal: Principal, lang: str) -> None:
    """The audit section: filters, the count, the table with its downloads."""
    if not permits.allowed(principal, "audit"):
        st.error(str(permits.Refused("audit", lang)), icon=":material/lock:")
        return
    settings = data.settings()
    tz = str(settings.config.get("timezone") or "Asia/Shanghai")
    zone = zoneinfo.ZoneInfo(tz)
    today = dt.datetime.now(zone).date()
    c1, c2, c3 = st.columns([2, 1, 2])
    kinds = c1.multiselect(T.t("audit_kind", lang), list(audit.KINDS), format_func=lambda k: _pick(audit.KIND_WORDS[k], lang),
                           placeholder=T.t("all", lang), key="audit_kinds")
    user = c2.text_input(T.t("audit_user", lang), key="audit_user").strip()
    picked = c3.date_input(T.t("audit_dates", lang), value=(today - dt.timedelta(days=29), today), format="YYYY-MM-DD",
                           key="audit_dates")
    start, end = (picked if isinstance(picked, (tuple, list)) and len(picked) == 2 else (today - dt.timedelta(days=29), today))

    def utc(d: dt.date) -> dt.datetime:  # a local day's start, in UTC (as stored)
        return dt.datetime(d.year, d.month, d.day, tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)

    df = frame(principal, settings.db, tuple(kinds), user or None, utc(start), utc(end + dt.timedelta(days=1)),
               limit=None)
    if df.is_empty():
        ui.empty("audit_none", lang=lang)
        return
    st.caption(T.t("audit_count", lang, n=T.number(df.height, lang)))
    if df.height > LIMIT:
        st.caption(T.t("audit_more", lang, n=T.number(LIMIT, lang)))
        df = df.head(LIMIT)
    ui.table(shown(df, lang, tz), key="audit_table", lang=lang, name="audit", selectable=False, height=420)
