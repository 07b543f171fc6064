"""The dashboard through Streamlit's AppTest: every page renders in both languages, the numbers it
shows are exactly what the metrics API gives for the filters set (in the sidebar or in the URL),
caches refresh after a load, and reads keep working while a load runs.

The database is a small generated sample with hand-built forecast runs (test_dashboard_fixtures).
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

import metrics
from aftersales.principal import DataScope
from dashboard import i18n as T
from dashboard.views import PAGES
from metrics import periods
from metrics import registry as R
from tests.test_dashboard_fixtures import dash_db  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")
LANG_PARAM = {"zh": "中文", "en": "English"}
PAGE_NAMES = [p[0] for p in PAGES]


@pytest.fixture
def use_db(monkeypatch: pytest.MonkeyPatch):
    def use(db: Path) -> Path:
        monkeypatch.setenv("AFTERSALES_DB", str(db))
        monkeypatch.delenv("AFTERSALES_CONFIG", raising=False)
        return db

    return use


def app(page: str, lang: str = "zh", params: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    if lang != "zh":
        at.query_params["lang"] = LANG_PARAM[lang]
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()
    if page != "overview":
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def default_range(db: Path) -> tuple[dt.date, dt.date]:
    with duckdb.connect(str(db), read_only=True) as con:
        first, last = con.execute("SELECT min(created_at)::DATE, max(created_at)::DATE FROM tickets").fetchall()[0]
    start = periods.shift(periods.trunc(last, "month"), "month", -11)
    return max(start, first), last


def cards(at: AppTest) -> dict[str, str]:
    """KPI id -> the value its card shows."""
    by_label = {k.label(lang): k.id for k in R.KPIS.values() for lang in ("zh", "en")}
    return {by_label[m.label]: m.value for m in at.metric if m.label in by_label}


def expected_cards(db: Path, kpis: list[str], where: dict, lang: str, last_period: bool) -> dict[str, str]:
    """What the cards must show, straight from the metrics API."""
    start, end = default_range(db)
    out = {k: "—" for k in kpis if any(d not in R.KPIS[k].allowed_dims() for d in where)}  # not filterable so
    kpis = [k for k in kpis if k not in out]
    if last_period:
        df = metrics.query(str(db), metrics=kpis, grain="month", start=start, end=end, where=where, scope=DataScope())
        df = df.filter(pl.col("period_start") == df["period_start"].max())
    else:
        df = metrics.query(str(db), metrics=kpis, grain=None, start=start, end=end, where=where, scope=DataScope())
    out.update({r["kpi"]: T.kpi_value(R.KPIS[r["kpi"]], r["value"], lang, compact=True) for r in df.to_dicts()})
    # no record at all in the last period for a narrow filter (no survey, no open ticket): no row,
    # and the card says so with a dash
    out.update({k: "—" for k in kpis if k not in out})
    return out


# -- every page, both languages ------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page", PAGE_NAMES)
def test_page_renders(dash_db, use_db, page, lang):  # noqa: F811
    use_db(dash_db)
    at = app(page, lang)
    title = T.t(dict((p[0], p[1]) for p in PAGES)[page], lang)
    assert at.header and at.header[0].value == title
    assert not at.error, [e.value for e in at.error]
    assert not at.warning, [w.value for w in at.warning]
    # every page answers with something: numbers, a table or a chart
    assert at.metric or at.dataframe or at.get("plotly_chart")


TABS = {"repair": ["tab_trends", "by_outlet", "by_technician", "own_vs_outsourced"],
        "complaints": ["tab_breakdown", "complaint_list"], "satisfaction": ["score_distribution", "comments"],
        "sla": ["breaching_now", "sla_trend", "tab_backlog"],
        "data": ["tab_loads", "quarantine", "completeness_per_kpi"]}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page_tab", [(p, t) for p, tabs in TABS.items() for t in tabs[1:]])
def test_every_section_renders(dash_db, use_db, page_tab, lang):  # noqa: F811
    use_db(dash_db)
    page, tab = page_tab
    at = app(page, lang, params={"tab": T.t(tab, lang)})
    assert not at.error and (at.dataframe or at.get("plotly_chart") or at.info), (page, tab)


# -- filters change the numbers to what the metrics API gives --------------------------------------

CARD_PAGES = {  # page -> (KPIs on its cards, cards show the last period (True) or the whole range)
    "overview": (["ticket_volume", "complaint_rate", "repair_success_rate", "first_time_fix_rate", "mttr", "csat",
                  "nps", "sla_compliance", "backlog"], True),
    "repair": (["repair_success_rate", "first_time_fix_rate", "mttr", "mttr_median", "mttr_p90"], False),
    "complaints": (["complaint_rate", "complaints_per_1k_orders", "ticket_volume"], False),
    "satisfaction": (["csat", "csat_mean", "nps", "survey_response_rate"], False),
    "sla": (["sla_first_response", "sla_onsite", "sla_compliance", "backlog", "backlog_aged_7d"], True),
}


@pytest.mark.parametrize("page", list(CARD_PAGES))
def test_filter_changes_cards_to_metrics_values(dash_db, use_db, page):  # noqa: F811
    use_db(dash_db)
    kpis, last = CARD_PAGES[page]
    at = app(page, "en")
    before = cards(at)
    assert before == expected_cards(dash_db, kpis, {}, "en", last)
    at.multiselect(key="region").set_value(["east"]).run()
    assert not at.exception
    after = cards(at)
    assert after == expected_cards(dash_db, kpis, {"region": ["east"]}, "en", last)
    assert after != before
    at.multiselect(key="channel").set_value(["jd", "tmall"]).run()
    both = {"region": ["east"], "channel": ["jd", "tmall"]}
    assert cards(at) == expected_cards(dash_db, kpis, both, "en", last)


def test_a_link_reproduces_the_view(dash_db, use_db):  # noqa: F811
    """Filters set in the sidebar and the same filters given in the URL show the same numbers.
    (That the sidebar writes them into the URL is checked in the real browser.)"""
    use_db(dash_db)
    at = app("repair", "zh")
    at.multiselect(key="region").set_value(["south"]).run()
    at.multiselect(key="outlet_type").set_value(["outsourced"]).run()
    shown = cards(at)
    link = app("repair", "zh", params={"region": "华南", "outlet_type": "外包"})
    want = expected_cards(dash_db, CARD_PAGES["repair"][0], {"region": ["south"], "outlet_type": ["outsourced"]},
                          "zh", False)
    assert cards(link) == shown == want
    start, end = default_range(dash_db)
    narrow = app("overview", "en", params={"dates": [str(end - dt.timedelta(days=40)), str(end)], "grain": "Week"})
    assert narrow.date_input(key="dates").value == (end - dt.timedelta(days=40), end)
    assert cards(narrow)["ticket_volume"] == T.kpi_value(R.KPIS["ticket_volume"], metrics.query(
        str(dash_db), ["ticket_volume"], grain="week", start=end, end=end, scope=DataScope())["value"][0], "en", compact=True)


def test_language_switch_formats_numbers_and_labels(dash_db, use_db):  # noqa: F811
    use_db(dash_db)
    zh, en = app("overview", "zh"), app("overview", "en")
    assert R.KPIS["mttr"].zh in [m.label for m in zh.metric] and R.KPIS["mttr"].en in [m.label for m in en.metric]
    assert cards(zh)["mttr"].endswith("小时") and cards(en)["mttr"].endswith(" h")
    assert any("年" in c.value for c in zh.caption) and not any("年" in c.value for c in en.caption)


def test_staffing_region_filter(dash_db, use_db):  # noqa: F811
    use_db(dash_db)
    at = app("staffing", "en")
    table = at.dataframe[-1].value
    assert set(table["Region"]) == {T.code_label("region", r, "en") for r in
                                    ("east", "north", "south", "central", "southwest", "northwest", "northeast")}
    # shortfalls carry a red "yes" label: exactly the region-weeks the stored plan marks short
    from forecasts import store

    plan = store.read_staffing(dash_db, store.latest_run(dash_db, "workload")["run_id"], scope=DataScope())
    short = plan.sort(["short", "gap"], descending=[True, False])["short"].to_list()
    flags = [list(f) for f in table[T.column_label("short", "en")]]
    assert flags == [["yes"] if s else [] for s in short] and ["yes"] in flags and [] in flags
    at.multiselect(key="region").set_value(["north"]).run()
    table = at.dataframe[-1].value
    assert set(table["Region"]) == {"North"} and len(table) > 0


def _chart(at: AppTest, title: str) -> dict:
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        text = (spec.get("layout", {}).get("title") or {}).get("text", "")
        if text.startswith(title):
            return spec
    raise AssertionError(f"no chart titled {title!r}")


def test_parts_consumption_follows_filter(dash_db, use_db):  # noqa: F811
    use_db(dash_db)
    start, end = default_range(dash_db)
    at = app("parts", "en")
    at.multiselect(key="product_category").set_value(["air_conditioner"]).run()
    spec = _chart(at, T.t("consumption", "en"))
    shown = dict(zip(spec["data"][0]["y"], spec["data"][0]["x"], strict=True))
    want = metrics.query(str(dash_db), metrics=["parts_consumption"], by=["part_no"], grain=None, start=start, end=end,
                         where={"product_category": ["air_conditioner"]}, scope=DataScope())
    want = dict(zip(want["part_no"], want["value"], strict=True))
    assert shown and all(want[p] == v for p, v in shown.items())


def test_data_page_completeness_follows_filter(dash_db, use_db):  # noqa: F811
    use_db(dash_db)
    start, end = default_range(dash_db)
    at = app("data", "en", params={"tab": T.t("completeness_per_kpi", "en")})
    at.multiselect(key="service_type").set_value(["repair"]).run()
    table = at.dataframe[-1].value
    want = metrics.query(str(dash_db), grain=None, start=start, end=end, where={"service_type": ["repair"]},
                         scope=DataScope())
    shown = dict(zip(table["KPI"], table["Records"], strict=True))
    for r in want.to_dicts():
        assert shown[R.KPIS[r["kpi"]].en] == T.number(r["n_records"], "en")


# -- down to the records ----------------------------------------------------------------------


def test_complaint_list_is_the_records_behind_the_rate(dash_db, use_db):  # noqa: F811
    use_db(dash_db)
    start, end = default_range(dash_db)
    at = app("complaints", "en", params={"tab": T.t("complaint_list", "en")})
    listed = at.dataframe[-1].value
    last = periods.trunc(end, "month")
    want = metrics.records(str(dash_db), "complaint_rate", period_start=last, grain="month", only="numerator",
                           scope=DataScope())
    assert sorted(listed["Ticket id"]) == sorted(want["ticket_id"].to_list())
    assert all("**" in n for n in listed["Customer name"].dropna())  # personal data masked


def test_downloads_are_csv_and_excel():
    from dashboard.ui import _csv_bytes, _xlsx_bytes

    df = pl.DataFrame({"渠道": ["京东", "天猫"], "数值": [0.1, 0.2], "时间": [dt.datetime(2026, 1, 2, 3, 4)] * 2})
    csv = _csv_bytes(df)
    assert csv.startswith("\ufeff".encode()) and "京东" in csv.decode("utf-8-sig")
    back = pl.read_excel(_xlsx_bytes(df))
    assert back["渠道"].to_list() == ["京东", "天猫"] and back["数值"].to_list() == [0.1, 0.2]


# -- empty states say why -----------------------------------------------------------------------


def test_empty_states(dash_db, use_db, tmp_path):  # noqa: F811
    bare = tmp_path / "bare.duckdb"
    shutil.copyfile(dash_db, bare)
    with duckdb.connect(str(bare)) as con:
        for t in ("forecast_runs", "staffing_plan", "parts_reorder", "forecast_values", "forecast_series",
                  "orders_daily"):
            con.execute(f"DELETE FROM {t}")
    use_db(bare)
    at = app("staffing", "en")
    assert any("aftersales forecast" in i.value for i in at.info)
    at = app("complaints", "en")
    assert any(T.t("empty_orders", "en") in c.value for c in at.caption)
    at = app("overview", "en")
    at.multiselect(key="region").set_value(["east"]).run()
    at.multiselect(key="service_type").set_value(["consult"]).run()
    assert not at.exception
    use_db(tmp_path / "missing.duckdb")
    at = app("overview", "en")
    assert at.error and "does not exist" in at.error[0].value


# -- fresh numbers after a load, and no trouble during one ----------------------------------------

NEW_TICKETS = """ticket_id,channel,service_type,priority,status,created_at
ZZ0001,jd,consult,normal,open,{d} 10:00:00
ZZ0002,jd,consult,normal,open,{d} 11:00:00
ZZ0003,tmall,consult,normal,open,{d} 12:00:00
"""


def _load(db: Path, csv: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aftersales.cli", "--db", str(db), "load", str(csv)],
                          capture_output=True, text=True, cwd=ROOT, check=False)


def test_caches_refresh_when_a_load_lands(dash_db, use_db, tmp_path):  # noqa: F811
    db = use_db(tmp_path / "live.duckdb")
    shutil.copyfile(dash_db, db)
    _, end = default_range(db)
    at = app("overview", "en")
    before = int(cards(at)["ticket_volume"].replace(",", ""))
    csv = tmp_path / "tickets.csv"
    csv.write_text(NEW_TICKETS.format(d=end.isoformat()), encoding="utf-8")
    done = _load(db, csv)
    assert done.returncode == 0, done.stderr
    at.run()
    assert int(cards(at)["ticket_volume"].replace(",", "")) == before + 3


def test_reads_while_a_load_runs(dash_db, use_db, tmp_path):  # noqa: F811
    """The data layer keeps answering during loads: no lock error, and every answer is the
    database before a load or after it, never in between."""
    from dashboard import data

    db = use_db(tmp_path / "busy.duckdb")
    shutil.copyfile(dash_db, db)
    _, end = default_range(db)
    files = []
    for i in range(3):
        csv = tmp_path / f"load{i}" / "tickets.csv"
        csv.parent.mkdir()
        csv.write_text("\n".join(["ticket_id,channel,service_type,priority,status,created_at"]
                                 + [f"L{i}_{j},jd,consult,normal,open,{end} 09:00:00" for j in range(5000)]) + "\n")
        files.append(csv)
    seen, errors, stop = set(), [], threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                df = data.kpis(data.version(), DataScope(), ("ticket_volume",), None, end, end, ())
                seen.add(int(df["value"][0]))
            except Exception as exc:  # noqa: BLE001 - any error is the failure we look for
                errors.append(repr(exc))

    base = int(metrics.query(str(db), ["ticket_volume"], grain=None, start=end, end=end, scope=DataScope())["value"][0])
    reader = threading.Thread(target=read)
    reader.start()
    try:
        for csv in files:
            assert _load(db, csv).returncode == 0
    finally:
        stop.set()
        reader.join()
    assert not errors, errors[:3]
    assert len(seen) >= 2 and seen <= {base + 5000 * k for k in range(4)}
    assert int(metrics.query(str(db), ["ticket_volume"], grain=None, start=end, end=end,
                             scope=DataScope())["value"][0]) == base + 15000


# -- built right ----------------------------------------------------------------------------------


def test_pages_hold_no_sql_and_only_the_dashboard_imports_streamlit():
    for page in (ROOT / "dashboard" / "views").glob("*.py"):
        text = page.read_text(encoding="utf-8")
        assert "duckdb" not in text and "SELECT " not in text.upper().replace("SELECTBOX", ""), page
        imports = {n.names[0].name.split(".")[0] if isinstance(n, ast.Import) else (n.module or "").split(".")[0]
                   for n in ast.walk(ast.parse(text)) if isinstance(n, (ast.Import, ast.ImportFrom))}
        assert "forecasts" not in imports, page  # forecasts are read through dashboard.data
    # the dashboard's one door to the database runs no SQL of its own either
    text = (ROOT / "dashboard" / "data.py").read_text(encoding="utf-8")
    assert "SELECT " not in text.upper() and ".execute(" not in text and ".sql(" not in text
    for pkg in ("aftersales", "pipelines", "metrics", "forecasts", "reports"):
        for path in (ROOT / pkg).rglob("*.py"):
            assert "import streamlit" not in path.read_text(encoding="utf-8"), path
    assert {p.stem for p in (ROOT / "dashboard" / "views").glob("*.py")} - {"__init__"} == set(PAGE_NAMES)


def test_every_label_in_both_languages():
    for key, pair in T.WORDS.items():
        assert len(pair) == 2 and all(pair), key
    for kind, zh in T.ZH_CODES.items():
        assert set(zh) <= set(T.EN_CODES[kind]), kind
    assert T.number(1234567, "zh", compact=True) == "123.5万" and T.number(1234567, "en", compact=True) == "1.23M"
    assert T.period(dt.date(2026, 10, 1), "month", "zh") == "2026年10月"
    assert T.period(dt.date(2026, 10, 1), "month", "en") == "Oct 2026"
    assert T.date(dt.date(2026, 1, 5), "en") == "5 Jan 2026" and T.date(dt.date(2026, 1, 5), "zh") == "2026年1月5日"
    assert T.kpi_change(R.KPIS["csat"], 0.012, "zh") == "+1.2 个百分点"
    assert T.kpi_value(R.KPIS["mttr"], None, "en") == "—"


def test_cli_serves_the_current_database(tmp_path):
    from aftersales.cli import build_parser, main
    from dashboard.cli import command

    args = build_parser().parse_args(["--db", str(tmp_path / "x.duckdb"), "dashboard", "--port", "8765"])
    cmd = command(args)
    assert cmd[1:4] == ["-m", "dashboard.serve", "run"] and "8765" in cmd and "true" in cmd
    assert cmd[-3:] == ["--db", str((tmp_path / "x.duckdb").resolve()), "--warm"]
    assert main(["--db", str(tmp_path / "missing.duckdb"), "dashboard"]) == 2


def test_default_language_is_configuration(dash_db, use_db, tmp_path, monkeypatch):  # noqa: F811
    use_db(dash_db)
    conf = tmp_path / "en.toml"
    conf.write_text('language = "en"\n', encoding="utf-8")
    monkeypatch.setenv("AFTERSALES_CONFIG", str(conf))
    at = app("overview", "zh")  # no lang in the URL: the configured default
    assert at.header[0].value == "Overview"


def test_the_warmer_computes_every_default_view(dash_db, use_db, monkeypatch, tmp_path):  # noqa: F811
    """After ``warm``, opening any page with the default filters asks the metrics layer nothing."""
    from dashboard import data, warm

    db = use_db(tmp_path / "warm.duckdb")
    shutil.copyfile(dash_db, db)  # a new file: nothing cached for it yet
    calls = []
    for name in ("query", "rank", "records", "distribution", "dimension_values"):
        original = getattr(metrics, name)
        monkeypatch.setattr(metrics, name, lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k))
    assert warm.warm(data.version()) > 0 and calls
    for page in PAGE_NAMES:
        calls.clear()
        app(page, "en")
        assert calls == [], (page, calls)
    # one value of any coded filter: answered from the breakdown by that dimension the warmer
    # computed; the SLA page's lists from the one list of open tickets
    for params in ({"region": "South"}, {"channel": "JD"}, {"product_category": "TV"}):
        for page in ("overview", "repair", "complaints", "satisfaction", "sla"):
            calls.clear()
            app(page, "en", params={**params, "tab": ""})
            assert [c for c in calls if c in ("query", "distribution", "records")] == [], (page, params, calls)


def test_results_survive_a_restart_on_the_same_data_only(dash_db, use_db, monkeypatch, tmp_path):  # noqa: F811
    """What one server process computed, the next one over the same file reads back (the memory
    cache cleared stands for the restart); a new load (a new file) computes again and removes the
    old version's results; an unreadable file is computed again."""
    import os

    from polars.testing import assert_frame_equal

    from dashboard import data, persist

    db = use_db(tmp_path / "p.duckdb")
    shutil.copyfile(dash_db, db)
    start, end = default_range(db)
    calls = []
    original = metrics.query
    monkeypatch.setattr(metrics, "query", lambda *a, **k: calls.append(1) or original(*a, **k))

    def read(ver: str) -> pl.DataFrame:
        data._kpis.clear()  # a new server process: nothing in memory
        return data.kpis(ver, DataScope(), ("csat", "backlog"), "month", start, end, ())

    ver = data.version()
    first = read(ver)
    assert len(calls) == 1 and list(persist.directory(db, ver).glob("kpis-*.pkl"))
    assert_frame_equal(read(ver), first)
    assert len(calls) == 1  # read back, not computed
    for f in persist.directory(db, ver).glob("kpis-*.pkl"):
        f.write_bytes(b"not a pickle")
    assert_frame_equal(read(ver), first)
    assert len(calls) == 2
    new = tmp_path / "p.new"
    shutil.copyfile(dash_db, new)
    os.replace(new, db)  # what a load does: a new file under the same name
    new_ver = data.version()
    assert new_ver != ver
    assert_frame_equal(read(new_ver), first)
    assert len(calls) == 3 and not persist.directory(db, ver).exists()


