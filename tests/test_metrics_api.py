"""The API around the numbers: validation, SQL safety, rankings, drill-down, distributions, CLI,
and golden snapshots of the generated SQL (``UPDATE_GOLDEN=1 pytest tests/test_metrics_api.py``
rewrites them after an intended change; review the diff)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import duckdb
import polars as pl
import pytest

import metrics
from aftersales.cli import main as cli_main
from aftersales.config import DEFAULTS
from aftersales.errors import UserError
from aftersales.principal import DataScope
from metrics import registry as R
from metrics import sql as S
from tests.metrics_fixtures import fixture_con, shared_sample_db, synth

GOLDEN = Path(metrics.__file__).parent / "golden"
JUNE, JUNE_END = dt.date(2024, 6, 1), dt.date(2024, 6, 30)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("api") / "a.duckdb"
    con = duckdb.connect(str(path))
    con.execute(__import__("aftersales.model", fromlist=["ddl"]).ddl())
    synth(con, tickets=3000, seed=3, start="2023-01-01", days=600)
    con.close()
    return path


# -- the registry -----------------------------------------------------------------------------


def test_registry_declares_everything_once():
    for k in R.KPIS.values():
        assert k.zh and k.en and k.description and k.description_zh and k.unit and k.fmt, k.id
        assert k.period_by in ("created", "resolved", "closed", "responded", "due", "period_end", "visit"), k.id
        assert k.direction in ("higher", "lower", "none")
        format(0.5, k.fmt)  # a valid number format
        if k.kind in ("ratio", "nps"):
            assert k.num, k.id
        if k.kind in ("sum", "mean", "quantile"):
            assert k.value, k.id
        assert set(k.allowed_dims()) <= set(R.DIMENSIONS)
    required = {"ticket_volume", "repair_success_rate", "first_time_fix_rate", "mttr", "mttr_median", "mttr_p90",
                "complaint_rate", "complaints_per_1k_orders", "csat", "csat_mean", "nps", "survey_response_rate",
                "first_response_time", "sla_compliance", "refund_cycle_time", "reopen_rate", "backlog",
                "parts_consumption"}
    assert required <= set(R.KPIS)


def test_target_override_from_config():
    k = R.KPIS["csat"]
    assert R.target_for(k, {}) == 0.90
    assert R.target_for(k, {"targets": {"csat": 0.95}}) == 0.95


# -- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, message", [
    (dict(metrics=["nope"]), "unknown KPI 'nope'; valid KPIs: ticket_volume"),
    (dict(by=["colour"]), "unknown breakdown 'colour'; valid breakdowns: region, city"),
    (dict(where={"colour": "red"}), "unknown filter 'colour'; valid filters: region"),
    (dict(where={"region": "mars"}), "unknown region 'mars'; valid values: central, east"),
    (dict(where={"outlet": "X9"}), "unknown outlet 'X9'; valid values: O0000"),
    (dict(grain="fortnight"), "unknown grain 'fortnight'; valid grains: day, week, month"),
    (dict(metrics=["csat"], by=["part_no"]), "KPI csat cannot be broken down or filtered by part_no"),
    (dict(start=dt.date(2024, 2, 1), end=dt.date(2024, 1, 1)), "is before --from"),
])
def test_clear_errors(db, kwargs, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        metrics.query(db, **kwargs, scope=DataScope())


def test_chinese_labels_accepted_in_filters(db):
    a = metrics.query(db, metrics=["ticket_volume"], where={"region": "华东"}, grain="month", start=JUNE, end=JUNE_END,
                      scope=DataScope())
    b = metrics.query(db, metrics=["ticket_volume"], where={"region": ["east"]}, grain="month", start=JUNE,
                      end=JUNE_END, scope=DataScope())
    assert a["value"].to_list() == b["value"].to_list() and a["value"][0] > 0


def test_filter_value_in_records_but_not_in_master_data():
    con = fixture_con()
    con.execute("INSERT INTO tickets (ticket_id, channel, service_type, status, outlet_id, created_at) "
                "VALUES ('T1', 'jd', 'repair', 'open', 'OX', '2024-06-03')")
    df = metrics.query(con, metrics=["ticket_volume"], where={"outlet": "OX"}, start=JUNE, end=JUNE_END,
                       scope=DataScope())
    assert df["value"].to_list() == [1.0]
    with pytest.raises(UserError, match="unknown outlet 'OY'; valid values: OX"):
        metrics.query(con, metrics=["ticket_volume"], where={"outlet": "OY"}, start=JUNE, end=JUNE_END,
                      scope=DataScope())


def test_values_are_bound_never_inlined(db):
    hostile = "east'; DROP TABLE tickets; --"
    p = S.Plan(kpis=list(R.KPIS.values()), by=["region"], grain="month",
               windows=[(dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 1))], where={"region": [hostile]},
               sla_hours=DEFAULTS["sla_hours"])
    sql, params = S.build(p)
    assert hostile not in sql and hostile in params.values()
    assert "2024-01-01" not in sql
    # and a hostile value is refused before any SQL runs
    with pytest.raises(UserError, match="unknown region"):
        metrics.query(db, where={"region": hostile}, scope=DataScope())


def test_result_columns(db):
    df = metrics.query(db, by=["region"], grain="month", start=JUNE, end=JUNE_END, scope=DataScope())
    expected = [c for c in metrics.RESULT_COLUMNS if c != "<dims>"]
    expected.insert(3, "region")
    assert df.columns == expected
    assert df["period_start"].dtype == pl.Date and set(df["period_start"]) == {JUNE}


def test_weeks_start_monday_and_previous_periods(db):
    df = metrics.query(db, metrics=["ticket_volume"], grain="week", start=dt.date(2024, 6, 5),
                       end=dt.date(2024, 6, 19), scope=DataScope())
    assert [d.weekday() for d in df["period_start"]] == [0, 0, 0]  # 3 whole ISO weeks
    rows = df.to_dicts()
    assert rows[1]["prev_value"] == rows[0]["value"]  # 环比 = the week before
    assert rows[1]["prev_change"] == rows[1]["value"] - rows[0]["value"]
    full = metrics.query(db, metrics=["ticket_volume"], grain="week", start=dt.date(2023, 6, 1),
                         end=dt.date(2024, 6, 19), scope=DataScope())
    week = full.filter(pl.col("period_start") == rows[1]["period_start"]).to_dicts()[0]
    ly = full.filter(pl.col("period_start") == rows[1]["period_start"] - dt.timedelta(weeks=52)).to_dicts()[0]
    assert week["yoy_value"] == ly["value"] == rows[1]["yoy_value"]  # 同比 = 52 weeks earlier


def test_without_comparisons_same_values(db):
    kw = dict(by=["region"], grain="month", start=dt.date(2024, 5, 1), end=JUNE_END, where={"outlet": ["O0001"]})
    full = metrics.query(db, **kw, scope=DataScope())
    lean = metrics.query(db, compare=False, **kw, scope=DataScope())
    # the same numbers (up to the order a parallel sum adds them in)
    for a, b in zip(full["value"].to_list(), lean["value"].to_list(), strict=True):
        assert (a is None and b is None) or a == pytest.approx(b, rel=1e-12)
    assert lean.filter(pl.col("period_start") == dt.date(2024, 5, 1))["prev_value"].is_null().all()
    assert lean["yoy_value"].is_null().all()
    june = lean.filter(pl.col("period_start") == JUNE)  # May is in the result: June's 环比 is known
    expected = full.filter(pl.col("period_start") == JUNE)["prev_value"].to_list()
    for a, b in zip(june["prev_value"].to_list(), expected, strict=True):
        assert (a is None and b is None) or a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("grain,start,end", [("month", dt.date(2024, 3, 1), JUNE_END), ("week", dt.date(2024, 5, 6), JUNE_END),
                                              ("quarter", dt.date(2023, 10, 1), JUNE_END), ("day", JUNE, dt.date(2024, 6, 5))])
def test_comparisons_of_the_last_period_only(db, grain, start, end):
    """compare="last": every value as with every comparison, the last period's 环比 and 同比 too;
    the other periods' only where the compared period was scanned anyway."""
    from polars.testing import assert_frame_equal

    kw = dict(metrics=["ticket_volume", "mttr", "nps", "sla_compliance", "sla_onsite", "backlog", "backlog_aged_7d"],
              by=["region"], grain=grain, start=start, end=end)
    full = metrics.query(db, **kw, scope=DataScope())
    lean = metrics.query(db, compare="last", **kw, scope=DataScope())
    assert_frame_equal(lean.select(pl.exclude(COMPARED)), full.select(pl.exclude(COMPARED)))
    last = full["period_start"].max()
    assert_frame_equal(lean.filter(pl.col("period_start") == last), full.filter(pl.col("period_start") == last))
    assert lean.filter(pl.col("period_start") == last)["yoy_value"].is_not_null().any()
    first = lean.filter(pl.col("period_start") == lean["period_start"].min())
    assert first["prev_value"].is_null().all() and first["yoy_value"].is_null().all()  # not scanned
    with pytest.raises(UserError, match="compare"):
        metrics.query(db, compare="first", **kw, scope=DataScope())


