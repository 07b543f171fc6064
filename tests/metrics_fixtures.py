"""Data for the metrics tests and benchmark.

- ``fixture_con()``: an empty in-memory database with the canonical schema, for hand-built rows.
- ``synth(con, tickets, seed)``: fast, deterministic synthetic data written straight into the
  canonical tables with one SQL statement per table (10M tickets in about a minute on 2 cores).
  Used by the property tests and the benchmark, and by the sample-data parity tests when the
  project's generator (``pipelines.generate``) is not available.
- ``sample_db(dir, tickets, seed)``: the sample data the parity tests run on: the project's
  generator's parquet files read straight into the canonical tables (switch to the real loader
  by changing ``_load_generated``), else ``synth``; with the derived tables a load refreshes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from aftersales import model
from aftersales.db import create_schema
from pipelines import derive

REGION_CITIES = {
    "east": ["上海", "杭州", "南京", "温州"], "north": ["北京", "天津", "石家庄", "保定"],
    "south": ["广州", "深圳", "南宁", "湛江"], "central": ["武汉", "长沙", "郑州", "宜昌"],
    "southwest": ["成都", "重庆", "昆明", "绵阳"], "northwest": ["西安", "兰州", "银川", "宝鸡"],
    "northeast": ["沈阳", "哈尔滨", "长春", "大庆"],
}


def fixture_con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(model.ddl())
    return con


def _list(values) -> str:
    return "[" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + "]"


def synth(con: duckdb.DuckDBPyConnection, tickets: int = 20_000, seed: int = 1, start: str = "2022-01-01",
          days: int = 3 * 365, outlets: int | None = None) -> dict[str, int]:
    """Fill the canonical tables with deterministic synthetic data; returns row counts.

    Tickets are spread evenly over ``days`` from ``start`` (in created order, as exports
    arrive); the data ends at start + days. It contains the awkward cases the KPIs must handle:
    open and cancelled tickets, repeat repairs within 30 days, multi-visit repairs, reopened
    tickets, missing times and scores.
    """
    s = int(seed)
    n = int(tickets)
    n_out = outlets or max(14, min(250, n // 40_000))
    n_prod, n_parts, techs = 42, 80, 6
    n_cust = max(n // 4, 10)
    regions = list(REGION_CITIES)
    cities = [c for r in regions for c in REGION_CITIES[r]]
    cats = list(model.PRODUCT_CATEGORIES)
    channels = list(model.CHANNELS)
    t0 = dt.datetime.fromisoformat(start)
    span = days * 86400
    end = t0 + dt.timedelta(days=days)
    con.execute(f"""
        CREATE OR REPLACE TEMP MACRO u(i, k) AS ((hash(i, k, {s}) % 1000003)::DOUBLE / 1000003);
        CREATE OR REPLACE TEMP MACRO nrm(i, k) AS (sqrt(-2 * ln(greatest(u(i, k), 1e-9))) * cos(2 * pi() * u(i, k + 1000)));
        CREATE OR REPLACE TEMP MACRO cust(i) AS ('C' || lpad(CAST(hash(i, 7, {s}) % {n_cust} AS VARCHAR), 8, '0'));
        CREATE OR REPLACE TEMP MACRO pmodel(i) AS (hash(i, 8, {s}) % {n_prod});
    """)
    con.execute(f"""
        INSERT INTO outlets BY NAME
        SELECT 'O' || lpad(CAST(i AS VARCHAR), 4, '0') AS outlet_id, '网点' || i AS outlet_name,
               {_list(regions)}[i % 7 + 1] AS region, {_list(cities)}[(i % 7) * 4 + (i // 7) % 4 + 1] AS city,
               CAST((i // 7) % 4 + 1 AS TINYINT) AS city_tier,
               CASE WHEN (i // 7) % 4 < 2 THEN 'own' ELSE 'outsourced' END AS outlet_type,
               DATE '2018-01-01' AS opened_on
        FROM range({n_out}) r(i)""")
    con.execute(f"""
        INSERT INTO technicians BY NAME
        SELECT 'W' || lpad(CAST(i AS VARCHAR), 5, '0') AS technician_id, '师傅' || i AS technician_name,
               'O' || lpad(CAST(i // {techs} AS VARCHAR), 4, '0') AS outlet_id, 'install,repair' AS skills,
               CAST(1 + i % 5 AS TINYINT) AS skill_level, DATE '2019-01-01' AS hired_on, TRUE AS active
        FROM range({n_out * techs}) r(i)""")
    con.execute(f"""
        INSERT INTO products BY NAME
        SELECT 'M' || lpad(CAST(i AS VARCHAR), 3, '0') AS product_model, {_list(cats)}[i % 7 + 1] AS product_category,
               'brand' || (i % 3) AS brand
        FROM range({n_prod}) r(i)""")
    # Tickets: every derived value is a pure function of the row number, so a repeat repair can
    # copy the customer and model of an earlier ticket without a join.
    con.execute(f"""
        INSERT INTO tickets BY NAME
        WITH a AS (
          SELECT i,
            TIMESTAMP '{t0:%Y-%m-%d %H:%M:%S}' + to_microseconds(CAST(({span}.0 * (i + u(i, 1)) / {n}) * 1e6 AS BIGINT)) AS created_at,
            CASE WHEN u(i, 2) < 0.30 THEN 'repair' WHEN u(i, 2) < 0.50 THEN 'install' WHEN u(i, 2) < 0.62 THEN 'delivery'
                 WHEN u(i, 2) < 0.74 THEN 'return' WHEN u(i, 2) < 0.80 THEN 'exchange' WHEN u(i, 2) < 0.90 THEN 'refund'
                 ELSE 'consult' END AS service_type,
            u(i, 3) AS u3, u(i, 4) AS u4, u(i, 5) AS u5, u(i, 6) AS u6, u(i, 10) AS u10, u(i, 11) AS u11,
            hash(i, 12, {s}) % {n_out} AS outlet_no,
            CASE WHEN u(i, 9) < 0.10 THEN i - 300 - CAST(hash(i, 13, {s}) % 3000 AS BIGINT) ELSE i END AS cust_src
          FROM range({n}) r(i)
        ), b AS (
          SELECT *,
            exp(CASE service_type WHEN 'repair' THEN ln(30) WHEN 'install' THEN ln(20) WHEN 'delivery' THEN ln(24)
                 WHEN 'return' THEN ln(72) WHEN 'exchange' THEN ln(96) WHEN 'refund' THEN ln(24) ELSE ln(2) END
                 + 0.9 * nrm(i, 14)) AS res_h,
            -ln(greatest(u(i, 15), 1e-9)) * 0.8 AS resp_h
          FROM a
        ), c AS (
          SELECT *,
            u5 < 0.02 AS cancelled,
            u5 > 0.995 AS stuck,
            created_at + to_microseconds(CAST(res_h * 3.6e9 AS BIGINT)) AS res_at,
            created_at + to_microseconds(CAST(resp_h * 3.6e9 AS BIGINT)) AS resp_at
          FROM b
        ), d AS (
          SELECT *,
            CASE WHEN cancelled OR stuck OR res_at > TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}' THEN NULL ELSE res_at END AS resolved,
            res_at + to_microseconds(CAST((1 + 71 * u6) * 3.6e9 AS BIGINT)) AS close_at
          FROM c
        )
        SELECT
          'T' || lpad(CAST(i AS VARCHAR), 9, '0') AS ticket_id,
          {_list(channels)}[CAST(hash(i, 16, {s}) % 11 AS INTEGER) + 1] AS channel,
          service_type,
          CASE WHEN u10 < 0.10 THEN 'low' WHEN u10 < 0.80 THEN 'normal' WHEN u10 < 0.95 THEN 'high' ELSE 'urgent' END AS priority,
          CASE WHEN cancelled THEN 'cancelled'
               WHEN resolved IS NULL THEN (['open', 'dispatched', 'in_progress'])[CAST(hash(i, 17, {s}) % 3 AS INTEGER) + 1]
               WHEN close_at <= TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}' THEN 'closed' ELSE 'resolved' END AS status,
          CASE WHEN service_type = 'consult' AND u11 < 0.5 THEN NULL ELSE 'O' || lpad(CAST(outlet_no AS VARCHAR), 4, '0') END AS outlet_id,
          CASE WHEN service_type = 'consult' AND u11 < 0.5 THEN NULL
               ELSE 'W' || lpad(CAST(outlet_no * {techs} + hash(i, 18, {s}) % {techs} AS VARCHAR), 5, '0') END AS technician_id,
          'M' || lpad(CAST(pmodel(cust_src) AS VARCHAR), 3, '0') AS product_model,
          CASE WHEN u(i, 19) < 0.003 THEN NULL ELSE cust(cust_src) END AS customer_id,
          (['张', '王', '李', '赵', '刘', '陈'])[CAST(hash(i, 20, {s}) % 6 AS INTEGER) + 1] || '先生' AS customer_name,
          '1' || CAST(30000000000 + hash(i, 21, {s}) % 9999999999 AS VARCHAR)[2:] AS customer_phone,
          'OD' || i AS order_id,
          created_at,
          CASE WHEN resp_at > TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}' THEN NULL
               WHEN resolved IS NOT NULL AND u(i, 22) < 0.01 THEN NULL
               WHEN cancelled THEN NULL ELSE resp_at END AS first_response_at,
          CASE WHEN resp_at <= TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}' AND NOT cancelled THEN resp_at + INTERVAL 30 MINUTE END AS dispatched_at,
          CASE WHEN resolved IS NOT NULL AND u(i, 23) < 0.002 THEN NULL ELSE resolved END AS resolved_at,
          CASE WHEN resolved IS NOT NULL AND close_at <= TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}' THEN close_at END AS closed_at,
          CASE WHEN cancelled THEN 'cancelled' WHEN resolved IS NULL THEN NULL
               WHEN service_type = 'repair' THEN CASE WHEN u3 < 0.82 THEN 'fixed' WHEN u3 < 0.90 THEN 'replaced' ELSE 'not_fixed' END
               WHEN service_type = 'install' THEN 'installed' WHEN service_type = 'delivery' THEN 'delivered'
               WHEN service_type = 'return' THEN 'returned' WHEN service_type = 'exchange' THEN 'replaced'
               WHEN service_type = 'refund' THEN 'refunded' ELSE 'answered' END AS resolution,
          CASE WHEN u(i, 24) < 0.005 THEN NULL ELSE u4 < (CASE WHEN res_h > 100 THEN 0.15 ELSE 0.035 END) END AS is_complaint,
          CASE WHEN u4 < (CASE WHEN res_h > 100 THEN 0.15 ELSE 0.035 END)
               THEN (['attitude', 'delay', 'repeat_failure', 'charges', 'wrong_goods', 'quality', 'other'])[CAST(hash(i, 25, {s}) % 7 AS INTEGER) + 1] END AS complaint_reason,
          CASE WHEN resolved IS NOT NULL AND u(i, 26) < 0.04
               AND resolved + to_microseconds(CAST(u(i, 27) * 45 * 8.64e10 AS BIGINT)) <= TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}'
               THEN resolved + to_microseconds(CAST(u(i, 27) * 45 * 8.64e10 AS BIGINT)) END AS reopened_at,
          CASE WHEN service_type = 'refund' AND u(i, 28) < 0.9 THEN created_at + to_microseconds(CAST(u(i, 29) * 7.2e9 AS BIGINT)) END AS refund_requested_at,
          CASE WHEN service_type = 'refund' AND resolved IS NOT NULL AND u(i, 30) < 0.98 THEN resolved END AS refunded_at,
          CASE WHEN service_type = 'refund' THEN CAST(round(20 + 2000 * u(i, 31), 2) AS DECIMAL(12, 2)) END AS refund_amount,
          coalesce(resolved, created_at) AS updated_at
        FROM d""")
    # Visits: field-service tickets; repairs may need 2 or 3. Visit k starts before resolution.
    con.execute("""
        INSERT INTO visits BY NAME
        WITH t AS (
          SELECT ticket_id, created_at, resolved_at, resolution, service_type, technician_id,
                 CAST(substr(ticket_id, 2) AS BIGINT) AS i
          FROM tickets WHERE service_type IN ('repair', 'install', 'delivery') AND status <> 'cancelled'
        ), m AS (
          SELECT *, CASE WHEN resolved_at IS NULL THEN 1
                         WHEN service_type = 'repair' THEN 1 + (u(i, 40) < 0.25)::INT + (u(i, 41) < 0.08)::INT ELSE 1 END AS m,
                 coalesce(epoch(resolved_at - created_at), 86400 * (0.2 + 2 * u(i, 42))) AS dur
          FROM t WHERE u(i, 43) > 0.01
        ), v AS (SELECT *, unnest(range(1, m + 1)) AS k FROM m)
        SELECT ticket_id || '-' || k AS visit_id, ticket_id, CAST(k AS TINYINT) AS visit_no,
               technician_id, CASE WHEN service_type = 'repair' AND u(i, 44) < 0.2 THEN 'workshop' ELSE 'onsite' END AS visit_type,
               created_at + to_microseconds(CAST(dur * (k - 1 + 0.3 + 0.5 * u(i, 45 + k)) / m * 1e6 AS BIGINT)) AS started_at,
               created_at + to_microseconds(CAST(dur * (k - 1 + 0.3 + 0.5 * u(i, 45 + k)) / m * 1e6 AS BIGINT)) + INTERVAL 90 MINUTE AS ended_at,
               CAST(10 + 80 * u(i, 50) AS SMALLINT) AS travel_minutes,
               CASE WHEN k < m THEN (['not_fixed', 'need_parts', 'customer_absent'])[CAST(hash(i, 51, k) % 3 AS INTEGER) + 1]
                    WHEN resolved_at IS NULL THEN 'need_parts'
                    WHEN service_type <> 'repair' OR resolution = 'fixed' THEN 'fixed' ELSE 'not_fixed' END AS outcome
        FROM v""")
    con.execute(f"""
        INSERT INTO parts_used BY NAME
        WITH v AS (
          SELECT v.visit_id, v.ticket_id, hash(v.visit_id, {s}) AS h FROM visits v
          JOIN tickets t USING (ticket_id) WHERE t.service_type = 'repair'
        ), p AS (
          SELECT visit_id, ticket_id, h, 0 AS j FROM v WHERE h % 100 < 40
          UNION ALL SELECT visit_id, ticket_id, h, 1 FROM v WHERE h % 100 < 10
        )
        SELECT visit_id, 'P' || lpad(CAST((h // 100 + j * (1 + h % 7)) % {n_parts} AS VARCHAR), 3, '0') AS part_no, ticket_id,
               CAST(1 + (h // 7) % 3 AS INTEGER) AS quantity,
               CAST(5 + ((h // 100 + j * (1 + h % 7)) % {n_parts}) * 3.5 AS DECIMAL(12, 2)) AS unit_cost
        FROM p""")
    con.execute(f"""
        INSERT INTO surveys BY NAME
        WITH t AS (
          SELECT ticket_id, closed_at, is_complaint, CAST(substr(ticket_id, 2) AS BIGINT) AS i FROM tickets
          WHERE closed_at IS NOT NULL
        ), s AS (
          SELECT *, closed_at + to_microseconds(CAST((1 + 71 * u(i, 60)) * 3.6e9 AS BIGINT)) AS responded_at,
                 u(i, 62) - CASE WHEN is_complaint THEN 0.4 ELSE 0 END AS q
          FROM t WHERE u(i, 61) < 0.35
        )
        SELECT 'S' || substr(ticket_id, 2) AS survey_id, ticket_id, responded_at,
               CASE WHEN u(i, 63) < 0.03 THEN NULL WHEN q < 0.05 THEN 1 WHEN q < 0.10 THEN 2 WHEN q < 0.20 THEN 3
                    WHEN q < 0.45 THEN 4 ELSE 5 END::TINYINT AS satisfaction,
               CASE WHEN u(i, 64) < 0.3 THEN NULL
                    ELSE least(10, greatest(0, round(10 * greatest(q, 0) + 1.5 * nrm(i, 65) + 0.5)))::TINYINT END AS nps,
               NULL AS comment, (['sms', 'wechat', 'phone'])[CAST(hash(i, 66, {s}) % 3 AS INTEGER) + 1] AS survey_channel
        FROM s WHERE responded_at <= TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}'""")
    con.execute(f"""
        INSERT INTO orders_daily BY NAME
        SELECT CAST(DATE '{t0:%Y-%m-%d}' + CAST(d AS INTEGER) AS DATE) AS order_date, ch AS channel, cat AS product_category,
               CAST(greatest(1, {n} / ({days} * 11 * 7) * 20 * (0.5 + u(d * 100 + len(ch), len(cat)))) AS INTEGER) AS orders
        FROM range({days}) r(d), unnest({_list(channels)}) c(ch), unnest({_list(cats)}) k(cat)""")
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in model.TABLES}


def _load_generated(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    """Generator parquet → canonical tables, bypassing the loader (one line to swap for it)."""
    for name, t in model.TABLES.items():
        f = out / f"{name}.parquet"
        if f.exists():
            # the columns the generator writes (newer model columns, such as reopen_count, stay empty)
            have = {r[0] for r in con.execute("SELECT name FROM parquet_schema(?)", [str(f)]).fetchall()}
            cols = ", ".join(c for c in t.column_names if c in have)
            con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM read_parquet(?)", [str(f)])


def sample_db(path: Path, tickets: int = 20_000, seed: int = 7) -> tuple[Path, str]:
    """A database file of sample data at ``path``; returns it and where the data came from."""
    con = duckdb.connect(str(path))
    create_schema(con)
    source = "metrics synth"
    try:
        from pipelines.generate import generate  # type: ignore[import-not-found]
    except ImportError:
        generate = None
    if generate is not None:
        out = path.parent / "generated"
        try:
            generate(out, tickets=tickets, seed=seed, end="2026-10-31", progress=False)
            _load_generated(con, out)
            source = "pipelines.generate"
        except Exception:  # the generator is still being written: fall back, and say so
            for name in model.TABLES:
                con.execute(f"DELETE FROM {name}")
            generate = None
    if generate is None:
        synth(con, tickets=tickets, seed=seed)
    derive.refresh(con)  # as every load does: the metrics read these tables
    con.close()
    return path, source


_SAMPLE: dict[str, tuple[Path, str]] = {}


def shared_sample_db(tickets: int = 30_000, seed: int = 7) -> tuple[Path, str]:
    """One sample database per test session (built on first use, in a temporary directory)."""
    import atexit
    import shutil
    import tempfile

    key = f"{tickets}-{seed}"
    if key not in _SAMPLE:
        tmp = Path(tempfile.mkdtemp(prefix="metrics-sample-"))
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
        _SAMPLE[key] = sample_db(tmp / "sample.duckdb", tickets=tickets, seed=seed)
    return _SAMPLE[key]
