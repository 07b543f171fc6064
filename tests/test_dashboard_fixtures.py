"""Shared by the dashboard tests (AppTest and the real browser): a small generated database with
stored forecast runs. Built once per test session in pytest's temporary directory.

The forecast runs are hand-built from the database (not fitted: Prophet is not what the dashboard
tests are about) and stored through ``forecasts.store.save_run``, the same door real runs use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb
import polars as pl
import pytest

SAMPLE_TICKETS = 6000
REGIONS = ("east", "north", "south", "central", "southwest", "northwest", "northeast")


def build_db(root: Path, tickets: int = SAMPLE_TICKETS, seed: int = 7, forecasts: bool = True) -> Path:
    """Generate, load and (optionally) store forecast runs; reused if already built under root."""
    db = root / "dash.duckdb"
    done = root / "done"
    if done.exists():
        return db
    from pipelines.generate import generate
    from pipelines.load import load_paths

    sample = root / "sample"
    generate(sample, tickets=tickets, seed=seed, end="2026-10-31", progress=False)
    load_paths(db, sorted(sample.glob("*.parquet")), show_progress=False)
    if forecasts:
        store_runs(db)
    done.touch()
    return db


def _weekly_pattern(con: duckdb.DuckDBPyConnection, where: str, params: dict) -> tuple[list[float], dt.date]:
    rows = con.execute(
        f"""WITH d AS (SELECT created_at::DATE AS ds, count(*) AS y FROM tickets t
                       LEFT JOIN outlets o USING (outlet_id) WHERE {where} GROUP BY 1)
            SELECT isodow(ds) AS dow, avg(y) FROM d WHERE ds > (SELECT max(created_at)::DATE - 56 FROM tickets)
            GROUP BY 1 ORDER BY 1""", params).fetchall()
    by_dow = {int(r[0]): float(r[1]) for r in rows}
    last = con.execute("SELECT max(created_at)::DATE FROM tickets").fetchall()[0][0]
    return [by_dow.get(i, 0.0) for i in range(1, 8)], last


def _fit_schema(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Keep the columns the forecasts' current schema has (it is still moving), cast to its types."""
    from forecasts import store

    with duckdb.connect() as con:
        store.create_tables(con)
        out = {}
        for name, frame in tables.items():
            cols = con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = $t "
                               "ORDER BY ordinal_position", {"t": name}).fetchall()
            out[name] = frame.select([c for (c,) in cols if c in frame.columns])
    return out


