"""Stored runs: writing a finished run in one atomic step, and the read functions the dashboard
and the CLI use (they take a database path and return polars frames; nothing here caches).

The read functions of a run's rows take the reader's data scope (``aftersales.principal.DataScope``,
required; ``DataScope()`` for the whole company). Workload series (``region/service_type``) and
the staffing plan are per region: a scope of regions only sees the series and plan rows of its
regions. Everything else is the whole company's and is seen only by the whole-company scope: the
company total and the spare parts (stock is held and reordered for the whole company, not per
region or outlet), a planner's file runs (their series ids name no region we can check), and any
scope naming outlets or outlet types (no forecast is made per outlet).

Writes go through ``aftersales.db.writer`` (copy, write, publish), so readers never see half a
run and a failed run leaves the database as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from aftersales.db import connect_readonly, writer
from aftersales.principal import DataScope

SCHEMA_SQL = Path(__file__).with_name("schema.sql")
TABLES = ("forecast_values", "forecast_series", "staffing_plan", "parts_reorder", "backtest_scores",
          "backtest_forecasts", "inventory_sim", "forecast_history")
DATABASE = "database"
RUN_COLUMNS = ("run_id", "kind", "created_at", "data_cutoff", "source", "source_sha256", "freq", "model", "n_series",
               "workers", "seconds", "params", "summary")  # the source of runs made from the loaded tables
KINDS = ("workload", "parts", "backtest_workload", "backtest_parts")


def new_run_id(kind: str) -> str:
    """``workload-20261101-083000-1a2b3c``: kind, local time, and a random suffix."""
    return f"{kind}-{dt.datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


@dataclass
class Run:
    """A finished run: its ledger row and its tables (each a frame without ``run_id``)."""

    kind: str
    source: str
    model: str
    data_cutoff: dt.date | None
    params: dict[str, Any]
    n_series: int
    workers: int
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    run_id: str = ""
    freq: str | None = None            # D | W | M
    source_sha256: str | None = None   # of the series file, for runs from --input

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown run kind {self.kind!r}; one of {KINDS}")
        self.run_id = self.run_id or new_run_id(self.kind)


def _columns(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> dict[str, dict[str, tuple[str, bool]]]:
    """``{table: {column: (type, nullable)}}`` of the main schema's tables among ``tables``."""
    rows = con.execute(
        "SELECT table_name, column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name IN (SELECT unnest($t)) ORDER BY ordinal_position",
        {"t": list(tables)}).fetchall()
    out: dict[str, dict[str, tuple[str, bool]]] = {}
    for table, column, dtype, nullable in rows:
        out.setdefault(table, {})[column] = (dtype, bool(nullable))
    return out


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the forecast tables, and bring tables a run stored before a schema change up to
    the current schema (``CREATE TABLE IF NOT EXISTS`` alone would leave the old shape in
    place and the next insert would fail): missing columns are added (null for old runs),
    columns the schema no longer has stop being required (old runs keep their values), and
    changed types are converted."""
    ddl = SCHEMA_SQL.read_text(encoding="utf-8")
    want = _columns(_declared(ddl), ("forecast_runs", *TABLES))
    have = _columns(con, tuple(want))
    con.execute(ddl)
    for table, cols in have.items():  # identifiers below come from schema.sql and the database's own catalog
        target = want[table]
        for column, (dtype, _) in target.items():
            if column not in cols:
                con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {dtype}')
            elif cols[column][0] != dtype:
                try:
                    con.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET DATA TYPE {dtype}')
                except duckdb.Error as exc:
                    raise ValueError(f"forecast table {table}: stored column {column} is {cols[column][0]} and "
                                     f"cannot be converted to {dtype} ({exc}); drop the table to start afresh") from exc
        for column, (_, nullable) in cols.items():
            if column not in target and not nullable:
                con.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" DROP NOT NULL')


def _declared(ddl: str) -> duckdb.DuckDBPyConnection:
    """An in-memory database holding the current schema, to compare stored tables with."""
    mem = duckdb.connect()
    mem.execute(ddl)
    return mem


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, allow_nan=False,
                      sort_keys=True) if value is not None else "null"


def _clean(value: Any) -> Any:
    """NaN and infinities become null (JSON has no NaN)."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def save_run(db_path: Path, run: Run) -> str:
    """Store ``run`` and its tables in one atomic publish; returns the run id."""
    for name in run.tables:
        if name not in TABLES:
            raise ValueError(f"unknown forecast table {name!r}; one of {TABLES}")
    with writer(Path(db_path)) as con:
        create_tables(con)
        con.execute(
            "INSERT INTO forecast_runs BY NAME SELECT $run_id AS run_id, $kind AS kind, $created_at AS created_at, "
            "$cutoff AS data_cutoff, $source AS source, $model AS model, $params AS params, $n_series AS n_series, "
            "$workers AS workers, $seconds AS seconds, $summary AS summary, $sha AS source_sha256, $freq AS freq",
            {"run_id": run.run_id, "kind": run.kind, "created_at": dt.datetime.now().replace(microsecond=0),
             "cutoff": run.data_cutoff, "source": run.source, "model": run.model,
             "params": _json(_clean(run.params)), "n_series": run.n_series, "workers": run.workers,
             "seconds": round(run.seconds, 3), "summary": _json(_clean(run.summary)), "sha": run.source_sha256,
             "freq": run.freq})
        for name, frame in run.tables.items():
            if frame.is_empty():
                continue
            frame = frame.with_columns(pl.lit(run.run_id).alias("run_id"))
            frame = frame.with_columns(pl.col(c).fill_nan(None) for c, t in frame.schema.items() if t.is_float())
            con.register("_incoming", frame.to_arrow())
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _incoming")  # name is from TABLES
            con.unregister("_incoming")
    return run.run_id


