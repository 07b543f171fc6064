"""Alerts for real: data loaded by the real loader, rules judged on it, messages posted to a
loopback robot server and a real SMTP server (aiosmtpd) on 127.0.0.1, state in a DuckDB file."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import urllib.parse
from email.header import decode_header, make_header
from pathlib import Path

import duckdb
import polars as pl
import pytest

from aftersales.cli import main
from aftersales.config import load_config
from aftersales.errors import UserError
from alerts import check, due, evaluate, settings
from alerts import state as S
from tests.alerts_fixtures import start_robots, start_smtp
from tests.conftest import TICKET_HEADER, ticket_row, write

DING_SECRET = "SEC0f+9/a=b"  # characters that base64 and URL-encoding treat specially
FEISHU_SECRET = "fs-secret-1"


def _load(db: Path, files: list[Path]) -> None:
    assert main(["--db", str(db), "load", *map(str, files)]) == 0


def _config(rules: dict, targets: dict, **alerts) -> dict:
    conf = load_config(None)
    off = {rid: {"enabled": False} for rid in settings.DEFAULT_RULES}
    conf["alerts"] = {"rules": {**off, **rules}, "targets": targets, "backoff_seconds": 0.5, "retries": 2, **alerts}
    return conf


@pytest.fixture
def robots():
    r = start_robots(DING_SECRET, FEISHU_SECRET)
    yield r
    r.server.shutdown()


@pytest.fixture
def smtp():
    ctl, box, port = start_smtp()
    yield box, port
    ctl.stop()


@pytest.fixture
def loaded(tmp_path, masters) -> Path:
    """Tickets around 2026-11-10 12:00 (the data's latest), arithmetic in test_due_list."""
    rows = [
        ticket_row("N", service="consult", created="2026-11-10 12:00:00"),
        ticket_row("B", outlet="O2", tech="T02", created="2026-11-07 04:00:00"),
        ticket_row("C", outlet="O2", tech="T02", created="2026-09-01 08:00:00"),
        ticket_row("D", created="2026-11-10 09:00:00"),
        ticket_row("R", created="2026-11-01 09:00:00", status="resolved", resolved="2026-11-01 20:00:00",
                   resolution="fixed", complaint="true"),
    ]
    db = tmp_path / "db" / "aftersales.duckdb"
    _load(db, [*masters, write(tmp_path / "in" / "tickets.csv", "\n".join([TICKET_HEADER, *rows]) + "\n")])
    return db


def _last_load(db: Path) -> dt.datetime:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT max(finished_at) FROM loads WHERE source = 'canonical-tickets'").fetchall()[0][0]


def _events(db: Path) -> list[tuple]:
    return S.read(db, "SELECT kind, key FROM alert_events ORDER BY event_id")


def test_due_list(loaded):
    # now = 2026-11-10 12:00 (N's creation). Limits: first response 1 h, on site 24 h (repair),
    # resolution 72 h (repair) / 24 h (consult); due soon = within 4 h; stale = overdue > 30 days.
    rows, now = due.work_list(loaded, load_config(None))
    assert now == dt.datetime(2026, 11, 10, 12, 0)
    got = {(r["ticket_id"], r["stage"]): (r["category"], r["hours_left"], r["overdue_days"])
           for r in rows.iter_rows(named=True)}
    assert got == {
        ("N", "first_response"): ("due_soon", 1.0, None),       # due 13:00
        ("D", "first_response"): ("breached", -2.0, None),      # due 10:00: 2 h, in hours (≤ 48 h)
        ("B", "first_response"): ("breached", -79.0, 3.3),      # due 11-07 05:00: 79 h = 3.3 days
        ("B", "onsite"): ("breached", -56.0, 2.3),              # due 11-08 04:00: 56 h
        ("B", "resolution"): ("breached", -8.0, None),          # due 11-10 04:00: 8 h
        ("C", "first_response"): ("stale", -1683.0, 70.1),     # created 09-01 08:00, 70 days ago
        ("C", "onsite"): ("stale", -1660.0, 69.2),
        ("C", "resolution"): ("stale", -1612.0, 67.2),
    }
    outlets = {r["outlet_id"]: r for r in due.by_outlet(rows).iter_rows(named=True)}
    assert (outlets["O1"]["due_soon"], outlets["O1"]["breached"], outlets["O1"]["stale"]) == (1, 1, 0)
    assert (outlets["O2"]["due_soon"], outlets["O2"]["breached"], outlets["O2"]["stale"]) == (0, 3, 3)
    assert outlets["O2"]["technicians"] == "T02" and outlets["O2"]["outlet_name"] == "信阳代理"
    # a longer window per service type: consult's resolution (due 11-11 12:00, in 24 h) joins the list
    conf = load_config(None)
    conf["alerts"] = {"due_within_hours": {"consult": 30.0}}
    rows2, _ = due.work_list(loaded, conf)
    assert ("N", "resolution") in {(r["ticket_id"], r["stage"]) for r in rows2.iter_rows(named=True)}


def test_fires_once_cools_down_worsens_repeats_and_resolves(loaded, tmp_path, robots, monkeypatch):
    monkeypatch.setenv("T_WECOM", f"{robots.base}/cgi-bin/webhook/send?key=K1")
    conf = _config({"silent": {"kind": "source_silent", "days": 3, "sources": ["canonical-tickets"],
                               "cooldown_hours": 24, "worsen_by": 1.0}},
                   {"ops": {"kind": "wecom", "webhook_env": "T_WECOM"}})
    t0 = _last_load(loaded)
    kinds = []
    # silent days (excess past 3 days): 2 (no), 4 (1: fire), 4.5 (1.5 < 2×1: within cooldown), 5.5 (2.5 ≥ 2: worse),
    # 6.0 (3 < 5, 12 h after the last send: nothing), 6.6 (26.4 h after it: repeat)
    for days in (2, 4, 4.5, 5.5, 6.0, 6.6):
        res = check.run(loaded, conf, now=t0 + dt.timedelta(days=days))
        kinds.append([e.kind for e in res.events])
    assert kinds == [[], ["fire"], [], ["worse"], [], ["repeat"]]
    assert len(robots.posts) == 3
    first = robots.posts[0]
    assert first.query == {"key": "K1"} and first.body["msgtype"] == "markdown"
    assert "数据源未按时送达文件" in first.body["markdown"]["content"] and "已 4.0 天无新文件" in first.body["markdown"]["content"]
    # a new file arrives: resolved
    more = write(tmp_path / "in2" / "tickets.csv", TICKET_HEADER + "\n" + ticket_row("E", created="2026-11-10 11:00:00") + "\n")
    _load(loaded, [more])
    res = check.run(loaded, conf, now=_last_load(loaded) + dt.timedelta(hours=2))
    assert [e.kind for e in res.events] == ["resolve"]
    assert "【已恢复】" in robots.posts[-1].body["markdown"]["content"]
    assert [k for k, _ in _events(loaded)] == ["fire", "worse", "repeat", "resolve"]
    sends = S.read(loaded, "SELECT target, status, attempts, error FROM alert_sends")
    assert sends == [("ops", "sent", 1, None)] * 4
    assert S.read(loaded, "SELECT firing, resolved_at IS NOT NULL FROM alert_state") == [(False, True)]


def test_failing_target_retried_reported_and_never_blocks_the_others(loaded, robots, smtp, monkeypatch):
    box, port = smtp
    monkeypatch.setenv("T_BAD", f"{robots.base}/fail/cgi-bin/webhook/send?key=K0")
    monkeypatch.setenv("T_WECOM", f"{robots.base}/cgi-bin/webhook/send?key=K1")
    monkeypatch.setenv("T_DING", f"{robots.base}/robot/send?access_token=TOKEN1")
    monkeypatch.setenv("T_DING_SECRET", DING_SECRET)
    monkeypatch.setenv("T_FEISHU", f"{robots.base}/open-apis/bot/v2/hook/abc-123")
    monkeypatch.setenv("T_FEISHU_SECRET", FEISHU_SECRET)
    monkeypatch.setenv("T_MAIL", f"mailto://127.0.0.1:{port}?from=alerts@example.com&to=boss@example.com&mode=insecure")
    targets = {"bad": {"kind": "wecom", "webhook_env": "T_BAD"},
               "wecom": {"kind": "wecom", "webhook_env": "T_WECOM"},
               "ding": {"kind": "dingtalk", "webhook_env": "T_DING", "secret_env": "T_DING_SECRET"},
               "feishu": {"kind": "feishu", "webhook_env": "T_FEISHU", "secret_env": "T_FEISHU_SECRET", "lang": "en"},
               "mail": {"kind": "mail", "url_env": "T_MAIL"}}
    # O1: 1 due soon + 1 breached; O2: 3 breached (its stale ones apart); see test_due_list
    conf = _config({"due": {"kind": "tickets_due", "min_count": 2}}, targets)
    slept: list[float] = []
    res = check.run(loaded, conf, sleep=slept.append)
    fired = [e for e in res.events if e.kind == "fire"]
    assert {e.key for e in fired} == {"O1", "O2"}
    status = {(e.key, d.target): (d.status, d.attempts) for e in fired for d in e.sends}
    for key in {e.key for e in fired}:
        assert status[(key, "bad")] == ("failed", 3)  # 1 + 2 retries
        for t in ("wecom", "ding", "feishu", "mail"):
            assert status[(key, t)] == ("sent", 1), (t, status)
    assert slept == [0.5, 1.0] * 2  # back-off doubles; per event, the failing target only
    # the DingTalk post: timestamp and sign in the query, sign = base64(HMAC-SHA256(secret, "ts\nsecret")), encoded once
    ding = next(p for p in robots.posts if p.path == "/robot/send")
    ts = ding.query["timestamp"]
    want = base64.b64encode(hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(), hashlib.sha256).digest())
    assert ding.query["sign"] == want.decode()
    assert f"sign={urllib.parse.quote_plus(want)}" in ding.raw_query
    assert ding.query["access_token"] == "TOKEN1" and ding.body["msgtype"] == "markdown"
    assert ding.body["markdown"]["title"].startswith("【告警】工单即将超时")
    feishu = next(p for p in robots.posts if p.path.startswith("/open-apis/"))
    post = feishu.body["content"]["post"]["zh_cn"]
    assert feishu.body["msg_type"] == "post" and post["title"].startswith("[Alert] Tickets about to breach")
    links = [el["href"] for p in robots.posts if p.path.startswith("/open-apis/")
             for line in p.body["content"]["post"]["zh_cn"]["content"] for el in line if el["tag"] == "a"]
    # the sidebar binds a filter by its shown label (code and name); the language goes as its code
    shown = sorted(urllib.parse.parse_qs(urllib.parse.urlsplit(u).query)["outlet"][0] for u in links)
    assert shown == ["O1 上海徐汇店", "O2 信阳代理"]
    assert all(u.startswith("http://127.0.0.1:8501/sla?lang=en&") for u in links)
    mail = box.messages[0]
    assert "告警" in str(make_header(decode_header(mail["Subject"])))
    # the failure is stored with its reason, and the command says so in one line with exit status 2
    failed = S.read(loaded, "SELECT target, status, attempts, error FROM alert_sends WHERE status = 'failed'")
    assert failed and failed[0][:3] == ("bad", "failed", 3) and failed[0][3].startswith("HTTP 500")
    assert all("K0" not in (row[3] or "") for row in failed)  # the webhook's key is never stored


