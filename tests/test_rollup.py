"""Rollup tables (metrics.rollup): the same numbers as the facts, for any request.

- a property test: random KPIs, breakdowns, filters, grains, windows, comparisons and as-of
  times give the same result frame (values, intervals, sample sizes, provisional status,
  completeness) read through the rollups as read from the facts alone;
- a load patching the facts patches the rollups: the patched tables equal tables built whole,
  and the numbers still equal the facts';
- a rollup that does not match the facts (another load since, another SLA configuration) is not
  read.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import metrics
from aftersales import model
from aftersales.config import DEFAULTS
from aftersales.principal import DataScope
from metrics import compute, rollup
from metrics import registry as R
from pipelines import derive
from tests.metrics_fixtures import shared_sample_db

KPIS = sorted(k.id for k in R.KPIS.values() if k.base != "orders")
# Filter values: a few codes of each coded dimension (some with no records in a given window).
VALUES = {d: sorted(R.DIMENSIONS[d].labels or {})[:4] for d in rollup.CODED}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    path, _ = shared_sample_db()
    copy = tmp_path_factory.mktemp("rollup") / "sample.duckdb"
    shutil.copy(path, copy)
    return copy


@pytest.fixture(scope="module")
def con(sample):
    with duckdb.connect(str(sample), read_only=True) as c:
        yield c


def _both(con, **kw) -> tuple[pl.DataFrame, pl.DataFrame]:
    kw = {"scope": DataScope(), **kw}
    rolled = metrics.query(con, config=DEFAULTS, **kw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rollup, "choose", lambda con, plan: {})
        facts = metrics.query(con, config=DEFAULTS, **kw)
    return rolled, facts


def _same(a: pl.DataFrame, b: pl.DataFrame) -> None:
    keys = [c for c in a.columns if c in ("kpi", "period_start") or c in R.DIMENSIONS]
    # sums of doubles (hours, scores) added in another order may differ in the last bits
    assert_frame_equal(a.sort(keys, nulls_last=True), b.sort(keys, nulls_last=True), check_exact=False,
                       rel_tol=1e-11, abs_tol=1e-9)


def _data_months(con) -> tuple[dt.date, dt.date]:
    lo, hi = con.execute("SELECT min(created_at), max(created_at) FROM tickets").fetchall()[0]
    return lo.date(), hi.date()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_rollup_equals_facts_for_any_request(con, data):
    first, last = _data_months(con)
    dims = data.draw(st.sampled_from([(), rollup.CODED, ("outlet", "region", "outlet_type", "city")]))
    by = data.draw(st.lists(st.sampled_from(dims), max_size=2, unique=True)) if dims else []
    where = {}
    for dim in data.draw(st.lists(st.sampled_from(dims), max_size=2, unique=True)) if dims else []:
        if dim in VALUES:
            where[dim] = data.draw(st.lists(st.sampled_from(VALUES[dim]), min_size=1, max_size=2, unique=True))
    grain = data.draw(st.sampled_from(["month", "quarter", "year", None, "month"]))
    span = (last - first).days
    a = first + dt.timedelta(days=data.draw(st.integers(0, span)))
    b = a + dt.timedelta(days=data.draw(st.integers(0, 500)))
    end = min(b, last)
    compare = data.draw(st.sampled_from([True, False, "last"])) if grain else False
    as_of = data.draw(st.sampled_from([None, None, dt.datetime.combine(end, dt.time(12))]))
    kpis = data.draw(st.lists(st.sampled_from(KPIS), min_size=1, max_size=6, unique=True))
    # a user's data scope narrows the filters: the rollups must carry its breakdowns too
    scope = data.draw(st.sampled_from([DataScope(), DataScope(regions=tuple(VALUES["region"][:2])),
                                       DataScope(regions=(VALUES["region"][0],), outlet_types=(VALUES["outlet_type"][0],))]))
    kw = dict(metrics=kpis, by=by, grain=grain, start=a, end=end, where=where or None, compare=compare, as_of=as_of,
              scope=scope)
    p, _, _ = compute.plan(con, **{k: v for k, v in kw.items() if k != "as_of"}, config=DEFAULTS, as_of=as_of)
    rolled, facts = _both(con, **kw)
    _same(rolled, facts)
    # the rollup is read whenever two whole months of a base rolled up whatever the as-of lie in the
    # scan before the rollups' horizon (so that this test compares something): checked on the plan
    ranges = compute.S._Builder(p).ranges()
    whole = rollup._periods(ranges, rollup.EARLY, dt.datetime(last.year, last.month, 1), rollup._next_month,
                            lambda s, e: True)
    rolled = {k.base for k in p.kpis if k.kind in rollup.KINDS}
    if len(whole) >= 2 and rolled & {"created", "resolved", "repair", "closed", "responses", "parts"}:
        assert p.rollup, kw


def test_the_dashboards_default_view_reads_the_rollups(con):
    """A year of months with comparisons: every rolled-up base reads its whole months from the
    rollup, and the numbers equal the facts'."""
    _, last = _data_months(con)
    kw = dict(grain="month", start=dt.date(last.year - 1, last.month, 1), end=last, compare="last")
    p, _, _ = compute.plan(con, config=DEFAULTS, scope=DataScope(), **kw)
    assert {"created", "resolved", "repair", "closed", "responses", "sla_resolution", "backlog"} <= set(p.rollup)
    assert all(r.table.startswith("rollup_total_") for r in p.rollup.values())
    # records counted by their own date: every month as loaded, the current one too
    assert p.rollup["created"].months[-1][1].date() > last and not p.rollup["created"].days
    # the SLA: the current month's complete days from the day rows, the as-of's day from the facts
    assert p.rollup["sla_resolution"].days[-1][1].date() == last
    _same(*_both(con, **kw))
    p, _, _ = compute.plan(con, config=DEFAULTS, scope=DataScope(), by=["region"], where={"channel": ["tmall"]}, **kw)
    assert all(r.table.startswith("rollup_coded_") for r in p.rollup.values())
    _same(*_both(con, by=["region"], where={"channel": ["tmall"]}, **kw))


