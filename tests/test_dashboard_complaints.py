"""The Complaints page's insight sections through Streamlit's AppTest, in 中文 and English: each
renders, shows no "None"/"nan", and shows what ``metrics.complaints`` gives for the filters."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import metrics
from aftersales.principal import DataScope
from dashboard import i18n as T
from dashboard.views.complaints import TABS
from metrics import complaints as C
from tests.test_dashboard import app, default_range, use_db  # noqa: F401  (fixture)
from tests.test_dashboard_fixtures import dash_db  # noqa: F401  (fixture)

NOT_SHOWN = ("None", "nan", "NaN", "null", "NaT")


def shown_texts(at) -> list[str]:
    """Every text the page shows: markdown, captions, headers, table cells, chart labels."""
    out = [e.value for kind in ("markdown", "caption", "header", "subheader", "info", "warning") for e in at.get(kind)]
    out += [m.label for m in at.metric] + [str(m.value) for m in at.metric]
    for df in at.dataframe:
        frame: pd.DataFrame = df.value
        out += [str(c) for c in frame.columns]
        for col in frame.columns:
            out += ["None" if v is None else "nan" if isinstance(v, float) and v != v else str(v)
                    for v in frame[col].tolist()]
    for chart in at.get("plotly_chart"):
        fig = json.loads(chart.proto.spec)
        for trace in fig.get("data", []):
            for key in ("name", "x", "y", "text"):
                v = trace.get(key)
                out += [str(x) for x in (v if isinstance(v, list) else [v]) if x is not None and not isinstance(x, list)]
                out += [str(y) for x in (v if isinstance(v, list) else []) if isinstance(x, list) for y in x]
    return out


def assert_no_none(at, where: object) -> None:
    bad = [t for t in shown_texts(at) if t.strip() in NOT_SHOWN or any(w in NOT_SHOWN for w in t.split())]
    assert not bad, (where, bad[:10])


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("tab", TABS[1:])
def test_every_insight_section_renders_without_none(dash_db, use_db, tab, lang):  # noqa: F811
    use_db(dash_db)
    at = app("complaints", lang, params={"tab": T.t(tab, lang)})
    assert not at.error, [e.value for e in at.error]
    assert at.dataframe or at.get("plotly_chart"), tab
    assert_no_none(at, (tab, lang))


def test_the_matrix_table_is_what_metrics_gives(dash_db, use_db):  # noqa: F811
    use_db(dash_db)
    start, end = default_range(dash_db)
    at = app("complaints", "en", params={"tab": T.t("tab_matrix", "en")})
    want = C.matrix(str(dash_db), "outlet", start, end, scope=DataScope())
    table = next(d.value for d in at.dataframe if "Complaint reason" in d.value.columns and "Rate" in d.value.columns)
    assert table["Complaints"].str.replace(",", "").astype(int).sum() == want["complaints"].sum()
    assert table["Rate"].str.endswith("%").all()  # shown as a percentage, downloaded as the value
    assert len(table) == len(want)


def test_the_complaint_list_shows_the_reason_in_words_and_the_text(dash_db, use_db):  # noqa: F811
    use_db(dash_db)
    at = app("complaints", "zh", params={"tab": T.t("complaint_list", "zh")})
    listed = at.dataframe[-1].value
    assert "投诉原因" in listed.columns and "投诉内容" in listed.columns
    labels = set(T.ZH_CODES["complaint_reason"].values()) | {T.t("no_reason", "zh")}
    assert set(listed["投诉原因"]) <= labels
    assert listed["投诉内容"].str.contains(r"[\u4e00-\u9fff]").any()
    assert not listed["投诉内容"].str.contains(r"\d{7}").any(), "phone numbers in complaint texts are masked"


def test_repeat_complainants_are_masked_and_match_metrics(dash_db, use_db):  # noqa: F811
    use_db(dash_db)
    start, end = default_range(dash_db)
    want = C.repeat_complainants(str(dash_db), start, end, scope=DataScope())
    at = app("complaints", "en", params={"tab": T.t("tab_repeat", "en")})
    if want.is_empty():
        assert any(T.t("no_repeat", "en") in i.value for i in at.info)
        return
    table = at.dataframe[0].value
    assert sorted(table["Customer id"]) == sorted(want["customer_id"].to_list())
    assert all("**" in n for n in table["Customer name"])
    assert all("****" in p for p in table["Customer phone"])


def test_themes_show_the_theme_names(dash_db, use_db):  # noqa: F811
    use_db(dash_db)
    at = app("complaints", "zh", params={"tab": T.t("tab_themes", "zh")})
    texts = " ".join(shown_texts(at))
    assert "上门迟到" in texts or "产品质量" in texts or "师傅态度" in texts
    assert "unclassified" not in texts and "late_visit" not in texts


def test_a_matrix_cell_lists_the_complaints_it_rests_on(dash_db, use_db):  # noqa: F811
    use_db(dash_db)
    start, end = default_range(dash_db)
    cells = C.matrix(str(dash_db), "outlet", start, end, scope=DataScope()).drop_nulls("outlet").sort("complaints",
                                                                                                      descending=True)
    top = cells.row(0, named=True)  # the cell listed by default: the one with most complaints
    at = app("complaints", "en", params={"tab": T.t("tab_matrix", "en")})
    listed = at.dataframe[-1].value
    where = {"outlet": top["outlet"], "complaint_reason": top["complaint_reason"]}
    want = metrics.records(str(dash_db), "complaint_rate", start=start, end=end, grain=None, where=where,
                           only="numerator", scope=DataScope())
    assert len(want) == top["complaints"]
    assert sorted(listed["Ticket id"]) == sorted(want["ticket_id"].to_list())