@pytest.mark.parametrize("where", [{"region": ["east"]}, {"channel": ["jd"]}, {"outlet_type": ["own"], "channel": ["jd"]},
                                   {"region": ["north"], "service_type": ["repair", "install"]}])
def test_one_value_filters_from_the_breakdown_equal_the_filtered_query(dash_db, use_db, where):  # noqa: F811
    from polars.testing import assert_frame_equal

    from dashboard import data

    use_db(dash_db)
    start, end = default_range(dash_db)
    kpis = ("ticket_volume", "complaint_rate", "mttr", "mttr_p90", "nps", "backlog", "sla_compliance")
    want = metrics.query(str(dash_db), metrics=list(kpis), grain="month", start=start, end=end, where=where,
                         scope=DataScope())
    want_dist = metrics.distribution(str(dash_db), "mttr_hours", start=start, end=end, where=where, scope=DataScope())
    with data.computing_breakdowns():  # as the warmer: from the breakdown whenever one value is picked
        assert_frame_equal(data.kpis(data.version(), DataScope(), kpis, "month", start, end,
                                     data.where_tuple(where)), want)
        got = data.distribution(data.version(), DataScope(), "mttr_hours", start, end, data.where_tuple(where))
        assert_frame_equal(got, want_dist)


def test_cards_show_the_full_query_values(dash_db, use_db):  # noqa: F811
    """``card_kpis`` (the last period's comparisons only) gives every value of the full query and
    the last period's row whole, also when the range ends after the data (nothing in the last
    period asked: the last period shown is an earlier one, its comparisons not in the narrow scan)."""
    from polars.testing import assert_frame_equal

    from dashboard import data

    use_db(dash_db)
    start, end = default_range(dash_db)
    compared = ["prev_value", "prev_change", "prev_change_pct", "yoy_value", "yoy_change", "yoy_change_pct"]
    kpis = ("ticket_volume", "complaint_rate")  # by created time: nothing after the data's last day
    for last_day in (end, end + dt.timedelta(days=62)):
        got = data.card_kpis(data.version(), DataScope(), kpis, "month", start, last_day, ())
        want = metrics.query(str(dash_db), metrics=list(kpis), grain="month", start=start, end=last_day,
                             scope=DataScope())
        last = want["period_start"].max()
        assert_frame_equal(got.filter(pl.col("period_start") == last), want.filter(pl.col("period_start") == last))
        assert want.filter(pl.col("period_start") == last)["yoy_value"].is_not_null().any()
        assert_frame_equal(got.select(pl.exclude(compared)), want.select(pl.exclude(compared)))