# ---- reading --------------------------------------------------------------------------------

def _read(db_path: Path | str, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame | None:
    """The query's rows, or None when the database has no forecast tables yet."""
    con = connect_readonly(Path(db_path))
    try:
        exists = con.sql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'forecast_runs'").fetchall()
        if not exists[0][0]:
            return None
        return con.sql(sql, params=params or {}).pl()
    finally:
        con.close()


def list_runs(db_path: Path | str, kind: str | None = None) -> pl.DataFrame:
    """Stored runs, newest first: ``run_id, kind, created_at, data_cutoff, source, source_sha256,
    freq, model, n_series, workers, seconds, params, summary`` (JSON as text)."""
    # SELECT * so that a database whose runs all predate a column still lists them
    sql = ("SELECT * EXCLUDE (params, summary), params::VARCHAR AS params, summary::VARCHAR AS summary "
           "FROM forecast_runs WHERE $kind IS NULL OR kind = $kind ORDER BY created_at DESC, run_id DESC")
    out = _read(db_path, sql, {"kind": kind})
    if out is None:
        return pl.DataFrame()
    out = out.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in ("source_sha256", "freq") if c not in out.columns)
    return out.select(RUN_COLUMNS)


def _parsed(row: dict[str, Any]) -> dict[str, Any]:
    row["params"] = json.loads(row["params"]) if row["params"] else {}
    row["summary"] = json.loads(row["summary"]) if row["summary"] else {}
    return row


def latest_run(db_path: Path | str, kind: str, source: str | None = DATABASE) -> dict[str, Any] | None:
    """The newest run of ``kind`` as a dict (params and summary parsed), or None. By default the
    newest run from the database (the pipeline's): a planner's file run never replaces it on the
    dashboard; ``source=None`` takes the newest of any source."""
    runs = list_runs(db_path, kind)
    if runs.is_empty():
        return None
    if source is not None:
        runs = runs.filter(pl.col("source") == source)
        if runs.is_empty():
            return None
    return _parsed(runs.row(0, named=True))


def get_run(db_path: Path | str, run_id: str) -> dict[str, Any] | None:
    """One stored run by id (params and summary parsed), or None."""
    runs = list_runs(db_path)
    if runs.is_empty():
        return None
    runs = runs.filter(pl.col("run_id") == run_id)
    return _parsed(runs.row(0, named=True)) if runs.height else None


def read_history(db_path: Path | str, run_id: str, unique_id: str | None = None, *,
                 scope: DataScope) -> pl.DataFrame:
    """The series a file run forecast (``unique_id, ds, y``); empty for database runs."""
    return _table(db_path, "forecast_history", run_id, "AND ($uid IS NULL OR unique_id = $uid)",
                  {"uid": unique_id}, "ORDER BY unique_id, ds", scope=scope)


# The column naming a row's region (``region/service_type`` ids: the part before the slash), per
# table of a run; tables not listed (parts) are the whole company's.
REGION_COLUMNS = {"forecast_values": "unique_id", "forecast_history": "unique_id", "forecast_series": "unique_id",
                  "staffing_plan": "region", "backtest_scores": "unique_id", "backtest_forecasts": "unique_id"}
REGIONAL_KINDS = ("workload", "backtest_workload")