def _tables(c) -> dict[str, list]:
    return {t: c.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in (rollup.table(n, b) for n in rollup.ROLLUPS for b in rollup.BASES)}


def _a_load(c, load_id: int) -> None:
    """What a load of a re-export does to the tables: old tickets resolved, moved to another
    channel, new tickets; the ledger gains the load."""
    c.execute("""INSERT INTO loads (load_id, file_name, file_path, sha256, source, table_name, started_at,
                 finished_at, rows_read, inserted, updated, unchanged, quarantined, status)
                 VALUES ($id, 'x.csv', '/x.csv', $sha, 'test', 'tickets', now(), now(), 0, 0, 0, 0, 0, 'loaded')""",
              {"id": load_id, "sha": f"sha{load_id}"})
    c.execute("""UPDATE tickets SET status = 'resolved', resolved_at = created_at + INTERVAL 40 DAY,
                 channel = 'jd', _load_id = $id
                 WHERE ticket_id IN (SELECT ticket_id FROM tickets WHERE status IN (SELECT unnest($open))
                                     ORDER BY ticket_id LIMIT 20)""", {"id": load_id, "open": list(model.OPEN_STATUSES)})
    c.execute("""UPDATE tickets SET created_at = created_at - INTERVAL 65 DAY, _load_id = $id
                 WHERE ticket_id IN (SELECT ticket_id FROM tickets ORDER BY hash(ticket_id) LIMIT 15)""",
              {"id": load_id})


def test_a_load_patches_the_rollups_as_a_rebuild_would(sample, tmp_path, monkeypatch):
    patched, rebuilt = tmp_path / "patched.duckdb", tmp_path / "rebuilt.duckdb"
    shutil.copy(sample, patched)
    monkeypatch.setattr(derive, "FULL_REBUILD_SHARE", 1e9)  # a small sample: force the patch
    with duckdb.connect(str(patched)) as c:
        load_id = c.execute("SELECT coalesce(max(load_id), 0) + 1 FROM loads").fetchall()[0][0]
        _a_load(c, load_id)
        what = derive.refresh(c)
        assert what.startswith("patched") and "rollups patched" in what, what
    shutil.copy(patched, rebuilt)
    with duckdb.connect(str(rebuilt)) as c:
        rollup.build(c, DEFAULTS)
        want = _tables(c)
    with duckdb.connect(str(patched), read_only=True) as c:
        got = _tables(c)
        assert got.keys() == want.keys()
        for name in want:
            assert _rows_close(got[name], want[name]), name
        _, last = _data_months(c)
        kw = dict(by=["channel"], grain="month", start=dt.date(last.year - 2, 1, 1), end=last)
        p, _, _ = compute.plan(c, config=DEFAULTS, scope=DataScope(), **kw)
        assert p.rollup
        _same(*_both(c, **kw))


def _rows_close(a: list[tuple], b: list[tuple]) -> bool:
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b, strict=True):
        for x, y in zip(ra, rb, strict=True):
            if isinstance(x, float) and isinstance(y, float):
                if abs(x - y) > 1e-9 * max(1.0, abs(y)):
                    return False
            elif x != y:
                return False
    return True


def test_a_rollup_that_does_not_match_is_not_read(sample, tmp_path):
    copy = tmp_path / "copy.duckdb"
    shutil.copy(sample, copy)
    _, last = _data_months(duckdb.connect(str(sample), read_only=True))
    kw = dict(grain="month", start=dt.date(last.year - 1, 1, 1), end=last)
    other = {**DEFAULTS, "sla_hours": {**DEFAULTS["sla_hours"], "resolution": {"default": 10.0}}}
    with duckdb.connect(str(copy)) as c:
        p, _, _ = compute.plan(c, config=other, scope=DataScope(), **kw)
        assert p.rollup and not any(b.startswith("sla_") for b in p.rollup)  # other limits: SLA from the facts
        # a load the rollups do not reflect (as if its refresh had not run): nothing is read from them
        c.execute("UPDATE meta SET value = '-1' WHERE key = $k", {"k": rollup.STATE["load"]})
        p, _, _ = compute.plan(c, config=DEFAULTS, scope=DataScope(), **kw)
        assert p.rollup == {}