def test_a_one_value_filter_uses_the_breakdown_only_once_computed(dash_db, use_db, monkeypatch, tmp_path):  # noqa: F811
    """Before the breakdown by region is computed, picking a region runs the query filtered by it
    (far cheaper at 10M than the breakdown); once the warmer computed the breakdown, in this
    process or in an earlier one (kept on disk), every region is read from it."""
    from dashboard import data

    db = use_db(tmp_path / "b.duckdb")
    shutil.copyfile(dash_db, db)
    start, end = default_range(db)
    calls = []
    for name in ("query", "distribution"):
        original = getattr(metrics, name)
        monkeypatch.setattr(metrics, name, lambda *a, _f=original, _n=name, **k: calls.append(
            (_n, k.get("by"), k.get("where"))) or _f(*a, **k))
    ver = data.version()

    def read(region: str) -> None:
        where = (("region", (region,)),)
        data.kpis(ver, DataScope(), ("ticket_volume", "backlog"), "month", start, end, where)
        data.distribution(ver, DataScope(), "mttr_hours", start, end, where)

    read("east")
    assert calls == [("query", [], {"region": ["east"]}), ("distribution", [], {"region": ["east"]})]
    calls.clear()
    with data.computing_breakdowns():
        read("north")
    assert calls == [("query", ["region"], {}), ("distribution", ["region"], {})]
    calls.clear()
    read("south")
    assert calls == []
    data._kpis.clear()  # a new server process: nothing in memory, the breakdowns on disk
    data._distribution.clear()
    data._COMPUTED.clear()
    read("south")
    assert calls == []