COMPARED = ["prev_value", "prev_change", "prev_change_pct", "yoy_value", "yoy_change", "yoy_change_pct"]


def test_status_and_small_sample(db):
    cfg = {**DEFAULTS, "targets": {"csat": 0.0, "complaint_rate": 0.0}}
    df = metrics.query(db, metrics=["csat", "complaint_rate", "ticket_volume"], by=["technician"], grain="month",
                       start=JUNE, end=JUNE_END, config=cfg, scope=DataScope())
    for r in df.to_dicts():
        if r["value"] is None:
            assert r["status"] == "no_data"
        elif r["kpi"] == "ticket_volume":
            assert r["status"] == "no_target"
        elif r["small_sample"]:
            assert r["status"] == "too_small"
        else:
            assert r["status"] == ("met" if r["kpi"] == "csat" else "missed")  # target 0: csat ≥ 0, complaints ≤ 0


# -- ranking --------------------------------------------------------------------------------------


def test_rank_does_not_let_a_tiny_outlet_top_a_big_one():
    con = fixture_con()
    # BIG: 3,000 resolved repairs, 2,910 fixed (97%); TINY: 3 repairs, all fixed (100%);
    # MID: 300 repairs at 80%
    con.execute("INSERT INTO outlets (outlet_id, region, city, outlet_type) VALUES "
                "('BIG', 'east', '上海', 'own'), ('TINY', 'east', '上海', 'own'), ('MID', 'east', '上海', 'own')")
    con.execute("""
        INSERT INTO tickets (ticket_id, channel, service_type, status, outlet_id, customer_id, product_model,
                             created_at, resolved_at, resolution)
        SELECT 'T' || i, 'jd', 'repair', 'closed', o, 'C' || i, 'M', TIMESTAMP '2024-06-01', TIMESTAMP '2024-06-02',
               CASE WHEN fixed THEN 'fixed' ELSE 'not_fixed' END
        FROM (SELECT i, 'BIG' AS o, i < 2910 AS fixed FROM range(3000) r(i)
              UNION ALL SELECT 10000 + i, 'TINY', TRUE FROM range(3) r(i)
              UNION ALL SELECT 20000 + i, 'MID', i < 240 FROM range(300) r(i))""")
    for method in ("shrunk", "interval"):
        r = metrics.rank(con, "repair_success_rate", level="outlet", start=JUNE, end=JUNE_END, method=method,
                         config=DEFAULTS, scope=DataScope())
        assert r["outlet"].to_list()[0] == "BIG", (method, r)
        assert set(r["rank_method"]) == {method}
        tiny = r.filter(pl.col("outlet") == "TINY").to_dicts()[0]
        assert tiny["value"] == 1.0 and tiny["score"] < 0.97 and tiny["small_sample"]
    # the raw value would have put TINY first
    raw = metrics.rank(con, "repair_success_rate", level="outlet", start=JUNE, end=JUNE_END, method="value",
                       config=DEFAULTS, scope=DataScope())
    assert raw["outlet"][0] == "TINY"


