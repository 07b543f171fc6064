"""The dashboard's sign-in gate (issue 17) through Streamlit's AppTest, and the rule that keeps
a dashboard without sign-in on this machine: `aftersales dashboard --host 0.0.0.0` refuses
unless told `--no-auth`.

The dashboard reads a copy of the shared test database, so the audit file written beside it
and the users file (AFTERSALES_USERS, in the test's own folder) touch no other test.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aftersales import audit, auth
from aftersales.principal import make_scope
from dashboard.signin import SESSION_KEY, WORDS, mode
from tests.test_dashboard_fixtures import dash_db  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")
PW = "east region 42"


@pytest.fixture
def site(dash_db, tmp_path, monkeypatch):  # noqa: F811
    """(database copy, users file not yet created)."""
    db = tmp_path / "aftersales.duckdb"
    shutil.copyfile(dash_db, db)
    users = tmp_path / "accounts" / "users.json"
    monkeypatch.setenv("AFTERSALES_DB", str(db))
    monkeypatch.setenv(auth.USERS_ENV, str(users))
    monkeypatch.delenv("AFTERSALES_CONFIG", raising=False)
    return db, users


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(password)
    at.button[0].click()
    return run(at)


def test_without_a_users_file_the_dashboard_is_as_before(site):
    at = run(AppTest.from_file(APP, default_timeout=90))
    assert at.header[0].value == "总览"  # the Overview, no form
    assert at.session_state["_principal"].method == "none"


def test_sign_in_shows_the_overview_and_puts_the_principal_in_state(site):
    db, users = site
    auth.add_user(users, "wang", PW, "regional_manager", make_scope("regional_manager", ["east"]), display_name="王经理")
    at = run(AppTest.from_file(APP, default_timeout=90))
    assert [h.value for h in at.header] == ["登录"] and not at.metric  # no page before sign-in
    assert "_scope" not in at.session_state  # the filters were not even drawn
    at = sign_in(at, "wang", PW)
    assert at.header[0].value == "总览" and len(at.metric) > 0
    p = at.session_state["_principal"]
    assert (p.username, p.role, p.scope.regions, p.method) == ("wang", "regional_manager", ("east",), "password")
    assert any("王经理" in c.value for c in at.sidebar.caption)
    assert any("华东" in c.value for c in at.sidebar.caption)  # the scope, in Chinese
    events = audit.read(db)
    assert events["kind"].to_list() == ["sign_in"] and events["role"].to_list() == ["regional_manager"]


def test_a_wrong_password_is_refused_and_audited(site):
    db, users = site
    auth.add_user(users, "wang", PW, "regional_manager", make_scope("regional_manager", ["east"]))
    at = sign_in(run(AppTest.from_file(APP, default_timeout=90)), "wang", "not the password")
    assert [e.value for e in at.error] == [WORDS["bad_credentials"][0]]
    assert at.header[0].value == "登录" and "_principal" not in at.session_state
    assert audit.read(db)[["kind", "username", "reason"]].rows() == [("sign_in_failed", "wang", "bad_credentials")]


def test_a_disabled_user_is_refused_in_english(site):
    _, users = site
    auth.add_user(users, "li", PW, "analyst", make_scope("analyst"))
    auth.set_disabled(users, "li", True)
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["lang"] = "en"
    at = sign_in(run(at), "li", PW)
    assert [h.value for h in at.header] == ["Sign in"]
    assert [e.value for e in at.error] == [WORDS["disabled"][1]]


def test_lockout_is_shown_and_audited(site, monkeypatch):
    db, users = site
    auth.add_user(users, "om", PW, "outlet_manager", make_scope("outlet_manager", outlets=["WD0001"]))
    conf = db.with_name("aftersales.toml")
    conf.write_text("[auth]\nmax_failures = 2\nlockout_minutes = 30\n", encoding="utf-8")
    at = run(AppTest.from_file(APP, default_timeout=90))
    at = sign_in(at, "om", "wrong one 1")
    at = sign_in(at, "om", "wrong one 2")
    assert "锁定" in at.error[0].value
    at = sign_in(at, "om", PW)  # locked: even the right password
    assert "锁定" in at.error[0].value and "_principal" not in at.session_state
    assert audit.read(db)["kind"].to_list() == ["sign_in_failed", "locked_out", "sign_in_failed"]


def test_an_expired_session_is_refused(site):
    db, users = site
    auth.add_user(users, "p", PW, "planner", make_scope("planner"))
    at = sign_in(run(AppTest.from_file(APP, default_timeout=90)), "p", PW)
    assert at.header[0].value == "总览"
    s = at.session_state[SESSION_KEY]
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=9)  # the default session lasts 8 hours
    at.session_state[SESSION_KEY] = auth.Session(s.username, old, dt.datetime.now(dt.UTC), s.stamp)
    at = run(at)
    assert at.header[0].value == "登录" and [i.value for i in at.info] == [WORDS["expired"][0]]
    assert "_principal" not in at.session_state
    assert audit.read(db)[["kind", "reason"]].rows()[-1] == ("session_ended", "expired")


def test_a_page_run_on_its_own_is_gated_too(site):
    _, users = site
    auth.add_user(users, "p", PW, "planner", make_scope("planner"))
    at = run(AppTest.from_file(str(ROOT / "dashboard" / "views" / "sla.py"), default_timeout=90))
    assert [h.value for h in at.header] == ["登录"] and not at.metric


def test_sign_out(site):
    db, users = site
    auth.add_user(users, "p", PW, "planner", make_scope("planner"))
    at = sign_in(run(AppTest.from_file(APP, default_timeout=90)), "p", PW)
    at.button(key="sign_out").click()
    at = run(at)
    assert at.header[0].value == "登录" and [i.value for i in at.info] == [WORDS["signed_out"][0]]
    assert audit.read(db)["kind"].to_list() == ["sign_in", "sign_out"]


def test_modes():
    assert mode(False, "127.0.0.1", False) == "open"
    assert mode(False, "0.0.0.0", False) == "refuse"
    assert mode(False, None, False) == "refuse"  # streamlit run's default: every interface
    assert mode(False, "0.0.0.0", True) == "open"
    assert mode(True, "0.0.0.0", False) == "password" and mode(True, "127.0.0.1", False) == "password"
    assert mode(False, None, False, served=False) == "open"  # AppTest: no server, no address


def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "aftersales.cli", *args], stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)


def test_no_users_file_refuses_another_address_unless_no_auth(site, tmp_path):
    db, users = site
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "aftersales.cli", "--db", str(db), "dashboard", "--host", "0.0.0.0",
                        "--port", "1"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2 and "refusing to serve on 0.0.0.0 without sign-in" in r.stderr
    assert "--no-auth" in r.stderr and "Traceback" not in r.stderr

    from aftersales.cli import build_parser
    from dashboard.cli import check_listen, command

    def args(*extra: str):
        return build_parser().parse_args(["--db", str(db), "dashboard", *extra])

    assert "this machine only" in check_listen(db, args())  # 127.0.0.1 by default: as before
    assert "--no-auth" in check_listen(db, args("--host", "0.0.0.0", "--no-auth"))
    assert command(args("--host", "0.0.0.0", "--no-auth"))[-1] == "--no-auth"  # the app is told too
    auth.add_user(users, "boss", PW, "head_office", make_scope("head_office"))
    assert "sign-in on: 1 active accounts" in check_listen(db, args("--host", "0.0.0.0"))


@pytest.mark.slow  # a real server start: about 12 s
def test_no_auth_really_serves_on_every_interface(site, tmp_path):
    db, _ = site
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _start(["--db", str(db), "dashboard", "--host", "0.0.0.0", "--port", str(port), "--no-auth", "--no-warm"],
                  env, tmp_path / "server.log")
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                    break
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.3)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the group this test started, by its id
        proc.wait(timeout=20)
    assert "sign-in off (--no-auth)" in (tmp_path / "server.log").read_text()


def test_a_broken_users_file_shows_what_is_wrong_and_nothing_else(site):
    _, users = site
    users.parent.mkdir(parents=True)
    users.write_text("{not json", encoding="utf-8")
    at = run(AppTest.from_file(APP, default_timeout=90))
    assert len(at.error) == 1 and "登录设置有误" in at.error[0].value and str(users) in at.error[0].value
    assert not at.metric and not at.header


def test_the_password_does_not_stay_in_the_session(site):
    _, users = site
    auth.add_user(users, "p", PW, "planner", make_scope("planner"))
    at = sign_in(run(AppTest.from_file(APP, default_timeout=90)), "p", "a wrong one 7")
    assert at.header[0].value == "登录"  # the form again: its fields were cleared on submit
    assert "a wrong one 7" not in repr({k: at.session_state[k] for k in at.session_state})
    at = sign_in(at, "p", PW)
    assert at.header[0].value == "总览"
    assert PW not in repr({k: at.session_state[k] for k in at.session_state})
