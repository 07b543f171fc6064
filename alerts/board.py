"""What the dashboard's Alerts page and its badges read (polars frames from the state file; no
streamlit here): what is firing, the history of events with their sends, and every rule with its
last values."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from alerts import settings
from alerts import state as S


def version(db_path: Path) -> str:
    """The state file's identity (a check publishes a new file): the dashboard's cache key."""
    p = S.state_path(db_path)
    try:
        st = p.stat()
    except FileNotFoundError:
        return "none"
    return f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"


def _frame(db_path: Path, sql: str, schema: list[str]) -> pl.DataFrame:
    rows = S.read(db_path, sql)
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema={c: pl.String for c in schema})


STATE_COLUMNS = ["rule_id", "key", "firing", "judged", "value", "compared", "compared_kind", "sample", "period",
                 "note", "page", "started_at", "last_sent_at", "checked_at"]


def firing(db_path: Path) -> pl.DataFrame:
    return _frame(db_path, f"SELECT {', '.join(STATE_COLUMNS)} FROM alert_state WHERE firing "
                           "ORDER BY started_at DESC, rule_id, key", STATE_COLUMNS)


def last_values(db_path: Path) -> pl.DataFrame:
    return _frame(db_path, f"SELECT {', '.join(STATE_COLUMNS)} FROM alert_state ORDER BY rule_id, firing DESC, key",
                  STATE_COLUMNS)


HISTORY_COLUMNS = ["event_id", "event_at", "kind", "rule_id", "key", "title", "value", "sample", "sends"]


def history(db_path: Path, limit: int = 500) -> pl.DataFrame:
    """The latest events, each with its sends (target: status, and the error of a failed one)."""
    return _frame(db_path, (
        "SELECT e.event_id, e.event_at, e.kind, e.rule_id, e.key, e.title, e.value, e.sample, "
        "string_agg(s.target || ': ' || s.status || coalesce(' (' || s.error || ')', ''), '; ' ORDER BY s.target) "
        "FROM alert_events e LEFT JOIN alert_sends s USING (event_id) GROUP BY ALL "
        f"ORDER BY e.event_id DESC LIMIT {int(limit)}"), HISTORY_COLUMNS)


def rules_table(config: dict) -> pl.DataFrame:
    """Every rule in force as declared: id, kind, KPI, breakdown, condition, period, minimum sample."""
    rows = []
    for r in settings.rules(config):
        cond = r.condition or ""
        if r.condition in ("below", "above"):
            cond += f" {r.threshold}"
        elif r.condition == "change":
            cond += f" {r.against} {r.direction} " + (f"{r.points} pt" if r.points is not None else f"{r.percent}%")
        elif r.kind != "kpi":
            cond = ", ".join(f"{k}={v}" for k, v in r.params.items())
        rows.append((r.id, r.kind, r.kpi or "", r.by or "", cond, r.period if r.kind == "kpi" else "",
                     r.min_sample, ", ".join(r.targets) if r.targets is not None else "*"))
    return pl.DataFrame(rows, schema=["rule_id", "kind", "kpi", "by", "condition", "period", "min_sample", "targets"],
                        orient="row")


def firing_pages(db_path: Path) -> dict[str, int]:
    """{dashboard page: alerts firing on its numbers}: the pages' badges."""
    return dict(S.read(db_path, "SELECT page, count(*) FROM alert_state WHERE firing GROUP BY 1"))