def test_rank_lower_is_better_and_medians(db):
    r = metrics.rank(db, "mttr_median", level="outlet", start=JUNE, end=JUNE_END, scope=DataScope())
    assert set(r["rank_method"]) == {"interval"}
    scores = [s for s in r["score"].to_list() if s is not None]
    assert scores == sorted(scores)  # lower MTTR ranks first, by the upper end of its interval
    with pytest.raises(UserError, match="cannot be shrunk"):
        metrics.rank(db, "mttr_median", level="outlet", method="shrunk", scope=DataScope())


# -- drill-down and distributions ------------------------------------------------------------------


def test_records_behind_a_value_are_masked(db):
    row = metrics.query(db, metrics=["complaint_rate"], by=["region"], grain="month", start=JUNE,
                        end=JUNE_END, scope=DataScope()).filter(pl.col("region") == "east").to_dicts()[0]
    rec = metrics.records(db, "complaint_rate", period_start=JUNE, grain="month", where={"region": "east"},
                          limit=None, scope=DataScope())
    assert len(rec) == row["denominator"] + row["n_excluded"]
    assert rec["in_numerator"].sum() == row["numerator"]
    num = metrics.records(db, "complaint_rate", period_start=JUNE, grain="month", where={"region": "east"},
                          only="numerator", limit=None, scope=DataScope())
    assert len(num) == row["numerator"] and num["is_complaint"].all()
    assert all(n.endswith("**") and len(n) == 3 for n in rec["customer_name"].drop_nulls())
    assert all(p[3:7] == "****" and len(p) == 11 for p in rec["customer_phone"].drop_nulls())
    assert metrics.mask_name("张三丰") == "张**" and metrics.mask_phone("13812341234") == "138****1234"


@pytest.mark.parametrize("kpi", ["sla_compliance", "csat", "parts_consumption", "backlog", "repair_success_rate"])
def test_records_for_other_bases(db, kpi):
    row = metrics.query(db, metrics=[kpi], grain="month", start=JUNE, end=JUNE_END, scope=DataScope()).to_dicts()[0]
    rec = metrics.records(db, kpi, period_start=JUNE, grain="month", limit=None, scope=DataScope())
    assert rec["counted"].sum() == row["n_records"]


