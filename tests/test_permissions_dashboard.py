"""Permissions on the dashboard's pages (issue 17), through Streamlit's AppTest after a real
sign-in (argon2 users file, audit DuckDB beside a copy of the shared test database):

- without ``download`` no download button anywhere on a page, and ``downloads.export`` refuses
  (and records nothing); with it, a download writes one audit row with the table's row count;
- without ``forecasts`` the Staffing and Spare-parts pages are not in the navigation and their
  URL shows a refusal in Chinese;
- the audit trail is on the Data page for head office, not for an outlet manager (and its read
  function refuses one);
- the unmask toggle is there only for a principal with ``unmask``, and the unmasked read refuses
  anyone else whatever the toggle said.
"""

from __future__ import annotations

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from aftersales import audit, auth, permits
from aftersales.principal import ROLES, DataScope, Principal, make_scope
from dashboard import audit_view, downloads, gates
from dashboard import i18n as T
from dashboard.views import PAGES
from tests.test_dashboard_fixtures import dash_db  # noqa: F401  (fixture)
from tests.test_dashboard_signin import APP, PW, run, sign_in, site  # noqa: F401  (fixture)


def signed_in(users, name: str, role: str, page: str | None = None, *, revoke=(), grant=(), **scope) -> AppTest:
    auth.add_user(users, name, PW, role, make_scope(role, **scope), grant=list(grant), revoke=list(revoke))
    at = sign_in(run(AppTest.from_file(APP, default_timeout=120)), name, PW)
    if page:
        at.switch_page(f"views/{page}.py")
        run(at)
    return at


def principal(role: str, revoke: frozenset = frozenset(), **scope) -> Principal:
    return Principal("u1", "u1", role, DataScope(**scope), ROLES[role].permissions - revoke)


def test_without_download_no_button_and_the_export_refuses(site):  # noqa: F811
    db, users = site
    at = signed_in(users, "wd1", "outlet_manager", "data", revoke=["download"], outlets=["WD0001"])
    assert at.dataframe, "the Data page shows its tables"
    assert not at.get("download_button")
    # the same page for an account with the permission has them
    at2 = signed_in(users, "wd2", "outlet_manager", "data", outlets=["WD0001"])
    assert at2.get("download_button")
    # below the page: the export function refuses, and nothing is recorded
    df = pl.DataFrame({"a": [1, 2]})
    before = audit.read(db, kinds=("download",)).height
    with pytest.raises(permits.Refused, match="无下载权限"):
        downloads.export(principal("outlet_manager", frozenset({"download"}), outlets=("WD0001",)), df, "csv",
                         what="t", db=db)
    assert audit.read(db, kinds=("download",)).height == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_download_writes_one_audit_row_with_its_row_count(site, fmt):  # noqa: F811
    db, _ = site
    df = pl.DataFrame({"ticket_id": [f"T{i}" for i in range(37)], "v": list(range(37))})
    p = principal("regional_manager", regions=("east",))
    body = downloads.export(p, df, fmt, what="records_csat", db=db, filters={"channel": ["jd"]}, client="10.0.0.9")
    assert body  # the file itself
    rows = audit.read(db, kinds=("download",))
    assert rows.height == 1
    r = rows.row(0, named=True)
    assert (r["username"], r["role"], r["client"]) == ("u1", "regional_manager", "10.0.0.9")
    import json

    d = json.loads(r["detail"])
    assert d == {"what": "records_csat", "format": fmt, "rows": 37,
                 "scope": {"regions": ["east"], "outlets": [], "outlet_types": []}, "filters": {"channel": ["jd"]}}


def test_without_forecasts_the_forecast_pages_are_hidden_and_refused(site):  # noqa: F811
    _, users = site
    at = signed_in(users, "wang", "regional_manager", "staffing", revoke=["forecasts"], regions=["east"])
    assert [e.value for e in at.error] == [permits.REFUSALS["forecasts"][0]]
    assert not at.dataframe and not at.get("plotly_chart") and not at.metric
    at.switch_page("views/parts.py")
    run(at)
    assert [e.value for e in at.error] == [permits.REFUSALS["forecasts"][0]]
    # what the navigation lists (the browser test sees the sidebar itself)
    no = principal("regional_manager", frozenset({"forecasts"}), regions=("east",))
    # (and the Alerts page, judged for the whole company, is not for a regional scope either)
    assert [n for n, *_ in PAGES if not gates.page_allowed(n, no)] == ["staffing", "parts", "alerts"]
    whole = principal("planner", frozenset({"forecasts"}))
    assert [n for n, *_ in PAGES if not gates.page_allowed(n, whole)] == ["staffing", "parts"]
    # with the permission the page shows its forecast
    at2 = signed_in(users, "li", "regional_manager", "staffing", regions=["east"])
    assert not at2.error and at2.header[0].value == "人力排班"


