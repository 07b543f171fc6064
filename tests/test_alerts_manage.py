"""Managing alerts (issue 17): muting a firing alert needs the ``alerts`` permission (refused
below the page too); a muted alert is judged and stored but not sent until the mute ends or is
lifted. Real loader, real state file, mail to a real SMTP server (aiosmtpd); the Alerts page
through AppTest after a real sign-in: read-only without the permission."""

from __future__ import annotations

import datetime as dt

import pytest

from aftersales import permits
from aftersales.config import load_config
from aftersales.principal import ROLES, DataScope, Principal
from alerts import check, manage
from alerts import state as S
from tests.test_alerts import _config, loaded, smtp  # noqa: F401  (fixtures)
from tests.test_dashboard_fixtures import dash_db  # noqa: F401  (fixture)
from tests.test_dashboard_signin import run
from tests.test_permissions_dashboard import signed_in, site  # noqa: F401  (fixtures)

HQ = Principal("zhang", "zhang", "head_office", DataScope(), ROLES["head_office"].permissions)
RM = Principal("wang", "wang", "regional_manager", DataScope(regions=("east",)), ROLES["regional_manager"].permissions)


def test_a_muted_alert_is_stored_not_sent_until_unmuted(loaded, smtp, monkeypatch):  # noqa: F811
    box, port = smtp
    monkeypatch.setenv("T_MAIL", f"mailto://127.0.0.1:{port}?from=a@example.com&to=ops@example.com&mode=insecure")
    conf = _config({"due": {"kind": "tickets_due", "min_count": 1, "cooldown_hours": 1}},
                   {"mail": {"kind": "mail", "url_env": "T_MAIL"}})
    t0 = dt.datetime(2026, 11, 10, 13, 0)
    res = check.run(loaded, conf, now=t0)
    assert {e.key: e.to for e in res.events} == {"O1": ["mail"], "O2": ["mail"]} and len(box.messages) == 2
    with pytest.raises(permits.Refused, match="无权管理预警"):
        manage.mute(loaded, RM, "due", "O1", 24, t0)
    assert manage.mutes(loaded, t0).is_empty()
    until = manage.mute(loaded, HQ, "due", "O1", 24, t0)
    assert until == t0 + dt.timedelta(hours=24)
    assert manage.mutes(loaded, t0)["muted_by"].to_list() == ["zhang"]
    # two hours on: past the 1 h cooldown both repeat; O1's is stored, not sent
    res = check.run(loaded, conf, now=t0 + dt.timedelta(hours=2))
    assert {e.key: e.to for e in res.events} == {"O1": [], "O2": ["mail"]} and len(box.messages) == 3
    events = S.read(loaded, "SELECT e.key, e.kind, count(s.target) FROM alert_events e LEFT JOIN alert_sends s "
                            "USING (event_id) GROUP BY e.event_id, e.key, e.kind ORDER BY e.event_id")
    assert sorted(events[-2:]) == [("O1", "repeat", 0), ("O2", "repeat", 1)]  # the muted one stored, unsent
    manage.unmute(loaded, HQ, "due", "O1")
    res = check.run(loaded, conf, now=t0 + dt.timedelta(hours=4))
    assert {e.key: e.to for e in res.events} == {"O1": ["mail"], "O2": ["mail"]} and len(box.messages) == 5


def _firing_state(db) -> None:
    """The shipped rules judged on the copy (no targets: nothing sent), so that some fire."""
    res = check.run(db, load_config(None, db))
    assert any(o.firing for o in res.observations)


def test_the_alerts_page_is_read_only_without_the_permission(site):  # noqa: F811
    db, users = site
    _firing_state(db)
    # a planner sees the whole company's alerts (a regional scope does not see the page at all)
    # but may not manage them
    rm = signed_in(users, "wang", "planner", "alerts")
    assert "alerts_mute" not in [b.key for b in rm.button]
    assert any("仅供查看" in c.value for c in rm.caption)
    hq = signed_in(users, "zhang", "head_office", "alerts")
    assert not any("仅供查看" in c.value for c in hq.caption)
    hq.button(key="alerts_mute").click()
    run(hq)
    assert [m for m in hq.success if "已静音" in m.value]
    muted = manage.mutes(db, check.local_now(load_config(None, db)))
    assert muted["muted_by"].to_list() == ["zhang"]
