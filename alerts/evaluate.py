"""Judging each rule: one ``Observation`` per rule and key (a breakdown value, a part, a region,
a source) with its number, what it was compared with, its sample, and whether it fires.

Every number comes through ``metrics`` (KPIs), ``forecasts.store`` (the stored parts forecast and
staffing plan), ``alerts.due`` (tickets about to breach) or the load ledger: an alert never says
a number the dashboard would not show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import duckdb

import metrics
from aftersales.errors import UserError
from aftersales.principal import DataScope
from alerts import due
from alerts.settings import Rule
from metrics import periods
from metrics import registry as R
from metrics.compute import data_as_of, facts_source


@dataclass
class Observation:
    rule_id: str
    key: str                      # the breakdown value / part / region / source; "" for a whole KPI
    value: float | None
    judged: bool                  # False: too small a sample, provisional, or nothing to compare with
    firing: bool
    excess: float = 0.0           # how far past the threshold, in the value's units (worsening compares it)
    compared: float | None = None  # the threshold, target or earlier value it was judged against
    compared_kind: str = ""       # threshold | target | previous | last_year | lead_time | days | gap
    sample: int | None = None
    period: str = ""              # what was judged, e.g. 2026-10-19 – 2026-10-25
    note: str = ""                # why not judged (too_small, provisional, no_comparison) or extra facts
    page: str = "overview"        # the dashboard page that shows it
    filters: dict[str, str] = field(default_factory=dict)  # {dim: code} for the link


# The dashboard page that shows each KPI (the Alerts page's badges read this too).
PAGE_OF_KPI = {
    "ticket_volume": "overview", "first_response_time": "sla", "complaint_rate": "complaints",
    "complaints_per_1k_orders": "complaints", "repair_success_rate": "repair", "first_time_fix_rate": "repair",
    "mttr": "repair", "mttr_median": "repair", "mttr_p90": "repair", "refund_cycle_time": "overview",
    "reopen_rate": "repair", "csat": "satisfaction", "csat_mean": "satisfaction", "nps": "satisfaction",
    "survey_response_rate": "satisfaction", "sla_compliance": "sla", "sla_first_response": "sla",
    "sla_onsite": "sla", "backlog": "sla", "backlog_aged_7d": "sla", "parts_consumption": "parts",
    "parts_cost": "parts",
}
PAGE_OF_KIND = {"parts_runout": "parts", "staffing_short": "staffing", "source_silent": "data", "tickets_due": "sla"}


def page_of(rule: Rule) -> str:
    return PAGE_OF_KPI.get(rule.kpi or "", "overview") if rule.kind == "kpi" else PAGE_OF_KIND[rule.kind]


def judged_period(as_of: dt.date, grain: str) -> tuple[dt.date, dt.date]:
    """The last complete ``grain`` period on or before ``as_of`` (inclusive dates): a week is
    judged once its Sunday is in the data, never half-filled."""
    nxt = as_of + dt.timedelta(days=1)
    end = periods.trunc(nxt, grain)
    return periods.shift(end, grain, -1), end - dt.timedelta(days=1)


def evaluate(con: duckdb.DuckDBPyConnection, db_path: Any, rules: list[Rule], config: dict,
             now: dt.datetime) -> list[Observation]:
    """Every rule's observations. ``now``: the wall-clock time (the source ledger is judged by it;
    KPIs and due tickets by the data's own latest time, as the dashboard shows them)."""
    out: list[Observation] = []
    facts = facts_source(con)
    data_now = data_as_of(con, facts)
    frames = _kpi_frames(con, [r for r in rules if r.kind == "kpi"], config, data_now.date()) if data_now else {}
    for rule in rules:
        if rule.kind == "kpi":
            if data_now is not None:
                out += kpi_rule(con, rule, config, data_now.date(), frames.get(_group(rule)))
        elif rule.kind == "parts_runout":
            out += parts_rule(db_path, rule)
        elif rule.kind == "staffing_short":
            out += staffing_rule(db_path, rule)
        elif rule.kind == "source_silent":
            out += source_rule(con, rule, now)
        elif rule.kind == "tickets_due":
            out += due_rule(con, rule, config)
    return out


def _provisional(row: dict) -> bool:
    """A number marked provisional (status ``provisional`` or a true ``provisional`` column) is not
    judged: its period is still filling, so a missed target there is not yet a miss."""
    return row.get("status") == "provisional" or bool(row.get("provisional"))