def test_sample_too_small_stays_silent(loaded, robots, monkeypatch):
    monkeypatch.setenv("T_WECOM", f"{robots.base}/cgi-bin/webhook/send?key=K1")
    targets = {"ops": {"kind": "wecom", "webhook_env": "T_WECOM"}}
    # judged on November 2026 (as of 11-30): O1 has N, D and R (the one complaint); O2 has B (C is September)
    rule = {"kpi": "complaint_rate", "by": "outlet", "condition": "above", "threshold": 0.0, "period": "month"}
    with duckdb.connect(str(loaded), read_only=True) as con:
        obs = evaluate.kpi_rule(con, settings.rules(_config({"r": {**rule, "min_sample": 1}}, targets))[0],
                                load_config(None), dt.date(2026, 11, 30))
    # November, outlet O1: R is the one complaint among N, D, R (3 tickets); O2: B, C... C is September
    got = {o.key: (o.value, o.sample, o.firing) for o in obs}
    assert got["O1"] == (pytest.approx(1 / 3), 3, True)
    assert got["O2"] == (0.0, 1, False)
    big = _config({"r": {**rule, "min_sample": 4}}, targets)
    with duckdb.connect(str(loaded), read_only=True) as con:
        obs = evaluate.kpi_rule(con, settings.rules(big)[0], big, dt.date(2026, 11, 30))
    assert all(not o.judged and not o.firing and o.note == "too_small" for o in obs)