@pytest.mark.parametrize("where", [{}, {"region": ["east"]}, {"region": "busiest", "channel": "busiest"},
                                   {"outlet_type": "busiest", "product_category": "busiest"},
                                   {"service_type": ["repair"]}])
def test_open_tickets_from_one_list_equal_the_filtered_records(dash_db, use_db, where):  # noqa: F811
    from polars.testing import assert_frame_equal

    from dashboard import data

    use_db(dash_db)
    ver = data.version()
    day = data.data_range(ver)[2].date()
    every = data.open_tickets(ver, DataScope(), ())

    def busiest(dim: str) -> list[str]:  # the two values with most open tickets: never an empty filter
        q = metrics.query(str(dash_db), metrics=["backlog"], by=[dim], grain=None, start=day, end=day,
                          scope=DataScope())
        return q.sort("n_records", descending=True)[dim].drop_nulls().to_list()[:2]

    where = {dim: busiest(dim) if values == "busiest" else values for dim, values in where.items()}
    got = data.open_tickets(ver, DataScope(), data.where_tuple(where))
    want = metrics.records(str(dash_db), "backlog", grain=None, start=day, end=day, where=where, limit=None,
                           scope=DataScope())
    assert want.height > 0 and (not where or want.height < data.open_tickets(ver, DataScope(), ()).height)
    assert_frame_equal(got, want)
    # outlets and cities (values from the data, not coded): the busiest ones among the open tickets
    for dim, col in (("outlet", "outlet_id"), ("city", None)):
        if col is None:
            values = data.dimension_values(ver, DataScope(), dim)["value"].to_list()[:3]
        else:
            values = every[col].drop_nulls().value_counts(sort=True)[col].to_list()[:2]
        one = {dim: values, "service_type": ["install", "repair"]}
        want = metrics.records(str(dash_db), "backlog", grain=None, start=day, end=day, where=one, limit=None,
                               scope=DataScope())
        assert want.height > 0, one
        assert_frame_equal(data.open_tickets(ver, DataScope(), data.where_tuple(one)), want)