def _group(rule: Rule) -> tuple:
    return rule.by, rule.period, tuple(sorted((d, tuple(v)) for d, v in rule.where.items()))


def _kpi_frames(con: duckdb.DuckDBPyConnection, rules: list[Rule], config: dict, as_of: dt.date) -> dict[tuple, Any]:
    """One ``metrics.query`` per breakdown × period × filter, for every KPI the rules of that
    group name: the KPIs of one base share one scan (50 rules over 3 KPIs, 5 breakdowns and 2
    periods are 10 statements, not 50)."""
    groups: dict[tuple, list[str]] = {}
    for r in rules:
        groups.setdefault(_group(r), [])
        if r.kpi not in groups[_group(r)]:
            groups[_group(r)].append(r.kpi or "")
    out = {}
    for (by, period, where), kpis in groups.items():
        start, end = judged_period(as_of, period)
        out[(by, period, where)] = metrics.query(
            con, metrics=kpis, by=[by] if by else None, grain=period, start=start, end=end,
            where={d: list(v) for d, v in where} or None, config=config, as_of=as_of, compare="last", scope=DataScope())
    return out


def kpi_rule(con: duckdb.DuckDBPyConnection, rule: Rule, config: dict, as_of: dt.date,
             frame: Any = None) -> list[Observation]:
    """A KPI rule's observations: one per breakdown value in the last complete period (``frame``:
    the group's ``metrics.query`` result when computed already). ``as_of``: the data through that
    day; a number not final by then (``provisional``) is not judged."""
    k = R.KPIS[rule.kpi or ""]
    start, end = judged_period(as_of, rule.period)
    df = frame if frame is not None else metrics.query(
        con, metrics=[k.id], by=[rule.by] if rule.by else None, grain=rule.period, start=start, end=end,
        where=rule.where or None, config=config, as_of=as_of, compare="last", scope=DataScope())
    df = df.filter((df["period_start"] == start) & (df["kpi"] == k.id))
    min_sample = rule.min_sample if rule.min_sample is not None else k.min_sample
    scale = 0.01 if k.unit == "share" else 1.0  # points on a share are percentage points
    out = []
    for row in df.iter_rows(named=True):
        key = "" if not rule.by else ("" if row[rule.by] is None else str(row[rule.by]))
        value, n = row["value"], int(row["n_records"] or 0)
        ob = Observation(rule.id, key, value, judged=False, firing=False, sample=n,
                         period=f"{start.isoformat()} – {end.isoformat()}", page=page_of(rule),
                         filters={**{d: v[0] for d, v in rule.where.items() if len(v) == 1},
                                  **({rule.by: key} if rule.by and key else {})})
        if value is None:
            ob.note = "no_data"
        elif n < min_sample:
            ob.note = "too_small"
        elif _provisional(row):
            ob.note = "provisional"
        elif rule.condition in ("below", "above"):
            ob.judged, ob.compared, ob.compared_kind = True, rule.threshold, "threshold"
            gap = (rule.threshold - value) if rule.condition == "below" else (value - rule.threshold)
            ob.firing, ob.excess = gap > 0, max(gap, 0.0)
        elif rule.condition == "target_missed":
            target = row["target"]
            if target is None:
                ob.note = "no_target"
            else:
                ob.judged, ob.compared, ob.compared_kind = True, target, "target"
                gap = (target - value) if k.higher_is_better else (value - target)
                ob.firing, ob.excess = gap > 0, max(gap, 0.0)
        else:  # change
            base = row["prev_value"] if rule.against == "previous" else row["yoy_value"]
            ob.compared, ob.compared_kind = base, rule.against
            if base is None:
                ob.note = "no_comparison"
            else:
                sign = {"up": 1.0, "down": -1.0}.get(rule.direction, -1.0 if k.higher_is_better else 1.0)
                if rule.points is not None:
                    moved, limit = (value - base) * sign, rule.points * scale
                elif base != 0:
                    moved, limit = (value - base) / abs(base) * 100.0 * sign, float(rule.percent or 0.0)
                else:
                    moved, limit = None, 0.0
                if moved is None:
                    ob.note = "no_comparison"
                else:
                    ob.judged = True
                    ob.firing, ob.excess = moved > limit, max(moved - limit, 0.0)
        out.append(ob)
    return out


def _latest(db_path: Any, kind: str) -> dict | None:
    from forecasts import store

    try:
        return store.latest_run(db_path, kind)
    except (duckdb.CatalogException, UserError):
        return None


