"""The Cost page (成本) through Streamlit's AppTest, on the dashboard tests' generated database:
it renders in zh and en, its cards show what the metrics API gives (in 元, with the number of
tickets each rests on), every section renders, a breakdown table lists amounts with thousands
separators, and a filter in the URL changes the numbers as the API does."""

from __future__ import annotations

import pytest

import metrics
from aftersales.principal import DataScope
from dashboard import i18n as T
from metrics import cost
from metrics import registry as R
from tests.test_dashboard import app, cards, default_range, use_db  # noqa: F401  (fixture)
from tests.test_dashboard_fixtures import dash_db  # noqa: F401  (fixture)


def expected(db, where: dict, lang: str) -> dict[str, tuple[str, str]]:
    """KPI id -> (card value, caption: exact value and tickets), straight from the metrics API."""
    start, end = default_range(db)
    df = metrics.query(str(db), metrics=list(cost.HEADLINE), grain=None, start=start, end=end, where=where,
                       scope=DataScope())
    out = {}
    for r in df.to_dicts():
        k = R.KPIS[r["kpi"]]
        out[k.id] = (T.kpi_value(k, r["value"], lang, compact=True),
                     T.t("cost_rests_on", lang, value=T.kpi_value(k, r["value"], lang), n=T.number(r["n_records"], lang)))
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_cost_page_cards_match_the_metrics(dash_db, use_db, lang):  # noqa: F811
    use_db(dash_db)
    at = app("cost", lang)
    assert at.header[0].value == T.t("page_cost", lang)
    assert not at.error and not at.warning
    want = expected(dash_db, {}, lang)
    got = cards(at)
    assert {k: got.get(k) for k in want} == {k: v[0] for k, v in want.items()}
    captions = [c.value for c in at.caption]
    for kpi_id, (_, caption) in want.items():
        assert caption in captions, (kpi_id, caption)
    total = want["cost_total"][1]
    assert ("元 · 基于 " if lang == "zh" else " yuan · ") in total and "," in total  # 元, thousands separators


def test_a_filter_in_the_url_changes_the_cards(dash_db, use_db):  # noqa: F811
    use_db(dash_db)
    at = app("cost", "zh", params={"service_type": "维修"})  # a bound widget's URL value is its label
    want = expected(dash_db, {"service_type": ["repair"]}, "zh")
    assert {k: cards(at).get(k) for k in want} == {k: v[0] for k, v in want.items()}
    assert want["cost_total"] != expected(dash_db, {}, "zh")["cost_total"]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("tab", ["cost_tab_by", "cost_tab_warranty"])
def test_every_cost_section_renders(dash_db, use_db, tab, lang):  # noqa: F811
    use_db(dash_db)
    at = app("cost", lang, params={"tab": T.t(tab, lang)})
    assert not at.error and at.get("plotly_chart"), tab
    hints = [c.value for c in at.caption if c.value == T.t("pick_to_drill", lang)]
    assert len(hints) == 1, hints  # said once, not above and below the table


@pytest.mark.parametrize("dim", ["warranty", "region"])
def test_the_breakdown_table_shows_yuan_with_separators(dash_db, use_db, dim):  # noqa: F811
    use_db(dash_db)
    at = app("cost", "zh", params={"tab": T.t("cost_tab_by", "zh"), "cost_dim": R.DIMENSIONS[dim].zh})
    table = at.dataframe[0].value
    total = R.KPIS["cost_total"].label("zh")
    assert R.DIMENSIONS[dim].zh in table.columns and total in table.columns
    start, end = default_range(dash_db)
    df = metrics.query(str(dash_db), metrics=["cost_total"], by=[dim], grain=None, start=start, end=end,
                       scope=DataScope())
    biggest = df.sort("value", descending=True).row(0, named=True)
    assert table[total].iloc[0] == T.kpi_value(R.KPIS["cost_total"], biggest["value"], "zh")
    assert table[total].iloc[0].endswith("元")
    assert "," in table[total].iloc[0]  # the largest amount runs to thousands
    if dim == "warranty":
        none = T.t("unspecified_warranty", "zh")
        assert set(table[R.DIMENSIONS[dim].zh]) <= {"保内", "保外", none}
    # the caption explains the empty value by the label the table shows
    empty = table[R.DIMENSIONS[dim].zh].str.startswith("(")
    if empty.any():
        shown = table[R.DIMENSIONS[dim].zh][empty].iloc[0]
        assert any(c.value.startswith(f"“{shown}”为") for c in at.caption), [c.value for c in at.caption]


def test_a_month_still_open_says_provisional(tmp_path, use_db):  # noqa: F811
    # data ending mid-October: October's cost is still being booked (tickets resolve later)
    from pipelines.generate import generate
    from pipelines.load import load_paths

    generate(tmp_path / "s", tickets=2000, seed=3, end="2026-10-15", progress=False)
    db = tmp_path / "open.duckdb"
    load_paths(db, [tmp_path / "s"], show_progress=False)
    use_db(db)
    at = app("cost", "zh")
    word = T.t("cost_provisional", "zh", date="")[:10]  # 暂定:所选范围的最后一期…
    assert any(c.value.startswith(word) for c in at.caption), [c.value for c in at.caption]
    # a range ending with the data is whole up to its end: the breakdown over it is final
    at = app("cost", "zh", params={"tab": T.t("cost_tab_by", "zh")})
    assert not any(c.value.startswith(word) for c in at.caption)