def test_provisional_numbers_never_fire(loaded, monkeypatch):
    import metrics

    real = metrics.query

    def provisional(*a, **k):  # what wt-prov's status adds: the period still filling
        df = real(*a, **k)
        return df.with_columns(status=pl.lit("provisional"))

    monkeypatch.setattr(evaluate.metrics, "query", provisional)
    conf = _config({"r": {"kpi": "complaint_rate", "by": "outlet", "condition": "target_missed", "period": "month",
                          "min_sample": 1}}, {})
    with duckdb.connect(str(loaded), read_only=True) as con:
        obs = evaluate.kpi_rule(con, settings.rules(conf)[0], conf, dt.date(2026, 11, 30))
    assert obs and all(not o.judged and o.note == "provisional" for o in obs)


def test_config_mistakes_are_named():
    with pytest.raises(UserError, match="kpi 'nope' is not a KPI"):
        settings.rules(_config({"x": {"kpi": "nope", "condition": "above", "threshold": 1}}, {}))
    with pytest.raises(UserError, match="secrets go in an environment variable"):
        settings.targets(_config({}, {"t": {"kind": "dingtalk", "webhook": "https://oapi.dingtalk.com/robot/send"}}))
    with pytest.raises(UserError, match="needs points = N or percent = N"):
        settings.rules(_config({"x": {"kpi": "csat", "condition": "change"}}, {}))