def test_distributions(db):
    sat = metrics.distribution(db, "satisfaction", grain="month", start=JUNE, end=JUNE_END, scope=DataScope())
    csat = metrics.query(db, metrics=["csat_mean"], grain="month", start=JUNE, end=JUNE_END,
                         scope=DataScope()).to_dicts()[0]
    assert sat["count"].sum() == csat["n_records"] and set(sat["bucket"]) <= {"1", "2", "3", "4", "5"}
    assert sat["share"].sum() == pytest.approx(1.0)
    hist = metrics.distribution(db, "mttr_hours", grain="month", start=JUNE, end=JUNE_END, by=["region"],
                                scope=DataScope())
    mttr = metrics.query(db, metrics=["mttr"], grain="month", start=JUNE, end=JUNE_END, scope=DataScope()).to_dicts()[0]
    assert hist["count"].sum() == mttr["n_records"]
    with pytest.raises(UserError, match="unknown distribution"):
        metrics.distribution(db, "nope", scope=DataScope())


def test_dimension_values(db):
    assert metrics.dimension_values(db, "region",
                                    scope=DataScope())["value"].to_list() == list(R.DIMENSIONS["region"].labels)
    outlets = metrics.dimension_values(db, "outlet", scope=DataScope())
    assert outlets["value"][0] == "O0000" and outlets["label"][0] == "网点0"


# -- CLI ----------------------------------------------------------------------------------------------


def test_cli_kpi_formats(db, capsys):
    args = ["--db", str(db), "kpi", "--metric", "csat,repair_success_rate", "--by", "region", "--grain", "quarter",
            "--from", "2024-01-01", "--to", "2024-06-30", "--where", "channel=jd,tmall"]
    assert cli_main(args + ["--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["kpi"] for r in rows} == {"csat", "repair_success_rate"} and {r["period_start"] for r in rows} == {
        "2024-01-01", "2024-04-01"}
    assert cli_main(args + ["--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("kpi,period_start,period_end,region,value")
    assert cli_main(args) == 0
    out = capsys.readouterr().out
    assert "满意度(好评率)" in out and "95%置信区间" in out and "大区" in out and "华东" in out
    assert "95% CI" in (cli_main(args + ["--lang", "en"]) == 0 and capsys.readouterr().out)
    assert cli_main(args + ["--show-sql"]) == 0
    assert "-- parameters:" in capsys.readouterr().out


def test_cli_errors_and_metrics_listing(db, capsys):
    assert cli_main(["--db", str(db), "kpi", "--metric", "nope"]) == 2
    assert "valid KPIs" in capsys.readouterr().err
    assert cli_main(["--db", str(db), "kpi", "--where", "region"]) == 2
    assert "DIM=VALUE" in capsys.readouterr().err
    assert cli_main(["--db", str(db), "metrics"]) == 0
    out = capsys.readouterr().out
    for k in R.KPIS.values():
        assert k.zh in out and k.en in out
    assert cli_main(["--db", str(db), "metrics", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(R.KPIS)


def test_cli_on_the_sample_data(capsys):
    """Any KPI × breakdown × grain answers on the sample data (one of each, to stay quick)."""
    path = shared_sample_db()[0]
    grains = ["day", "week", "month", "quarter", "year"]
    for i, dim in enumerate(R.DIMENSIONS):
        grain = grains[i % len(grains)]
        assert cli_main(["--db", str(path), "kpi", "--by", dim, "--grain", grain, "--format", "csv"]) == 0, dim
        assert capsys.readouterr().out.count("\n") > 1, dim


# -- golden SQL ---------------------------------------------------------------------------------------

CASES = {
    "panel_region_month": dict(metrics=None, by=["region"], grain="month"),
    "drill_outlet": dict(metrics=None, by=[], grain="month", where={"outlet": ["O0001"]}),
    "orders_by_channel_week": dict(metrics=["complaints_per_1k_orders"], by=["channel"], grain="week"),
    "parts_by_part_all": dict(metrics=["parts_consumption", "parts_cost"], by=["part_no"], grain=None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_golden_sql(case):
    kw = CASES[case]
    kpis = [R.KPIS[k] for k in (kw["metrics"] or R.KPIS)]
    p = S.Plan(kpis=kpis, by=kw["by"], grain=kw["grain"],
               windows=[(dt.datetime(2023, 1, 1), dt.datetime(2024, 7, 1))], where=kw.get("where", {}),
               sla_hours=DEFAULTS["sla_hours"])
    text = S.render(*S.build(p)) + "\n"
    path = GOLDEN / f"{case}.sql"
    if os.environ.get("UPDATE_GOLDEN") or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"generated SQL changed: UPDATE_GOLDEN=1 to accept ({path})"
