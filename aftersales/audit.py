"""The audit trail: sign-ins, failed sign-ins, lock-outs and sessions ended, in DuckDB.

It lives in its own small DuckDB file beside the database (``aftersales.audit.duckdb`` beside
``aftersales.duckdb``), written through ``aftersales.db.writer`` (copy, write, publish) as the
alert state is: a sign-in copies a small file, never waits for a load, and a load publishing a
new database never drops an audit row written meanwhile.

Kinds recorded here: ``sign_in``, ``sign_in_failed`` (its reason: bad_credentials, disabled,
locked), ``locked_out`` (the failure that locked the account), ``sign_out``, ``session_ended``
(expired, idle, revoked), ``download`` (``record_download``: what, format, rows, the data scope
and filters, in ``detail``) and ``report_send`` (``record_report_send``: which pack, to which
target, how many recipients, ``reason`` ok or failed).

Times are UTC (``at_utc``); ``read`` gives them back as they were stored.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from aftersales.db import connect_readonly, writer
from aftersales.errors import UserError, clip
from aftersales.safe_export import neutralise_frame

KINDS = ("sign_in", "sign_in_failed", "locked_out", "sign_out", "session_ended", "download", "report_send")

DDL = """
CREATE SEQUENCE IF NOT EXISTS audit_event_seq START 1;
CREATE TABLE IF NOT EXISTS audit_events (
    event_id  BIGINT PRIMARY KEY,
    at_utc    TIMESTAMP NOT NULL,
    kind      VARCHAR NOT NULL,
    username  VARCHAR,          -- as typed, for a failed sign-in (clipped)
    role      VARCHAR,
    method    VARCHAR,          -- password | oidc | none
    reason    VARCHAR,          -- why refused or ended
    client    VARCHAR,          -- the browser's address, where known
    detail    JSON
);
"""
COLUMNS = ("event_id", "at_utc", "kind", "username", "role", "method", "reason", "client", "detail")


def audit_path(db_path: Path) -> Path:
    """``data/aftersales.audit.duckdb`` for ``data/aftersales.duckdb``."""
    db_path = Path(db_path)
    return db_path.with_name(f"{db_path.stem}.audit.duckdb")


def record(db_path: Path, kind: str, username: str | None = None, *, role: str | None = None,
           method: str | None = None, reason: str | None = None, client: str | None = None,
           detail: dict[str, Any] | None = None, now: dt.datetime | None = None) -> int:
    """Store one event; its id. Raises when it cannot be stored (the caller decides: a sign-in
    that cannot be audited is refused)."""
    if kind not in KINDS:
        raise ValueError(f"unknown audit kind {kind!r}")
    at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None)
    with writer(audit_path(db_path)) as con:
        con.execute(DDL)
        return con.execute(
            "INSERT INTO audit_events VALUES (nextval('audit_event_seq'), $at, $kind, $user, $role, $method, $reason, "
            "$client, $detail) RETURNING event_id",
            {"at": at, "kind": kind, "user": clip(username, 64) if username is not None else None, "role": role,
             "method": method, "reason": reason, "client": clip(client, 64) if client else None,
             "detail": json.dumps(detail, ensure_ascii=False) if detail else None}).fetchall()[0][0]


def record_download(db_path: Path, principal: Any, what: str, fmt: str, rows: int,
                    filters: dict[str, list[str]] | None = None, client: str | None = None) -> int:
    """One download: who (the principal's account, role, sign-in method), what (the table's
    name), its format (csv, xlsx, html), how many rows, the principal's data scope and the filters
    the table was read with. Raises when it cannot be stored: the caller hands out no file then."""
    detail = {"what": what, "format": fmt, "rows": int(rows), "scope": principal.scope.as_dict(),
              "filters": {k: list(v) for k, v in (filters or {}).items()}}
    return record(db_path, "download", principal.username, role=principal.role, method=principal.method,
                  client=client, detail=detail)


def record_report_send(db_path: Path, pack: str, target: str, kind: str, recipients: int | None, ok: bool,
                       error: str | None = None, where: dict[str, list[str]] | None = None,
                       sender: str | None = None) -> int:
    """One report pack sent to one target (``aftersales report --send``, by hand or from cron):
    which pack (its file stem), the target and its kind, how many recipients (a mail's
    addresses; a group robot counts as one), ``reason`` ok or failed (with the error), the pack's
    filters. ``sender``: the account that ran it (the operating system's user from cron)."""
    detail = {"pack": pack, "target": target, "target_kind": kind, "recipients": recipients,
              "filters": {k: list(v) for k, v in (where or {}).items()}}
    if error:
        detail["error"] = clip(error, 300)
    return record(db_path, "report_send", sender, method="cli", reason="ok" if ok else "failed", detail=detail)


def os_user() -> str:
    """The operating system's user running a command (cron's sends are recorded under it)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no name for this uid (a container): its number
        return f"uid {os.getuid()}"


def read(db_path: Path, since: dt.datetime | None = None, until: dt.datetime | None = None,
         kinds: tuple[str, ...] = (), username: str | None = None, newest_first: bool = False,
         limit: int | None = None) -> pl.DataFrame:
    """Audit events, oldest first (``newest_first``: the other way), filtered by time (UTC,
    ``since`` inclusive, ``until`` exclusive), kinds and user, at most ``limit``; an empty frame
    of the same columns when none were stored yet."""
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise UserError(f"unknown audit kind {clip(bad[0])!r}; valid: {', '.join(KINDS)}")
    sql = ["SELECT * FROM audit_events WHERE true"]
    params: dict[str, Any] = {}
    if since is not None:
        sql.append("AND at_utc >= $since")
        params["since"] = since
    if until is not None:
        sql.append("AND at_utc < $until")
        params["until"] = until
    if kinds:
        sql.append("AND list_contains($kinds, kind)")
        params["kinds"] = list(kinds)
    if username is not None:
        sql.append("AND username = $user")
        params["user"] = username
    sql.append("ORDER BY event_id DESC" if newest_first else "ORDER BY event_id")
    if limit is not None:
        sql.append("LIMIT $limit")
        params["limit"] = int(limit)
    empty = pl.DataFrame(schema={"event_id": pl.Int64, "at_utc": pl.Datetime("us"), **{
        c: pl.String for c in COLUMNS[2:]}})
    path = audit_path(db_path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return empty
    try:
        # opened through its own descriptor: DuckDB caches open files by path, and a sign-in may
        # have just replaced this one (as alerts.state reads its file)
        pinned = Path(f"/proc/self/fd/{fd}")
        con = connect_readonly(pinned if pinned.exists() else path)
        try:
            df = pl.DataFrame(con.execute(" ".join(sql), params).fetchall(), schema=empty.schema, orient="row")
        except duckdb.CatalogException:
            return empty
        finally:
            con.close()
    finally:
        os.close(fd)
    return df


def export(df: pl.DataFrame, out: Path) -> int:
    """Write audit events to ``out`` (.csv, UTF-8 with BOM so that Excel reads the Chinese, or
    .xlsx), formula-safe (a typed user name such as ``=HYPERLINK(…)`` stays text); rows written."""
    out = Path(out)
    safe = neutralise_frame(df)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        out.write_bytes(b"\xef\xbb\xbf" + safe.write_csv().encode("utf-8"))
    elif suffix == ".xlsx":
        safe.write_excel(out, worksheet="audit")
    else:
        raise UserError(f"{clip(out)}: write the audit to a .csv or .xlsx file")
    return safe.height


# -- in words (the Data page, `aftersales audit`) ------------------------------------------------

KIND_WORDS = {
    "sign_in": ("登录", "Sign-in"), "sign_in_failed": ("登录失败", "Failed sign-in"),
    "locked_out": ("账号锁定", "Locked out"), "sign_out": ("退出登录", "Sign-out"),
    "session_ended": ("会话结束", "Session ended"), "download": ("下载", "Download"),
    "report_send": ("报表发送", "Report sent"),
}
REASON_WORDS = {
    "bad_credentials": ("用户名或密码错误", "wrong user name or password"), "disabled": ("账号已停用", "disabled"),
    "locked": ("账号已锁定", "locked"), "expired": ("登录过期", "expired"), "idle": ("长时间未操作", "idle"),
    "revoked": ("账号已变更", "account changed"), "no_role": ("未分配角色", "no role"),
    "ok": ("成功", "ok"), "failed": ("失败", "failed"),
}
METHOD_WORDS = {"password": ("密码", "password"), "oidc": ("企业账号", "company account"),
                "none": ("未登录(本机)", "none (this machine)"), "cli": ("命令行", "command line")}


TARGET_WORDS = {"mail": ("邮件", "mail"), "wecom": ("企业微信", "WeCom"), "dingtalk": ("钉钉", "DingTalk"),
                "feishu": ("飞书", "Feishu"), "apprise": ("Apprise", "Apprise")}
_SCOPE_WORDS = {"regions": ("区域", "regions"), "outlets": ("网点", "outlets"), "outlet_types": ("网点类型", "outlet types")}


def _dim_word(dim: str, lang: str) -> str:
    """A filter's breakdown in words (大区, 渠道), from the model's column names."""
    if lang != "zh":
        return dim
    from aftersales import model

    for table in ("tickets", "outlets", "products"):
        for c in model.TABLES[table].columns:
            if c.name in (dim, f"{dim}_id") and c.zh:
                return c.zh
    return dim


def describe(kind: str, raw: str | None, lang: str) -> tuple[str, int | None, int | None]:
    """(what happened, in words; rows downloaded; recipients of a send) for an event's ``detail``:
    a download as the file it was (load_ledger.csv) with the scope and filters it was read with,
    a send as the pack and where it went. Codes (regions, outlets, target names) stay codes."""
    if not raw:
        return "", None, None
    try:
        d = json.loads(raw)
    except ValueError:
        return raw, None, None
    zh = lang == "zh"
    if kind == "download":
        dims = {"regions": "region", "outlets": "outlet", "outlet_types": "outlet_type"}
        scope = {_SCOPE_WORDS.get(k, (k, k))[0 if zh else 1]: _labels(dims.get(k, k), v, lang)
                 for k, v in (d.get("scope") or {}).items() if v}
        filters = {_dim_word(k, lang): _labels(k, v, lang) for k, v in (d.get("filters") or {}).items() if v}
        text = f"{d.get('what', '')}.{d.get('format', '')}"
        text += " · " + (("范围 " if zh else "scope ") + _pairs(scope) if scope else ("全公司" if zh else "whole company"))
        if filters:
            text += " · " + ("筛选 " if zh else "filters ") + _pairs(filters)
        return text, d.get("rows"), None
    if kind == "report_send":
        via = TARGET_WORDS.get(str(d.get("target_kind")), (d.get("target_kind"), d.get("target_kind")))[0 if zh else 1]
        text = f"{d.get('pack', '')} → {d.get('target', '')}({via})" if zh else \
            f"{d.get('pack', '')} → {d.get('target', '')} ({via})"
        if d.get("error"):
            text += " · " + str(d["error"])
        return text, None, d.get("recipients")
    return "; ".join(f"{k}={v}" for k, v in d.items()), None, None


def _labels(dim: str, codes: list[str], lang: str) -> list[str]:
    """Codes as a reader knows them (east → 华东); a code without a label (an outlet) as it is."""
    from aftersales.i18n import code_label

    return [code_label(dim, c, lang) or c for c in codes]


def _pairs(parts: dict[str, list[str]]) -> str:
    return " ".join(f"{k}={','.join(map(str, v))}" for k, v in parts.items())
