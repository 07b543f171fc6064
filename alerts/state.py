"""Alert state and the send log, in DuckDB, and the rule that decides what is sent.

They live in their own DuckDB file beside the database (``aftersales.alerts.duckdb`` beside
``aftersales.duckdb``), written through ``aftersales.db.writer`` (copy, write, publish): a check
every few minutes then copies a small file, not the whole database, never waits for a load, and
a load publishing its new database never drops alert state written meanwhile.

An alert (rule × key) fires once when its condition starts; while it lasts it is sent again only
after the rule's cooldown or when it worsens (its distance past the threshold grew by
``worsen_by``); a "resolved" is sent when a judged value no longer meets the condition (or the key
is gone from the rule's results). A value not judged (too small a sample, provisional) changes
nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from aftersales.db import connect_readonly
from alerts.evaluate import Observation
from alerts.settings import Rule

DDL = """
CREATE SEQUENCE IF NOT EXISTS alert_event_seq START 1;
-- One row per rule x key ever observed: its latest value and whether it is firing.
CREATE TABLE IF NOT EXISTS alert_state (
    rule_id      VARCHAR NOT NULL,
    key          VARCHAR NOT NULL,
    firing       BOOLEAN NOT NULL,
    judged       BOOLEAN NOT NULL,
    value        DOUBLE,
    compared     DOUBLE,
    compared_kind VARCHAR,
    excess       DOUBLE,
    sample       BIGINT,
    period       VARCHAR,
    note         VARCHAR,
    page         VARCHAR,
    filters      JSON,
    started_at   TIMESTAMP,   -- when the current firing began
    last_sent_at TIMESTAMP,   -- the last fire / repeat / worse event
    sent_excess  DOUBLE,      -- its excess then (worsening is measured from it)
    resolved_at  TIMESTAMP,
    checked_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (rule_id, key)
);
-- Every event decided: fire | worse | repeat | resolve.
CREATE TABLE IF NOT EXISTS alert_events (
    event_id   BIGINT PRIMARY KEY,
    rule_id    VARCHAR NOT NULL,
    key        VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,
    event_at   TIMESTAMP NOT NULL,
    value      DOUBLE,
    compared   DOUBLE,
    sample     BIGINT,
    title      VARCHAR NOT NULL,
    body       VARCHAR NOT NULL
);
-- Alerts muted from the dashboard by someone allowed to manage alerts (alerts.manage): their
-- events are still judged and stored, not sent, until muted_until.
CREATE TABLE IF NOT EXISTS alert_mutes (
    rule_id     VARCHAR NOT NULL,
    key         VARCHAR NOT NULL,
    muted_until TIMESTAMP NOT NULL,
    muted_by    VARCHAR NOT NULL,
    muted_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (rule_id, key)
);
-- Every send of an event to a target: sent | failed, after how many attempts, and why not.
CREATE TABLE IF NOT EXISTS alert_sends (
    event_id   BIGINT NOT NULL,
    target     VARCHAR NOT NULL,
    sent_at    TIMESTAMP NOT NULL,
    status     VARCHAR NOT NULL,
    attempts   INTEGER NOT NULL,
    error      VARCHAR
);
"""


def state_path(db_path: Path) -> Path:
    """``data/aftersales.alerts.duckdb`` for ``data/aftersales.duckdb``."""
    db_path = Path(db_path)
    return db_path.with_name(f"{db_path.stem}.alerts.duckdb")


@dataclass
class Prev:
    firing: bool
    started_at: dt.datetime | None
    last_sent_at: dt.datetime | None
    sent_excess: float | None


def load_prev(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], Prev]:
    rows = con.execute("SELECT rule_id, key, firing, started_at, last_sent_at, sent_excess FROM alert_state").fetchall()
    return {(r, k): Prev(f, s, ls, se) for r, k, f, s, ls, se in rows}


def load_mutes(con: duckdb.DuckDBPyConnection, now: dt.datetime) -> set[tuple[str, str]]:
    """The (rule, key) pairs muted at ``now``."""
    return {(r, k) for r, k in con.execute("SELECT rule_id, key FROM alert_mutes WHERE muted_until > $now",
                                           {"now": now}).fetchall()}


def decide(prev: Prev | None, ob: Observation, rule: Rule, now: dt.datetime) -> str | None:
    """The event this observation makes: fire | worse | repeat | resolve, or None (nothing to send)."""
    if not ob.judged:
        return None
    was = prev is not None and prev.firing
    if not ob.firing:
        return "resolve" if was else None
    if not was:
        return "fire"
    sent = prev.sent_excess or 0.0
    if ob.excess > sent and ob.excess >= sent * (1.0 + rule.worsen_by) and ob.excess - sent > 1e-12:
        return "worse"
    if prev.last_sent_at is None or now - prev.last_sent_at >= dt.timedelta(hours=rule.cooldown_hours):
        return "repeat"
    return None


def gone(prev: dict[tuple[str, str], Prev], seen: set[tuple[str, str]], rule_ids: set[str]) -> list[tuple[str, str]]:
    """Firing alerts of rules evaluated this time whose key no longer appears: resolved."""
    return [k for k, p in prev.items() if p.firing and k[0] in rule_ids and k not in seen]


def save_observation(con: duckdb.DuckDBPyConnection, ob: Observation, event: str | None, now: dt.datetime,
                     prev: Prev | None) -> None:
    firing = (prev.firing if prev else False) if not ob.judged else ob.firing
    started = prev.started_at if prev and prev.firing else None
    last_sent, sent_excess = (prev.last_sent_at, prev.sent_excess) if prev else (None, None)
    resolved = None
    if event == "fire":
        started, last_sent, sent_excess = now, now, ob.excess
    elif event in ("worse", "repeat"):
        last_sent, sent_excess = now, ob.excess
    elif event == "resolve":
        started, resolved = None, now
    con.execute(
        "INSERT OR REPLACE INTO alert_state VALUES ($rule, $key, $firing, $judged, $value, $compared, $ck, $excess, "
        "$sample, $period, $note, $page, $filters, $started, $last_sent, $sent_excess, $resolved, $now)",
        {"rule": ob.rule_id, "key": ob.key, "firing": firing, "judged": ob.judged, "value": ob.value,
         "compared": ob.compared, "ck": ob.compared_kind, "excess": ob.excess, "sample": ob.sample,
         "period": ob.period, "note": ob.note, "page": ob.page, "filters": json.dumps(ob.filters, ensure_ascii=False),
         "started": started, "last_sent": last_sent, "sent_excess": sent_excess, "resolved": resolved, "now": now})


def resolve_gone(con: duckdb.DuckDBPyConnection, key: tuple[str, str], now: dt.datetime) -> None:
    con.execute("UPDATE alert_state SET firing = false, started_at = NULL, resolved_at = $now, checked_at = $now, "
                "note = 'gone' WHERE rule_id = $r AND key = $k", {"now": now, "r": key[0], "k": key[1]})


def add_event(con: duckdb.DuckDBPyConnection, ob: Observation | None, key: tuple[str, str], kind: str,
              now: dt.datetime, title: str, body: str) -> int:
    return con.execute(
        "INSERT INTO alert_events VALUES (nextval('alert_event_seq'), $r, $k, $kind, $at, $v, $c, $n, $t, $b) "
        "RETURNING event_id",
        {"r": key[0], "k": key[1], "kind": kind, "at": now, "v": ob.value if ob else None,
         "c": ob.compared if ob else None, "n": ob.sample if ob else None, "t": title, "b": body}).fetchall()[0][0]


def add_send(con: duckdb.DuckDBPyConnection, event_id: int, target: str, at: dt.datetime, status: str,
             attempts: int, error: str | None) -> None:
    con.execute("INSERT INTO alert_sends VALUES ($e, $t, $at, $s, $a, $err)",
                {"e": event_id, "t": target, "at": at, "s": status, "a": attempts, "err": error})


def read(db_path: Path, sql: str, params: dict | None = None) -> list[tuple]:
    """Rows from the state file (read-only); none when no check has run yet. Opened through its
    own descriptor where /proc allows (as the dashboard opens the database): DuckDB caches open
    files by path, so a reader in another thread could otherwise be handed the file a check has
    just replaced."""
    path = state_path(db_path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return []
    try:
        pinned = Path(f"/proc/self/fd/{fd}")
        con = connect_readonly(pinned if pinned.exists() else path)
        try:
            return con.execute(sql, params or {}).fetchall()
        except duckdb.CatalogException:
            return []
        finally:
            con.close()
    finally:
        os.close(fd)
