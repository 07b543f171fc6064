"""Per-region alert delivery (issue 17) for real: data loaded by the real loader, rules judged on
it, mail delivered to a real SMTP server (aiosmtpd) on 127.0.0.1. Outlet O1 is in east, O2 in
central (tests/conftest.py); the tickets-due rule fires for both (tests/test_alerts.py
test_due_list), the silent-source rule on the whole company."""

from __future__ import annotations

import datetime as dt
from email.header import decode_header, make_header

import pytest

from aftersales.errors import UserError
from alerts import check, routing, settings
from tests.test_alerts import _config, _last_load, loaded, smtp  # noqa: F401  (fixtures)

RULES = {"due": {"kind": "tickets_due", "min_count": 1, "route_by": "region"},
         "silent": {"kind": "source_silent", "days": 3, "sources": ["canonical-tickets"]}}


def _targets(port: int, monkeypatch, *names: str) -> dict:
    out = {}
    for name in names:
        monkeypatch.setenv(f"T_{name.upper()}", f"mailto://127.0.0.1:{port}?from=alerts@example.com"
                                                f"&to={name}@example.com&mode=insecure")
        out[f"{name}_mail"] = {"kind": "mail", "url_env": f"T_{name.upper()}",
                               **({"regions": [name]} if name != "hq" else {})}
    return out


def _inbox(box) -> dict[str, list[str]]:
    """recipient -> the subjects it received."""
    got: dict[str, list[str]] = {}
    for msg, rcpt in zip(box.messages, box.rcpt, strict=True):
        for r in rcpt:
            got.setdefault(r.split("@")[0], []).append(str(make_header(decode_header(msg["Subject"]))))
    return got


def test_each_region_gets_its_own_alerts_and_head_office_the_whole_company(loaded, smtp, monkeypatch):  # noqa: F811
    box, port = smtp
    conf = _config(RULES, _targets(port, monkeypatch, "east", "central", "hq"))
    res = check.run(loaded, conf, now=_last_load(loaded) + dt.timedelta(days=5))
    assert {(e.rule_id, e.key): e.to for e in res.events} == {
        ("due", "O1"): ["east_mail"], ("due", "O2"): ["central_mail"], ("silent", "canonical-tickets"): ["hq_mail"]}
    inbox = _inbox(box)
    assert len(inbox["east"]) == 1 and "O1" in inbox["east"][0] and "O2" not in inbox["east"][0]
    assert len(inbox["central"]) == 1 and "O2" in inbox["central"][0]
    assert len(inbox["hq"]) == 1 and "数据源" in inbox["hq"][0]  # the whole company's: head office only


def test_a_region_without_a_target_goes_to_head_office_and_unrouted_rules_reach_both(loaded, smtp,  # noqa: F811
                                                                                   monkeypatch):
    box, port = smtp
    targets = _targets(port, monkeypatch, "east", "hq")
    res = check.run(loaded, _config({"due": RULES["due"]}, targets))
    assert {e.key: e.to for e in res.events} == {"O1": ["east_mail"], "O2": ["hq_mail"]}  # central has none
    box.messages.clear()
    box.rcpt.clear()
    rules = {"due2": {"kind": "tickets_due", "min_count": 1}}  # no route_by: head office too, east still only east's
    res = check.run(loaded, _config(rules, targets))
    assert {e.key: e.to for e in res.events} == {"O1": ["east_mail", "hq_mail"], "O2": ["hq_mail"]}
    inbox = _inbox(box)
    assert all("O2" not in s for s in inbox["east"]) and len(inbox["hq"]) == 2


def test_a_digest_never_mixes_regions():
    rule = settings.Rule("due", "tickets_due", by="outlet", route_by="region")
    pending = [(rule, None, ("due", o), "fire") for o in ("O1", "O3", "O2")]
    regions = {"O1": "east", "O2": "central", "O3": "east"}
    targets = {"e": settings.Target("e", "mail", "zh", {"regions": ["east"]}),
               "c": settings.Target("c", "mail", "zh", {"regions": ["central"]})}

    def route(r, ob, key):
        return tuple(routing.targets_for(r, routing.region_of(r, key[1], {}, regions), targets))

    batches = check._batches(pending, 1, route)
    assert sorted((to, [k for _, (_, k) in items]) for _, items, _, to in batches) == [
        (("c",), ["O2"]), (("e",), ["O1", "O3"])]


def test_routing_mistakes_are_named():
    with pytest.raises(UserError, match="regions must be a list of region codes"):
        settings.targets(_config({}, {"t": {"kind": "mail", "url_env": "X", "regions": ["mars"]}}))
    with pytest.raises(UserError, match='route_by = "region"'):
        settings.rules(_config({"x": {"kind": "tickets_due", "route_by": "outlet"}}, {}))
