"""The data scope below the dashboard (issue 17): over random scopes and filters, every read
function returns only rows inside the scope, and exactly the rows the whole company's read holds
inside it.

The truth is the generator's raw files (tickets.parquet, outlets.parquet), read with polars, not
the database: a ticket is inside a scope when its outlet's region, the outlet and its type are
each among the scope's (``DataScope.allows``); a ticket not dispatched (no outlet) is outside any
restricted scope. The database is the dashboard tests' sample (6,000 tickets, loaded by the real
pipeline, with hand-built forecast runs).
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metrics
from aftersales.config import DEFAULTS
from aftersales.errors import UserError
from aftersales.principal import DataScope
from forecasts import store
from metrics import complaints, losses
from metrics.scorecard import scorecard
from tests.test_dashboard_fixtures import REGIONS, dash_db  # noqa: F401  (fixture)

START, END = dt.date(2026, 5, 1), dt.date(2026, 10, 31)
TYPES = ("own", "outsourced")


@functools.lru_cache(maxsize=2)
def raw(sample: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(tickets with their outlet's region and type, outlets) from the generator's files."""
    outlets = pl.read_parquet(sample / "outlets.parquet").select("outlet_id", "region", "outlet_type")
    tickets = pl.read_parquet(sample / "tickets.parquet").join(outlets, on="outlet_id", how="left")
    return tickets, outlets


def inside(frame: pl.DataFrame, scope: DataScope) -> pl.DataFrame:
    """Rows (with region, outlet_id, outlet_type) inside the scope, by ``DataScope.allows``."""
    keep = [scope.allows(r, o, t) for r, o, t in frame.select("region", "outlet_id", "outlet_type").iter_rows()]
    return frame.filter(pl.Series(keep, dtype=pl.Boolean))


def outlet_ids(sample: Path) -> list[str]:
    return sorted(raw(sample)[1]["outlet_id"].to_list())


@st.composite
def scopes(draw, outlets: list[str]) -> DataScope:
    return DataScope(tuple(draw(st.lists(st.sampled_from(REGIONS), max_size=2, unique=True))),
                     tuple(draw(st.lists(st.sampled_from(outlets), max_size=3, unique=True))),
                     tuple(draw(st.lists(st.sampled_from(TYPES), max_size=1, unique=True))))


@st.composite
def filters(draw, outlets: list[str]) -> dict[str, list[str]]:
    where = {"region": draw(st.lists(st.sampled_from(REGIONS), max_size=2, unique=True)),
             "outlet": draw(st.lists(st.sampled_from(outlets), max_size=2, unique=True)),
             "outlet_type": draw(st.lists(st.sampled_from(TYPES), max_size=1, unique=True)),
             "channel": draw(st.lists(st.sampled_from(("tmall", "jd", "phone")), max_size=1, unique=True))}
    return {d: v for d, v in where.items() if v}


@pytest.fixture(scope="module")
def sample(dash_db):  # noqa: F811
    """(one read-only connection to the database, the generator's files, the database's path)."""
    con = duckdb.connect(str(dash_db), read_only=True)
    yield con, Path(dash_db).parent / "sample", Path(dash_db)
    con.close()


def _query_case(db: duckdb.DuckDBPyConnection, src: Path, scope: DataScope, where: dict) -> None:
    """``query`` by outlet: the scoped volume per outlet is the raw files' count inside scope and
    filters, and the whole company's row for each outlet inside the scope."""
    got = metrics.query(db, ["ticket_volume"], by=["outlet"], grain=None, start=START, end=END, where=where,
                        config=DEFAULTS, scope=scope)
    tickets, _ = raw(src)
    t = tickets.filter((pl.col("created_at") >= dt.datetime.combine(START, dt.time()))
                       & (pl.col("created_at") < dt.datetime.combine(END + dt.timedelta(days=1), dt.time())))
    cols = {"region": "region", "outlet": "outlet_id", "outlet_type": "outlet_type", "channel": "channel"}
    for dim, values in where.items():
        t = t.filter(pl.col(cols[dim]).is_in(values))
    want = inside(t, scope).group_by("outlet_id").len()
    assert dict(zip(got["outlet"].to_list(), got["value"].to_list(), strict=True)) == \
        {o: float(n) for o, n in want.iter_rows() if n}, (scope, where)


def _ids(df: pl.DataFrame) -> set[str]:
    return set(df["ticket_id"].to_list()) if not df.is_empty() else set()


def _records_cases(db: duckdb.DuckDBPyConnection, src: Path, scope: DataScope, where: dict) -> None:
    """Drill-downs, breaches and complaint lists: only tickets inside the scope, and every ticket
    of the whole company's list that is inside it."""
    allowed = set(inside(raw(src)[0], scope)["ticket_id"].to_list())
    company = DataScope()
    pairs = [
        lambda s: metrics.records(db, "complaint_rate", grain=None, start=START, end=END, where=where, config=DEFAULTS,
                                  limit=None, scope=s),
        lambda s: metrics.records(db, "backlog", grain=None, start=END, end=END, where=where, config=DEFAULTS,
                                  limit=None, scope=s),
        lambda s: metrics.breaching(db, where=where, config=DEFAULTS, limit=None, scope=s),
        lambda s: complaints.complaint_records(db, START, END, where, config=DEFAULTS, scope=s),
    ]
    for read in pairs:
        scoped, whole = _ids(read(scope)), _ids(read(company))
        assert scoped <= allowed, (scope, where, sorted(scoped - allowed)[:5])
        assert scoped == whole & allowed, (scope, where)


