"""Report sends in the audit trail (issue 17): `aftersales report --send` delivers to a real SMTP
server (aiosmtpd) and a loopback robot, and each send, ok or failed, is one ``report_send``
event with the pack, the target, its recipients and the result; `aftersales audit --kind
report_send --since ...` prints them and exports them formula-safe."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from aftersales import audit
from aftersales.cli import main
from tests.alerts_fixtures import start_robots
from tests.conftest import write
from tests.test_alerts import loaded, smtp  # noqa: F401  (fixtures)


def test_each_report_send_is_one_audit_row(loaded, tmp_path, smtp, monkeypatch, capsys):  # noqa: F811
    box, port = smtp
    robots = start_robots()
    try:
        monkeypatch.setenv("T_WECOM", f"{robots.base}/cgi-bin/webhook/send?key=K1")
        monkeypatch.setenv("T_BAD", f"{robots.base}/fail/cgi-bin/webhook/send?key=K0")
        monkeypatch.setenv("T_MAIL", f"mailto://127.0.0.1:{port}?from=alerts@example.com"
                                     f"&to=boss@example.com,cfo@example.com&mode=insecure")
        conf = write(tmp_path / "conf.toml", '[alerts]\nretries = 0\nbackoff_seconds = 0.01\n'
                     '[alerts.targets.wecom]\nkind = "wecom"\nwebhook_env = "T_WECOM"\n'
                     '[alerts.targets.bad]\nkind = "wecom"\nwebhook_env = "T_BAD"\n'
                     '[alerts.targets.mail]\nkind = "mail"\nurl_env = "T_MAIL"\n')
        before = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
        code = main(["--db", str(loaded), "--config", str(conf), "report", "--period", "2026-11", "--format", "csv",
                     "--out", str(tmp_path / "out"), "--where", "region=east", "--send", "mail", "--send", "wecom",
                     "--send", "bad"])
        assert code == 2  # one target failed: said, exit 2, and still recorded
    finally:
        robots.server.shutdown()
    # Apprise mails each address on its own: two mails, two recipients
    assert sorted(a for rcpt in box.rcpt for a in rcpt) == ["boss@example.com", "cfo@example.com"]
    rows = audit.read(loaded, kinds=("report_send",))
    assert rows.height == 3
    got = [(json.loads(d)["target"], json.loads(d)["recipients"], r) for d, r in
           zip(rows["detail"].to_list(), rows["reason"].to_list(), strict=True)]
    assert got == [("mail", 2, "ok"), ("wecom", 1, "ok"), ("bad", 1, "failed")]
    first = json.loads(rows["detail"][0])
    written = sorted(p.stem for p in (tmp_path / "out").iterdir())
    assert first["pack"] in written and first["filters"] == {"region": ["east"]}
    assert "error" in json.loads(rows["detail"][2]) and rows["username"].null_count() == 0
    capsys.readouterr()
    # the command: only report sends since a time, printed; then exported
    assert main(["--db", str(loaded), "audit", "--kind", "report_send", "--since", before.isoformat()]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and all("report_send" in line for line in out) and "失败" in out[2]
    csv = tmp_path / "audit.csv"
    assert main(["--db", str(loaded), "audit", "--kind", "report_send", "--out", str(csv)]) == 0
    back = pl.read_csv(csv, encoding="utf8-lossy")
    assert back.height == 3 and back["kind"].to_list() == ["report_send"] * 3
    # nothing before that time
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).replace(tzinfo=None).isoformat(timespec="minutes")
    assert main(["--db", str(loaded), "audit", "--kind", "report_send", "--since", later]) == 0
