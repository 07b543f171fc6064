"""The Scorecards page (网点与师傅评分卡) through Streamlit's AppTest: it renders in zh and en with
every section, its cells are the scorecard API's values with the records they rest on, and the
Chinese page carries no English words."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from aftersales.principal import DataScope
from dashboard import i18n as T
from metrics import periods
from metrics import registry as R
from metrics.scorecard import scorecard
from tests.test_dashboard_fixtures import dash_db  # noqa: F401  (fixture)

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
LANG_PARAM = {"zh": "中文", "en": "English"}
SECTIONS = ["sc_outlets", "sc_technicians", "sc_types", "sc_losses"]


@pytest.fixture
def db(dash_db, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AFTERSALES_DB", str(dash_db))
    monkeypatch.delenv("AFTERSALES_CONFIG", raising=False)
    return dash_db


def page(lang: str, tab: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["lang"] = LANG_PARAM[lang]
    if tab:
        at.query_params["tab"] = T.t(tab, lang)
    at.run()
    at.switch_page("views/scorecard.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def last_month(db: Path):
    with duckdb.connect(str(db), read_only=True) as con:
        last = con.execute("SELECT max(created_at)::DATE FROM tickets").fetchall()[0][0]
    return periods.trunc(last, "month")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("tab", SECTIONS)
def test_every_section_renders(db, lang, tab):
    at = page(lang, tab)
    assert at.header[0].value == T.t("page_scorecard", lang)
    assert not at.error and not at.warning, ([e.value for e in at.error], [w.value for w in at.warning])
    assert at.dataframe, tab
    if lang == "zh":
        shown = " ".join(str(v) for df in at.dataframe for v in [*df.value.columns, *df.value.to_numpy().ravel()])
        shown += " ".join(c.value for c in at.caption)
        words = set(re.findall(r"[A-Za-z]{2,}", shown))
        codes = {w for w in words if re.fullmatch(r"(WD|JS)\d*|P90", w)}
        assert words - codes == set(), words - codes
        assert not re.search(r"\b(None|nan|null)\b", shown)


def test_outlet_cells_are_the_scorecard_api(db):
    at = page("en", "sc_outlets")
    shown = at.dataframe[0].value
    card = scorecard(str(db), "outlet", period=last_month(db), scope=DataScope())
    assert len(shown) == card.table.height
    first = card.table.to_dicts()[0]  # the page keeps the overall-rank order
    row = shown.iloc[0]
    # the fixture's data end with the month shown: repair success is inside its 30-day recheck
    assert first["repair_success_rate_status"] == "provisional" and first["ticket_volume_status"] != "provisional"
    for kpi in card.kpis:
        k = R.KPIS[kpi]
        want = T.kpi_value(k, first[kpi], "en")
        if k.kind != "count":  # the records each value rests on, in brackets
            want += f"({T.number(first[f'{kpi}_n'], 'en')})"
        if first[f"{kpi}_status"] == "provisional":  # not final yet: says so, as every page does
            want += " Provisional"
        assert row[k.label("en")] == want, kpi
    assert any(c.value.startswith("Values marked provisional") and "Repair success rate (final on" in c.value
               for c in at.caption)
    assert row[T.t("sc_overdue", "en")] == T.number(first["overdue"], "en")


def test_technician_and_types_sections_show_several_technicians_and_both_types(db):
    at = page("en", "sc_technicians")
    techs = at.dataframe[0].value
    per_outlet = techs.groupby(T.t("sc_outlet", "en")).size()
    assert per_outlet.max() > 1
    at = page("en", "sc_types")
    table = at.dataframe[0].value
    assert {"Own", "Outsourced"} <= set(table.columns)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_one_outlet_cards_losses_and_printable_page(db, lang):
    at = page(lang, "sc_outlets")
    card = scorecard(str(db), "outlet", period=last_month(db), scope=DataScope())
    outlet = card.table["outlet"][0]
    at.selectbox(key="sc_detail_outlet").set_value(outlet).run()
    assert not at.exception, [e.value for e in at.exception]
    row = card.row(outlet)
    shown = {m.label: m.value for m in at.metric}
    for kpi in card.kpis:
        k = R.KPIS[kpi]
        label = k.label(lang) + (" · 暂定" if lang == "zh" else " · Provisional") * (row[f"{kpi}_status"] == "provisional")
        assert shown[label] == T.kpi_value(k, row[kpi], lang, compact=True), kpi
    assert f"{R.KPIS['repair_success_rate'].label(lang)} · {T.t('status_provisional', lang)}" in shown
    assert at.get("download_button")  # the printable page (made when clicked) ...
    from dashboard import data as D

    html = D.scorecard_page(D.version(), DataScope(), outlet, "month", last_month(db), lang).decode("utf-8")
    assert f'data-kpi="overdue" data-raw="{row["overdue"]}"' in html  # ... is the outlet's scorecard
    assert at.get("plotly_chart") or any(T.t("sc_no_losses", lang) == c.value for c in at.caption)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_scorecard_download_is_formatted_like_the_report(db, lang):
    # the workbook's cells stay numbers, written as the report writes them: rates as %, changes of a
    # rate as points, amounts in 元, record counts and ranks whole (they came out as 0.851 before)
    from dashboard import downloads
    from dashboard.views import scorecard as view

    card = scorecard(str(db), "outlet", period=last_month(db), scope=DataScope())
    scope = type("Scope", (), {"lang": lang, "label": lambda self, dim, v: str(v)})()
    formats = downloads.column_formats(view.download_frame(card, scope), lang)
    ftf, cost = R.KPIS["first_time_fix_rate"].label(lang), R.KPIS["cost_per_ticket"].label(lang)
    assert formats[ftf] == formats[f"{ftf} · {T.t('previous', lang)}"] == "0.0%"
    assert formats[f"{ftf} · {T.t('vs_prev', lang)}"] == downloads.kpi_format("first_time_fix_rate", lang, True)
    assert formats[f"{ftf} · {T.t('hover_n', lang)}"] == formats[f"{ftf} · {T.t('rank', lang)}"] == "#,##0"
    assert (" 元" if lang == "zh" else " yuan") in formats[cost]


def test_the_period_picker_opens_on_the_latest_whole_period():
    # A live sample ends yesterday: the month it is in has a few days of data, and a scorecard of
    # them ranks outlets on a handful of tickets; the picker opens on the latest whole month.
    import datetime as dt
    from types import SimpleNamespace

    from dashboard.views.scorecard import default_period, period_options

    mid = SimpleNamespace(start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 3), grain="month")
    options = period_options(mid)
    assert options[default_period(options, mid)] == dt.date(2026, 11, 1)
    whole = SimpleNamespace(start=dt.date(2026, 1, 1), end=dt.date(2026, 11, 30), grain="month")
    options = period_options(whole)
    assert options[default_period(options, whole)] == dt.date(2026, 11, 1)
    short = SimpleNamespace(start=dt.date(2026, 12, 1), end=dt.date(2026, 12, 3), grain="month")
    assert default_period(period_options(short), short) == 0