def _unit_cases(db: duckdb.DuckDBPyConnection, src: Path, scope: DataScope, where: dict) -> None:
    """Rankings, scorecards, losses, complaint matrices, distributions and filter values: every
    outlet, region or outlet type listed lies inside the scope."""
    _, outlets = raw(src)
    ok = inside(outlets, scope)
    ok_outlets, ok_regions, ok_types = (set(ok[c].to_list()) for c in ("outlet_id", "region", "outlet_type"))
    span = {"start": START, "end": END, "where": where, "config": DEFAULTS, "scope": scope}

    def listed(df: pl.DataFrame, col: str) -> set:
        return set(df[col].drop_nulls().to_list()) if not df.is_empty() and col in df.columns else set()

    assert listed(metrics.rank(db, "csat", level="outlet", **span), "outlet") <= ok_outlets
    assert listed(complaints.matrix(db, "outlet", **span), "outlet") <= ok_outlets
    assert listed(losses.ftf_losses(db, by=["outlet"], grain=None, **span), "outlet") <= ok_outlets
    assert listed(metrics.distribution(db, "mttr_hours", by=["region"], **span), "region") <= ok_regions
    card = scorecard(db, "outlet", period=dt.date(2026, 9, 1), where=where, config=DEFAULTS, scope=scope)
    assert listed(card.table, "outlet") <= ok_outlets
    assert listed(metrics.dimension_values(db, "outlet", scope=scope), "value") == ok_outlets
    assert listed(metrics.dimension_values(db, "region", scope=scope), "value") == ok_regions
    assert listed(metrics.dimension_values(db, "outlet_type", scope=scope), "value") == ok_types


def _forecast_cases(db: Path, scope: DataScope) -> None:
    """Stored forecasts: a region's series and staffing rows only for a scope of regions alone;
    the company total and the spare parts for the whole company only."""
    run = store.latest_run(db, "workload")
    parts = store.latest_run(db, "parts")
    fc = store.read_forecast(db, run["run_id"], scope=scope)
    plan = store.read_staffing(db, run["run_id"], scope=scope)
    reorder = store.read_reorder(db, parts["run_id"], scope=scope)
    regions_only = bool(scope.regions) and not (scope.outlets or scope.outlet_types)
    if scope.whole_company:
        assert not fc.is_empty() and not reorder.is_empty()
        return
    assert reorder.is_empty()
    seen = {uid.split("/")[0] for uid in fc["unique_id"].to_list()} if not fc.is_empty() else set()
    staffed = set(plan["region"].to_list()) if not plan.is_empty() else set()
    if regions_only:
        assert seen == set(scope.regions) and staffed <= set(scope.regions)
    else:
        assert not seen and not staffed


# A few examples in the default run (each reads a dozen functions twice); many more when slow
# tests run (`pytest -m slow`).
@pytest.mark.parametrize("examples", [4, pytest.param(40, marks=pytest.mark.slow)])
def test_every_read_returns_only_rows_inside_random_scopes(sample, examples):
    db, src, path = sample
    outlets = outlet_ids(src)

    @settings(max_examples=examples, deadline=None, derandomize=examples < 40, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(scope=scopes(outlets), where=filters(outlets))
    def check(scope: DataScope, where: dict) -> None:
        _query_case(db, src, scope, where)
        _records_cases(db, src, scope, where)
        _unit_cases(db, src, scope, where)
        _forecast_cases(path, scope)

    check()


def test_a_filter_outside_the_scope_gives_nothing_never_the_whole_company(sample):
    db, _, _ = sample
    east = DataScope(regions=("east",))
    args = {"grain": None, "start": START, "end": END, "config": DEFAULTS, "scope": east}
    assert metrics.query(db, ["ticket_volume"], where={"region": "north"}, **args)["value"].fill_null(0).sum() == 0
    assert metrics.query(db, ["ticket_volume"], where={"region": "east"}, **args)["value"].sum() > 0
    assert metrics.records(db, "complaint_rate", where={"region": ["north"]}, limit=None, **args).is_empty()
    assert metrics.breaching(db, where={"region": "north"}, config=DEFAULTS, limit=None, scope=east).is_empty()
    # a KPI whose records carry no region cannot be scoped: refused when named, left out otherwise
    with pytest.raises(UserError, match="data scope"):
        metrics.query(db, ["complaints_per_1k_orders"], **args)
    assert "complaints_per_1k_orders" not in metrics.query(db, **args)["kpi"].to_list()


@pytest.mark.parametrize("read", [metrics.query, metrics.records, metrics.distribution, metrics.breaching,
                                  metrics.rank, metrics.dimension_values, metrics.sql_for, scorecard,
                                  losses.ftf_losses, complaints.matrix, store.read_forecast, store.read_staffing])
def test_the_scope_is_a_required_argument(read):
    """No default: a caller that forgets the scope fails at once instead of reading everything."""
    import inspect

    param = inspect.signature(read).parameters["scope"]
    assert param.default is inspect.Parameter.empty and param.kind is inspect.Parameter.KEYWORD_ONLY
