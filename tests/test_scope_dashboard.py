"""The data scope in the dashboard's reads (issue 17): cached results, in memory and on disk, are
kept per scope; the shortcuts (a one-value filter answered from its breakdown, ticket lists
filtered in memory) never step outside the scope; the sidebar offers in-scope values only."""

from __future__ import annotations

import shutil

import pytest
from polars.testing import assert_frame_equal

import metrics
from aftersales.principal import DataScope, Principal
from dashboard.views import PAGES
from tests.test_dashboard import app, default_range, use_db  # noqa: F401  (fixture)
from tests.test_dashboard_fixtures import dash_db  # noqa: F401  (fixture)

EAST = DataScope(regions=("east",))
KPIS = ("ticket_volume", "complaint_rate", "backlog")


def test_cached_results_are_kept_per_scope(dash_db, use_db, tmp_path):  # noqa: F811
    """The same request by two scopes: each gets its own numbers, also when read back from the
    disk cache by a new server process (memory cleared)."""
    from dashboard import data, persist

    db = use_db(tmp_path / "s.duckdb")
    shutil.copyfile(dash_db, db)
    start, end = default_range(db)
    ver = data.version()
    for _ in range(2):  # computed, then read back from disk
        data._kpis.clear()
        data._breaching.clear()
        whole = data.kpis(ver, DataScope(), KPIS, "month", start, end, ())
        east = data.kpis(ver, EAST, KPIS, "month", start, end, ())
        assert_frame_equal(east, metrics.query(str(db), list(KPIS), grain="month", start=start, end=end, scope=EAST))
        assert east["value"].sum() < whole["value"].sum()
        open_east = data.breaching(ver, EAST, ())
        assert not open_east.is_empty()
        assert set(open_east["outlet_id"]) <= set(
            metrics.dimension_values(str(db), "outlet", scope=EAST)["value"].to_list())
        assert open_east.height < data.breaching(ver, DataScope(), ()).height
    assert list(persist.directory(db, ver).glob("kpis-*.pkl"))


@pytest.mark.parametrize("where", [{"region": ["east"]}, {"region": ["north"]}, {"channel": ["jd"]},
                                   {"outlet_type": ["own"]}])
def test_shortcuts_stay_inside_the_scope(dash_db, use_db, where):  # noqa: F811
    """A one-value filter answered from its breakdown, and the open and breaching lists filtered
    in memory, equal the metrics read inside the scope (north for an East manager: nothing)."""
    from dashboard import data

    use_db(dash_db)
    start, end = default_range(dash_db)
    want = metrics.query(str(dash_db), list(KPIS), grain="month", start=start, end=end, where=where, scope=EAST)
    w = data.where_tuple(where)
    with data.computing_breakdowns():
        assert_frame_equal(data.kpis(data.version(), EAST, KPIS, "month", start, end, w), want)
    listed = metrics.breaching(str(dash_db), where=where, limit=None, scope=EAST)
    got = data.breaching(data.version(), EAST, w)
    assert set(got["ticket_id"].to_list()) == set(listed["ticket_id"].to_list())
    if where == {"region": ["north"]}:
        assert got.is_empty() and want["value"].fill_null(0).sum() == 0


def test_the_sidebar_offers_only_the_scope_and_ignores_a_link_outside_it(dash_db, use_db, monkeypatch):  # noqa: F811
    """An East manager: the region filter offers east alone; ``?region=north`` is not honoured
    (the numbers are East's) and the sidebar says it was ignored."""
    from dashboard import signin

    use_db(dash_db)
    manager = Principal("wang", "王经理", "regional_manager", EAST, frozenset({"download"}))
    monkeypatch.setattr(signin, "gate", lambda **_: manager)
    at = app("overview", params={"region": "north"})
    region = next(m for m in at.sidebar.multiselect if m.key == "region")
    assert region.options == ["华东"]
    assert region.value == []
    assert any("不在您的数据范围内" in c.value for c in at.sidebar.caption), [c.value for c in at.sidebar.caption]
    outlets = next(m for m in at.sidebar.multiselect if m.key == "outlet").options
    east_outlets = metrics.dimension_values(str(dash_db), "outlet", scope=EAST)["value"].to_list()
    assert outlets and all(o.split(" ")[0] in east_outlets for o in outlets)
    scope = at.session_state["_scope"]
    assert scope.data_scope == EAST and scope.where == ()


# the forecast pages (their own scope rule) and the ticket lists by default, every page when slow
FAST_PAGES = ("staffing", "parts", "sla")


@pytest.mark.parametrize("page", [p if p in FAST_PAGES else pytest.param(p, marks=pytest.mark.slow)
                                  for p, _, _ in PAGES])
def test_pages_render_for_a_regional_manager(dash_db, use_db, monkeypatch, page):  # noqa: F811
    """Every page runs for a scoped user without an error (forecast pages show their regions)."""
    from dashboard import signin

    use_db(dash_db)
    manager = Principal("wang", "王经理", "regional_manager", EAST, frozenset({"download", "forecasts"}))
    monkeypatch.setattr(signin, "gate", lambda **_: manager)
    at = app(page)
    assert not at.exception, (page, [e.value for e in at.exception])