def test_report_send_mails_the_pdf_and_posts_a_summary(loaded, tmp_path, robots, smtp, monkeypatch, capsys):
    from reports import pdf

    try:
        pdf.check_available()
        formats = "pdf,csv"
    except UserError:  # no Chromium here: the files written are attached instead
        formats = "html,csv"
    box, port = smtp
    monkeypatch.setenv("T_WECOM", f"{robots.base}/cgi-bin/webhook/send?key=K1")
    monkeypatch.setenv("T_MAIL", f"mailto://127.0.0.1:{port}?from=alerts@example.com&to=boss@example.com&mode=insecure")
    conf = write(tmp_path / "conf.toml", '[alerts.targets.wecom]\nkind = "wecom"\nwebhook_env = "T_WECOM"\n'
                                         '[alerts.targets.mail]\nkind = "mail"\nurl_env = "T_MAIL"\n')
    out = tmp_path / "out"
    code = main(["--db", str(loaded), "--config", str(conf), "report", "--period", "2026-11", "--format", formats,
                 "--out", str(out), "--send", "mail", "--send", "wecom"])
    assert code == 0, capsys.readouterr().err
    mail = box.messages[0]
    names = sorted(p.get_filename() for p in mail.walk() if p.get_filename())
    written = sorted(p.name for p in out.iterdir())
    assert names == ([n for n in written if n.endswith(".pdf")] if "pdf" in formats else written)
    text = robots.posts[0].body["markdown"]["content"]
    assert "【报表】" in text and "工单量 4" in text  # created in November: N, B, D, R


def test_commands_for_cron(loaded, tmp_path, robots, monkeypatch, capsys):
    monkeypatch.setenv("T_BAD", f"{robots.base}/fail/x")
    conf = write(tmp_path / "conf.toml", '[alerts]\nretries = 1\nbackoff_seconds = 0.01\n'
                 '[alerts.rules.due]\nkind = "tickets_due"\nmin_count = 2\n'
                 + "".join(f"[alerts.rules.{r}]\nenabled = false\n" for r in settings.DEFAULT_RULES if r != "due")
                 + '[alerts.targets.bad]\nkind = "wecom"\nwebhook_env = "T_BAD"\n')
    base = ["--db", str(loaded), "--config", str(conf), "alerts"]
    assert main([*base, "check", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "将发送事件 2 条" in out and not S.state_path(loaded).exists()  # a dry run stores nothing
    assert "发往 bad" in out  # where each would go
    # without any delivery target (the shipped config) a dry run says so, not that the alert is muted
    no_targets = write(tmp_path / "none.toml", conf.read_text(encoding="utf-8").split("[alerts.targets.bad]")[0])
    assert main(["--db", str(loaded), "--config", str(no_targets), "alerts", "check", "--dry-run"]) == 0
    out_none = capsys.readouterr().out
    assert "未配置发送对象" in out_none and "已静音" not in out_none
    assert main([*base, "check", "--dry-run", "--lang", "en"]) == 0
    assert "2 events would send" in capsys.readouterr().out
    assert main([*base, "check"]) == 2  # both sends failed: said in one line, stored
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "2 send(s) failed after 2 attempts" in err[0] and "Traceback" not in err[0]
    assert main([*base, "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split("\t")[:3] == ["规则", "对象", "告警中"]  # zh: no English headers
    assert [line.split("\t")[:3] for line in listed[1:]] == [["due", "O1", "是"], ["due", "O2", "是"]]
    assert main([*base, "list", "--lang", "en"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:3] for line in listed[1:]] == [["due", "O1", "yes"], ["due", "O2", "yes"]]
    monkeypatch.delenv("T_BAD")
    assert main([*base, "check", "--now", "2030-01-01T00:00"]) == 2  # past the cooldown: both repeat, and the secret is gone
    assert "T_BAD is empty or not set" in capsys.readouterr().err


def test_many_alerts_of_one_rule_go_as_one_message(loaded, robots, monkeypatch):
    monkeypatch.setenv("T_WECOM", f"{robots.base}/cgi-bin/webhook/send?key=K1")
    conf = _config({"due": {"kind": "tickets_due", "min_count": 2, "digest_after": 1}},
                   {"ops": {"kind": "wecom", "webhook_env": "T_WECOM"}})
    res = check.run(loaded, conf)
    assert [(e.kind, e.key) for e in res.events] == [("fire", "*")] and len(robots.posts) == 1
    text = robots.posts[0].body["markdown"]["content"]
    assert "工单即将超时 · 2 项" in text and "网点 O1 上海徐汇店" in text and "网点 O2 信阳代理" in text
    # each outlet keeps its own state: one resolving later is its own event
    assert S.read(loaded, "SELECT key, firing FROM alert_state ORDER BY key") == [("O1", True), ("O2", True)]