def test_a_forecast_page_that_forgot_its_gate_still_shows_no_forecast(site, monkeypatch):  # noqa: F811
    """Below the page: the run picker every forecast page reads through refuses too."""
    _, users = site
    monkeypatch.setattr(gates, "page_or_refusal", lambda *a: True)  # the page's own gate gone
    at = signed_in(users, "wang", "regional_manager", "staffing", revoke=["forecasts"], regions=["east"])
    assert any(permits.REFUSALS["forecasts"][0] in w.value for w in at.warning)
    assert not at.dataframe and not at.get("plotly_chart") and "run_workload" not in [s.key for s in at.selectbox]


def test_the_audit_trail_is_shown_to_head_office_and_not_to_an_outlet_manager(site):  # noqa: F811
    db, users = site
    audit.record(db, "download", "someone", role="analyst", method="password",
                 detail={"what": "load_ledger", "format": "xlsx", "rows": 12, "scope": {"regions": ["east"]},
                         "filters": {"channel": ["jd"]}})
    hq = signed_in(users, "zhang", "head_office", "data")
    tabs = [t.label for t in hq.tabs]
    assert "审计记录" in tabs
    hq.session_state["tab"] = "审计记录"  # the lazy tabs run only the open one
    run(hq)
    texts = [c.value for c in hq.caption]
    # zhang's own sign-in + the download recorded above, newest first
    assert any(t.startswith("共 2 条记录") for t in texts), texts
    table = [d.value for d in hq.dataframe if "类型" in d.value.columns]
    assert table and table[0]["类型"].to_list() == ["登录", "下载"]
    assert table[0]["行数"].to_list()[1] == 12
    from tests.zh_text import leaks

    cells = table[0].drop(columns=["用户"]).to_numpy().ravel().tolist()
    words = [c for c in cells if isinstance(c, str)] + list(table[0].columns)
    assert {w: leaks(w) for w in words if leaks(w)} == {}  # Chinese, apart from user names and codes
    om = signed_in(users, "wd9", "outlet_manager", "data", outlets=["WD0001"])
    assert "审计记录" not in [t.label for t in om.tabs]
    with pytest.raises(permits.Refused):
        audit_view.frame(principal("outlet_manager", outlets=("WD0001",)), db)


def open_tab(at: AppTest, label: str) -> AppTest:
    at.session_state["tab"] = label
    return run(at)


def test_the_unmask_toggle_only_for_those_allowed_and_the_read_refuses_others(site):  # noqa: F811
    _, users = site
    hq = open_tab(signed_in(users, "zhang", "head_office", "data"), "隔离行")
    assert [t.key for t in hq.toggle] == ["q_unmask"]
    analyst = open_tab(signed_in(users, "chen", "analyst", "data"), "隔离行")
    assert not analyst.toggle
    granted = open_tab(signed_in(users, "zhou", "analyst", "data", grant=["unmask"]), "隔离行")
    assert [t.key for t in granted.toggle] == ["q_unmask"]
    granted.toggle(key="q_unmask").set_value(True)
    run(granted)
    assert any("未遮蔽" in w.value for w in granted.warning)
    from dashboard.views import data as view

    with pytest.raises(permits.Refused, match="个人信息"):
        view._quarantine_unmasked(principal("analyst"), "zh")


def test_whole_company_pages_are_not_shown_to_a_restricted_scope(site):  # noqa: F811
    """Quarantined rows (raw records of any outlet) and the alerts (judged for the whole company)
    would show rows outside a restricted scope: an outlet manager gets neither, head office both."""
    _, users = site
    quarantine_tab = T.t("quarantine", "zh")
    hq = signed_in(users, "zhao", "head_office", "data")
    assert quarantine_tab in [t.label for t in hq.tabs]
    om = signed_in(users, "wd7", "outlet_manager", "data", outlets=["WD0001"])
    assert quarantine_tab not in [t.label for t in om.tabs] and om.tabs
    refusal = permits.REFUSALS["whole_company"][0]
    om.switch_page("views/alerts.py")
    run(om)
    assert refusal in [e.value for e in om.error]
    assert not gates.page_allowed("alerts", principal("outlet_manager", outlets=("WD0001",)))
    hq.switch_page("views/alerts.py")
    run(hq)
    assert refusal not in [e.value for e in hq.error] and hq.subheader
