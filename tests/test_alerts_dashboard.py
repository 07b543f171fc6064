"""The Alerts page and the badges, through Streamlit's AppTest, over a state file a real check wrote."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts import check
from dashboard import i18n as T
from tests.test_alerts import _config, _last_load, loaded  # noqa: F401  (fixture)
from tests.test_dashboard import app


@pytest.fixture
def checked(loaded, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AFTERSALES_DB", str(loaded))
    monkeypatch.delenv("AFTERSALES_CONFIG", raising=False)
    conf = _config({"silent": {"kind": "source_silent", "days": 3}}, {})
    res = check.run(loaded, conf, now=_last_load(loaded) + dt.timedelta(days=10))
    return loaded, res


def test_alerts_page_lists_what_fires(checked):
    _, res = checked
    sources = sorted(o.key for o in res.observations if o.firing)
    assert sources == ["canonical-outlets", "canonical-technicians", "canonical-tickets"]
    at = app("alerts")
    assert at.header[0].value == T.t("page_alerts", "zh")
    firing = at.dataframe[0].value
    assert sorted(firing[T.t("alert_col_key", "zh")].tolist()) == sources
    # the rules table lists the shipped rules too (only "silent" is enabled here: 1 row)
    texts = [d.value for d in at.dataframe]
    assert any(T.t("alert_col_condition", "zh") in d.columns for d in texts)


def test_badge_on_the_page_whose_numbers_fire(checked):
    at = app("data")
    badges = [m.proto.body for m in at.get("markdown") if "notifications_active" in m.proto.body]
    assert badges and T.t("alerts_badge", "zh", n=3) in badges[0]
    at = app("complaints")
    assert not [m for m in at.get("markdown") if "notifications_active" in m.proto.body]


def test_the_link_in_a_message_opens_the_view_with_its_filters(checked):
    import urllib.parse

    from alerts import messages

    url = messages.link("http://127.0.0.1:8501", "sla", {"outlet": "O2", "region": "central"}, "zh",
                        {"outlet": {"O2": "信阳代理"}})
    parts = urllib.parse.urlsplit(url)
    params = dict(urllib.parse.parse_qsl(parts.query))
    assert params == {"lang": "zh", "outlet": "O2 信阳代理", "region": "华中"}
    at = app(parts.path.strip("/"), params=params)
    chosen = {m.key: m.value for m in at.sidebar.multiselect}
    assert chosen["outlet"] == ["O2"] and chosen["region"] == ["central"]
    assert at.radio(key="lang").value == "zh"
    en = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(messages.link(
        "http://127.0.0.1:8501", "sla", {"region": "central"}, "en")).query))
    assert en == {"lang": "en", "region": "Central"}
    at = app("sla", params=en)  # an English message's link opens the page in English
    assert at.radio(key="lang").value == "en" and at.header[0].value == T.t("page_sla", "en")


def test_subjects_read_as_on_the_other_pages(loaded, monkeypatch):  # noqa: F811
    # an outlet's alert names the outlet (code and name), not its bare code
    monkeypatch.setenv("AFTERSALES_DB", str(loaded))
    monkeypatch.delenv("AFTERSALES_CONFIG", raising=False)
    conf = _config({"tickets_due": {"kind": "tickets_due", "min_count": 1}}, {})
    res = check.run(loaded, conf, now=_last_load(loaded))
    fired = sorted(o.key for o in res.observations if o.firing)
    assert "O1" in fired
    firing = app("alerts").dataframe[0].value
    subjects = set(firing[T.t("alert_col_key", "zh")])
    assert "O1 上海徐汇店" in subjects and "O1" not in subjects, subjects