def store_runs(db: Path) -> None:
    """A workload run (forecasts for all/all and each region, the staffing plan) and a parts run
    (reorder table, demand classes, weekly part forecasts)."""
    from forecasts import store

    with duckdb.connect(str(db), read_only=True) as con:
        series = {"all/all": ("TRUE", {})}
        series.update({f"{r}/all": ("o.region = $r", {"r": r}) for r in REGIONS})
        values, info = [], []
        for uid, (where, params) in series.items():
            pattern, last = _weekly_pattern(con, where, params)
            for h in range(1, 85):
                ds = last + dt.timedelta(days=h)
                y = pattern[ds.isoweekday() - 1] * (1.6 if ds.month == 11 and 11 <= ds.day <= 20 else 1.0)
                values.append({"unique_id": uid, "ds": ds, "model": "prophet", "chosen": True, "yhat": y,
                               "yhat_lower_80": 0.75 * y, "yhat_upper_80": 1.25 * y,
                               "yhat_lower_95": 0.6 * y, "yhat_upper_95": 1.4 * y})
            info.append({"unique_id": uid, "model": "prophet", "reason": "lowest backtest MASE",
                         "score_metric": "mase", "score": 0.71, "baseline_score": 1.0, "scores": "{}"})
        parts = con.execute(
            """SELECT pi.part_no, pi.part_name, pi.lead_time_days, pi.on_hand, pi.as_of,
                      coalesce(sum(pu.quantity) FILTER (WHERE v.started_at > (SELECT max(started_at) - INTERVAL 84 DAY
                                                                            FROM visits)), 0) / 12.0 AS weekly
               FROM parts_inventory pi LEFT JOIN parts_used pu USING (part_no)
               LEFT JOIN visits v ON v.visit_id = pu.visit_id GROUP BY ALL ORDER BY pi.part_no""").fetchall()
    frame = pl.DataFrame(values)
    week = pl.col("ds").dt.truncate("1w")
    plan = (frame.filter(pl.col("unique_id") != "all/all")
            .with_columns(region=pl.col("unique_id").str.split("/").list.first(), week_start=week)
            .group_by("region", "week_start").agg(tickets_expected=pl.col("yhat").sum(),
                                                  days=pl.len())
            .filter(pl.col("days") == 7).drop("days"))  # whole weeks inside the horizon only
    plan = plan.with_columns(hours_expected=pl.col("tickets_expected") * 2.5).with_columns(
        hours_planned=pl.col("hours_expected") * 1.2, plan_quantile=pl.lit(0.8))
    plan = plan.with_columns(technicians_needed=pl.col("hours_planned") / (40 * 0.85))
    # Available technicians: the generator staffs for far more tickets than a small sample has, so
    # the roster is scaled to the need (some regions a little short, some with room) to have
    # shortfalls to show.
    scale = {r: 0.85 + 0.1 * (i % 4) for i, r in enumerate(REGIONS)}
    plan = plan.with_columns(technicians_available=(
        pl.col("technicians_needed").mean().over("region") * pl.col("region").replace_strict(scale, default=1.0))
        .round(0).cast(pl.Int32).clip(1, None))
    plan = plan.with_columns(gap=pl.col("technicians_available") - pl.col("technicians_needed"))
    plan = plan.with_columns(short=pl.col("gap") < 0).sort("week_start", "region")
    last = frame["ds"].min() - dt.timedelta(days=1)
    store.save_run(db, store.Run(kind="workload", source="database", model="prophet|mstl", data_cutoff=last,
                                 params={"test": True}, n_series=len(series), workers=1, seconds=0.1,
                                 tables=_fit_schema({"forecast_values": frame, "forecast_series": pl.DataFrame(info),
                                                     "staffing_plan": plan})))
    classes = ("smooth", "erratic", "intermittent", "lumpy")
    reorder, part_values, part_info = [], [], []
    monday = last - dt.timedelta(days=last.weekday()) + dt.timedelta(days=7)
    for part_no, name, lead, on_hand, as_of, weekly in parts:
        cls = classes[int(hashlib.md5(part_no.encode()).hexdigest(), 16) % 4]
        weekly = float(weekly)
        rop = int(round(weekly * (lead / 7 + 1) + 2))
        runout = last + dt.timedelta(days=int(7 * on_hand / weekly)) if weekly > 0 else None
        reorder.append({"part_no": part_no, "part_name": name, "series_class": cls, "model": "croston",
                        "distribution": "nb", "lead_time_days": lead, "lead_time_source": "master",
                        "mean_weekly_demand": weekly, "reorder_point": rop, "order_up_to": rop + int(4 * weekly) + 1,
                        "on_hand": on_hand, "as_of": as_of, "stock_at_cutoff": float(on_hand),
                        "order_now": on_hand <= rop, "order_qty": int(4 * weekly) + 1, "runout_date": runout,
                        "runs_out_within_lead_time": runout is not None and runout <= last + dt.timedelta(days=lead),
                        "stockout_prob_lead_time": 0.5 if on_hand <= rop else 0.05})
        part_info.append({"unique_id": part_no, "model": "croston", "reason": "lowest backtest RMSSE",
                          "series_class": cls, "adi": 1.0 + (hash(cls) % 3), "cv2": 0.3, "score_metric": "rmsse",
                          "score": 0.9, "baseline_score": 1.0, "scores": "{}"})
        for h in range(12):
            part_values.append({"unique_id": part_no, "ds": monday + dt.timedelta(weeks=h), "model": "croston",
                                "chosen": True, "yhat": weekly, "yhat_lower_80": 0.0, "yhat_upper_80": 2 * weekly + 1,
                                "yhat_lower_95": 0.0, "yhat_upper_95": 3 * weekly + 2})
    store.save_run(db, store.Run(kind="parts", source="database", model="croston|sba|tsb", data_cutoff=monday,
                                 params={"test": True}, n_series=len(parts), workers=1, seconds=0.1,
                                 tables=_fit_schema({"parts_reorder": pl.DataFrame(reorder, infer_schema_length=None),
                                                     "forecast_values": pl.DataFrame(part_values),
                                                     "forecast_series": pl.DataFrame(part_info)})))


@pytest.fixture(scope="session")
def dash_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small loaded database with stored forecast runs (shared by every dashboard test)."""
    return build_db(tmp_path_factory.getbasetemp() / "dashboard_db")