def test_a_filtered_breakdown_equals_the_filtered_query(dash_db, use_db):  # noqa: F811
    from polars.testing import assert_frame_equal

    from dashboard import data

    use_db(dash_db)
    start, end = default_range(dash_db)
    got = data.kpis(data.version(), DataScope(), ("complaint_rate",), "month", start, end, (("region", ("east",)),),
                    ("region",))
    want = metrics.query(str(dash_db), metrics=["complaint_rate"], by=["region"], grain="month", start=start, end=end,
                         where={"region": ["east"]}, scope=DataScope())
    assert_frame_equal(got, want)


def test_the_breaching_list_is_the_metrics_one(dash_db, use_db):  # noqa: F811
    from polars.testing import assert_frame_equal

    from dashboard import data

    use_db(dash_db)
    ver = data.version()
    every = data.breaching(ver, DataScope(), ())
    assert every.height > 0 and set(every["stage"]) <= {"first_response", "onsite", "resolution"}
    busiest = every["service_type"].mode().sort()[0]
    # ticket columns and master data (filtered in memory) and an outlet list (asked of metrics)
    outlets = every["outlet_id"].drop_nulls().unique().sort().to_list()[:2]
    for where in ({}, {"service_type": [busiest]}, {"outlet_type": ["outsourced"], "service_type": [busiest]},
                  {"region": ["east", "north"]}, {"outlet": outlets}):
        got = data.breaching(ver, DataScope(), data.where_tuple(where))
        want = metrics.breaching(str(dash_db), where=where, config=data.settings().config, limit=None,
                                 columns=data.BREACHING_COLUMNS, scope=DataScope())
        assert_frame_equal(got, want)
    assert 0 < data.breaching(ver, DataScope(), data.where_tuple({"service_type": [busiest]})).height < every.height


def test_every_page_can_be_warmed():
    # dashboard.warm calls prefetch(scope, stage) on every page in PAGES: a page without it logged a
    # traceback on every warming pass of `aftersales dashboard` (the Alerts page did).
    import importlib

    missing = [name for name, _, _ in PAGES if not callable(getattr(importlib.import_module(f"dashboard.views.{name}"),
                                                                    "prefetch", None))]
    assert missing == []