def scope_filter(table: str, scope: DataScope) -> tuple[str, dict[str, Any]]:
    """The condition (`` AND ...``) keeping the rows of a run's ``table`` inside ``scope``, with its
    bound parameters (see the module docstring for what a scope sees)."""
    if not isinstance(scope, DataScope):
        raise TypeError(f"scope must be an aftersales.principal.DataScope, not {type(scope).__name__}")
    if scope.whole_company:
        return "", {}
    if scope.outlets or scope.outlet_types or table not in REGION_COLUMNS:
        return "AND FALSE", {}
    kinds = ", ".join(f"'{k}'" for k in REGIONAL_KINDS)  # constants
    col = REGION_COLUMNS[table]  # identifier from the allow-list above
    return (f"AND list_contains($scope_regions, split_part({col}, '/', 1)) AND EXISTS (SELECT 1 FROM forecast_runs r "
            f"WHERE r.run_id = $run_id AND r.kind IN ({kinds}) AND r.source = '{DATABASE}')",
            {"scope_regions": list(scope.regions)})


def _table(db_path: Path | str, table: str, run_id: str, where: str = "", params: dict[str, Any] | None = None,
           order: str = "", *, scope: DataScope) -> pl.DataFrame:
    if table == "forecast_history":  # stored since file runs were kept apart; older databases lack it
        exists = _read(db_path, "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = $t", {"t": table})
        if exists is None or not exists["n"][0]:
            return pl.DataFrame()
    in_scope, scope_params = scope_filter(table, scope)
    sql = f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = $run_id {where} {in_scope} {order}"  # table: constant
    out = _read(db_path, sql, {"run_id": run_id, **(params or {}), **scope_params})
    return out if out is not None else pl.DataFrame()


def read_forecast(db_path: Path | str, run_id: str, unique_id: str | None = None,
                  chosen_only: bool = True, *, scope: DataScope) -> pl.DataFrame:
    """Forecast rows of a run (``unique_id, ds, model, chosen, yhat, yhat_lower_80 ...``)."""
    return _table(db_path, "forecast_values", run_id,
                  "AND ($uid IS NULL OR unique_id = $uid) AND (chosen OR NOT $chosen_only)",
                  {"uid": unique_id, "chosen_only": chosen_only}, "ORDER BY unique_id, model, ds", scope=scope)


def read_series(db_path: Path | str, run_id: str, *, scope: DataScope) -> pl.DataFrame:
    """The model each series uses in a run, why, and its backtest score against the baseline."""
    return _table(db_path, "forecast_series", run_id, order="ORDER BY unique_id", scope=scope)


def read_staffing(db_path: Path | str, run_id: str, short_only: bool = False, *, scope: DataScope) -> pl.DataFrame:
    """Technicians needed vs available per region and week (``gap`` < 0: short by that many)."""
    return _table(db_path, "staffing_plan", run_id, "AND (short OR NOT $short_only)", {"short_only": short_only},
                  "ORDER BY week_start, region", scope=scope)


def read_reorder(db_path: Path | str, run_id: str, at_risk_only: bool = False, *, scope: DataScope) -> pl.DataFrame:
    """Reorder points, order-up-to levels and run-out dates per part; ``at_risk_only`` keeps the
    parts projected to run out within their lead time."""
    return _table(db_path, "parts_reorder", run_id, "AND (runs_out_within_lead_time OR NOT $risk)",
                  {"risk": at_risk_only}, "ORDER BY runout_date NULLS LAST, part_no", scope=scope)


def read_backtest(db_path: Path | str, run_id: str, summary_only: bool = True, *, scope: DataScope) -> pl.DataFrame:
    """Backtest scores (``scope, unique_id, model, metric, value``); summaries have unique_id '*'."""
    return _table(db_path, "backtest_scores", run_id, "AND (unique_id = '*' OR NOT $summary)",
                  {"summary": summary_only}, "ORDER BY scope, unique_id, model, metric", scope=scope)


def read_backtest_forecasts(db_path: Path | str, run_id: str, unique_id: str | None = None,
                            window: str | None = None, *, scope: DataScope) -> pl.DataFrame:
    """Backtest forecasts beside the actuals, to plot one series' windows."""
    return _table(db_path, "backtest_forecasts", run_id,
                  "AND ($uid IS NULL OR unique_id = $uid) AND ($win IS NULL OR window_label = $win)",
                  {"uid": unique_id, "win": window}, "ORDER BY unique_id, cutoff, model, ds", scope=scope)


def read_inventory_sim(db_path: Path | str, run_id: str, *, scope: DataScope) -> pl.DataFrame:
    """Simulated fill rate and mean stock per part and policy (count vs baseline)."""
    return _table(db_path, "inventory_sim", run_id, order="ORDER BY part_no, policy", scope=scope)