def parts_rule(db_path: Any, rule: Rule) -> list[Observation]:
    """Parts the stored forecast projects to run out within their lead time (``parts_reorder``)."""
    from forecasts import store

    run = _latest(db_path, "parts")
    if run is None:
        return []
    df = store.read_reorder(db_path, run["run_id"], scope=DataScope())
    cutoff = run.get("data_cutoff")
    out = []
    for row in df.iter_rows(named=True):
        runout, lead = row["runout_date"], int(row["lead_time_days"])
        days = (runout - cutoff).days if runout is not None and cutoff is not None else None
        firing = bool(row["runs_out_within_lead_time"])
        excess = float(lead - days) if firing and days is not None else (1.0 if firing else 0.0)
        out.append(Observation(rule.id, str(row["part_no"]), None if days is None else float(days), judged=True,
                               firing=firing, excess=max(excess, 0.0), compared=float(lead), compared_kind="lead_time",
                               sample=None, period=f"{cutoff}", page="parts", filters={},
                               note=f"runout={runout}; on_hand={row['on_hand']}; order_qty={row['order_qty']}"))
    return out


def staffing_rule(db_path: Any, rule: Rule) -> list[Observation]:
    """Regions short of technicians in the next ``weeks`` weeks of the stored staffing plan; the
    value is the worst week's gap (available − needed)."""
    from forecasts import store

    run = _latest(db_path, "workload")
    if run is None:
        return []
    df = store.read_staffing(db_path, run["run_id"], scope=DataScope())
    if df.is_empty():
        return []
    weeks, min_gap = int(rule.params.get("weeks", 2)), float(rule.params.get("min_gap", 0.0))
    first = df["week_start"].min()
    df = df.filter(df["week_start"] < first + dt.timedelta(days=7 * weeks))
    out = []
    for region in sorted(set(df["region"].to_list())):
        rows = df.filter(df["region"] == region).sort("gap")
        worst = rows.row(0, named=True)
        gap = float(worst["gap"])
        short = gap < -min_gap  # short by more than min_gap technicians
        out.append(Observation(rule.id, str(region), gap, judged=True, firing=short,
                               excess=-gap - min_gap if short else 0.0, compared=-min_gap,
                               compared_kind="gap", sample=None, period=f"{worst['week_start']}", page="staffing",
                               filters={"region": str(region)} if region in R.DIMENSIONS["region"].labels else {},
                               note=f"needed={worst['technicians_needed']:.1f}; available={worst['technicians_available']}"))
    return out


def source_rule(con: duckdb.DuckDBPyConnection, rule: Rule, now: dt.datetime) -> list[Observation]:
    """Sources in the load ledger without a new file for more than ``days`` days."""
    days = float(rule.params.get("days", 3))
    only = rule.params.get("sources")
    rows = con.execute("SELECT source, max(finished_at) FROM loads GROUP BY 1 ORDER BY 1").fetchall()
    out = []
    for source, last in rows:
        if only and source not in only:
            continue
        silent = (now - last).total_seconds() / 86400.0
        out.append(Observation(rule.id, str(source), round(silent, 1), judged=True, firing=silent > days,
                               excess=max(silent - days, 0.0), compared=days, compared_kind="days",
                               period=f"{last:%Y-%m-%d %H:%M}", page="data"))
    return out


def due_rule(con: duckdb.DuckDBPyConnection, rule: Rule, config: dict) -> list[Observation]:
    """Outlets with tickets about to breach (即将超时) or breached (not stale): one alert each."""
    rows, now = due.work_list(con, config)
    if rows.is_empty():
        return []
    min_count = int(rule.params.get("min_count", 1))
    out = []
    for r in due.by_outlet(rows).iter_rows(named=True):
        n = int(r["due_soon"]) + int(r["breached"])
        key = r["outlet_id"] or ""
        out.append(Observation(rule.id, key, float(n), judged=True, firing=n >= min_count,
                               excess=float(n) if n >= min_count else 0.0, compared=float(min_count),
                               compared_kind="count", sample=n, period=f"{now:%Y-%m-%d %H:%M}", page="sla",
                               filters={"outlet": key} if key else {},
                               note=f"due_soon={r['due_soon']}; breached={r['breached']}; stale={r['stale']}; "
                                    f"technicians={r['technicians'] or '-'}; name={r['outlet_name'] or ''}"))
    return out
