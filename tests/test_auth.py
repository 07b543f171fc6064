"""Local accounts (issue 17): the users file and its argon2 hashes, `aftersales users`, sign-in,
lock-out, sessions that end, the data scope's rules, and the audit trail. Real files, real argon2,
real DuckDB; the CLI through `aftersales.cli.main` and, for the password prompt's refusal, a real
subprocess."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from aftersales import audit, auth
from aftersales.cli import main
from aftersales.principal import DataScope, local_principal, make_scope

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
PW = "correct horse 1"


@pytest.fixture
def users(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "aftersales.users.json"
    monkeypatch.delenv(auth.USERS_ENV, raising=False)
    monkeypatch.delenv("AFTERSALES_CONFIG", raising=False)
    return path


def cli(tmp_path: Path, monkeypatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(["--db", str(tmp_path / "aftersales.duckdb"), *argv])


def test_users_cli_add_passwd_disable_list(users, tmp_path, monkeypatch, capsys):
    assert cli(tmp_path, monkeypatch, "users", "add", "wang", "--role", "regional_manager", "--region", "east",
               "--region", "north", "--name", "王经理", "--password-stdin", stdin=PW + "\n") == 0
    doc = json.loads(users.read_text(encoding="utf-8"))
    u = doc["users"]["wang"]
    # the default place: beside the database, readable by its owner only; argon2id, never the password
    assert users.stat().st_mode & 0o777 == 0o600
    assert u["hash"].startswith("$argon2id$") and PW not in users.read_text(encoding="utf-8")
    assert u["scope"] == {"regions": ["east", "north"], "outlets": [], "outlet_types": []}
    assert u["permissions"] == ["download", "forecasts"] and u["display_name"] == "王经理"
    assert auth.sign_in(users, "wang", PW).principal.scope.regions == ("east", "north")

    assert cli(tmp_path, monkeypatch, "users", "passwd", "wang", "--password-stdin", stdin="another pass 2\n") == 0
    with pytest.raises(auth.AuthError) as e:
        auth.sign_in(users, "wang", PW)
    assert e.value.reason == "bad_credentials"
    assert auth.sign_in(users, "wang", "another pass 2").principal.username == "wang"

    assert cli(tmp_path, monkeypatch, "users", "disable", "wang") == 0
    with pytest.raises(auth.AuthError) as e:
        auth.sign_in(users, "wang", "another pass 2")
    assert e.value.reason == "disabled"
    capsys.readouterr()
    assert cli(tmp_path, monkeypatch, "users", "list") == 0
    listing = capsys.readouterr().out
    assert "wang" in listing and "已停用" in listing and "区域经理" in listing and "regions=east,north" in listing
    assert listing.splitlines()[1].split() == ["用户", "角色", "状态", "数据范围", "权限"]  # zh: no English headers
    assert cli(tmp_path, monkeypatch, "users", "list", "--lang", "en") == 0
    listing = capsys.readouterr().out
    assert "disabled" in listing and "regional_manager" in listing and listing.splitlines()[1].split()[0] == "user"
    assert cli(tmp_path, monkeypatch, "users", "enable", "wang") == 0
    assert auth.sign_in(users, "wang", "another pass 2").principal.role == "regional_manager"


@pytest.mark.parametrize(("argv", "says"), [
    (["--role", "head_office", "--region", "east"], "sees the whole company"),
    (["--role", "regional_manager"], "--region"),
    (["--role", "outlet_manager"], "--outlet"),
    (["--role", "regional_manager", "--region", "atlantis"], "unknown region"),
])
def test_users_add_refuses_a_scope_that_does_not_fit_the_role(users, tmp_path, monkeypatch, capsys, argv, says):
    assert cli(tmp_path, monkeypatch, "users", "add", "x", *argv, "--password-stdin", stdin=PW + "\n") == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert not users.exists()


def test_users_add_refuses_short_passwords_duplicates_and_a_missing_terminal(users, tmp_path, monkeypatch, capsys):
    assert cli(tmp_path, monkeypatch, "users", "add", "a", "--role", "planner", "--password-stdin",
               stdin="short\n") == 2
    assert "at least 8" in capsys.readouterr().err
    assert cli(tmp_path, monkeypatch, "users", "add", "a", "--role", "planner", "--password-stdin", stdin=PW) == 0
    assert cli(tmp_path, monkeypatch, "users", "add", "a", "--role", "planner", "--password-stdin", stdin=PW) == 2
    assert "already exists" in capsys.readouterr().err
    # no prompt possible and no --password-stdin: a real process with stdin not a terminal
    r = subprocess.run([sys.executable, "-m", "aftersales.cli", "--db", str(tmp_path / "aftersales.duckdb"), "users",
                        "add", "b", "--role", "planner"], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                       timeout=60)
    assert r.returncode == 2 and "--password-stdin" in r.stderr and "Traceback" not in r.stderr


def test_the_users_file_stays_out_of_git(tmp_path, monkeypatch, capsys):
    repo = Path(__file__).resolve().parents[1]
    monkeypatch.setenv(auth.USERS_ENV, str(repo / "accounts.json"))  # inside the work tree, not ignored
    assert cli(tmp_path, monkeypatch, "users", "add", "a", "--role", "planner", "--password-stdin", stdin=PW) == 2
    assert "inside the git repository" in capsys.readouterr().err
    assert not (repo / "accounts.json").exists()


def test_a_damaged_users_file_is_said_not_guessed(users, tmp_path, monkeypatch, capsys):
    users.write_text('{"users": {"x": {"role": "king", "hash": "h"}}}', encoding="utf-8")
    assert cli(tmp_path, monkeypatch, "users", "list") == 2
    assert "account 'x' has no valid role" in capsys.readouterr().err
    users.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(auth.UserError, match="not an aftersales users file"):
        auth.sign_in(users, "x", PW)


def test_argon2_verify_and_wrong_password(users):
    auth.add_user(users, "li", PW, "analyst", DataScope())
    assert auth.sign_in(users, "li", PW).principal.permissions == frozenset({"download", "forecasts"})
    for wrong in (PW.upper(), PW + " ", ""):
        with pytest.raises(auth.AuthError) as e:
            auth.sign_in(users, "li", wrong)
        assert e.value.reason == "bad_credentials"
    with pytest.raises(auth.AuthError) as e:  # an unknown name gets the same answer
        auth.sign_in(users, "nobody", PW)
    assert e.value.reason == "bad_credentials"


def test_lockout_after_n_failures_for_m_minutes(users):
    policy = auth.Policy(max_failures=3, lockout=dt.timedelta(minutes=10))
    auth.add_user(users, "om", PW, "outlet_manager", make_scope("outlet_manager", outlets=["WD0001"]))
    for i in range(2):
        with pytest.raises(auth.AuthError) as e:
            auth.sign_in(users, "om", "wrong-pass", policy, now=T0 + dt.timedelta(seconds=i))
        assert e.value.reason == "bad_credentials" and not e.value.locked_now
    with pytest.raises(auth.AuthError) as e:  # the third locks
        auth.sign_in(users, "om", "wrong-pass", policy, now=T0 + dt.timedelta(seconds=2))
    assert e.value.reason == "locked" and e.value.locked_now
    with pytest.raises(auth.AuthError) as e:  # even the right password, while locked
        auth.sign_in(users, "om", PW, policy, now=T0 + dt.timedelta(minutes=9))
    assert e.value.reason == "locked" and not e.value.locked_now
    assert auth.sign_in(users, "om", PW, policy, now=T0 + dt.timedelta(minutes=10, seconds=3)).principal
    # a success resets the count: two more failures do not lock
    for i in range(2):
        with pytest.raises(auth.AuthError) as e:
            auth.sign_in(users, "om", "wrong-pass", policy, now=T0 + dt.timedelta(minutes=11, seconds=i))
        assert e.value.reason == "bad_credentials"


def test_sessions_expire_idle_and_end_when_the_account_changes(users):
    policy = auth.Policy(session=dt.timedelta(hours=8), idle=dt.timedelta(minutes=30))
    auth.add_user(users, "p", PW, "planner", DataScope(), now=T0 - dt.timedelta(days=1))
    s = auth.sign_in(users, "p", PW, policy, now=T0).session
    assert auth.resume(users, s, policy, T0 + dt.timedelta(minutes=29)).role == "planner"
    kept = s
    for minutes in range(25, 8 * 60, 25):  # used every 25 minutes: alive until the 8 hours are up
        kept = kept.touched(T0 + dt.timedelta(minutes=minutes))
    assert auth.resume(users, kept, policy, T0 + dt.timedelta(hours=7, minutes=59)).username == "p"
    for session, at, reason in [(kept, T0 + dt.timedelta(hours=8), "expired"),
                                (s, T0 + dt.timedelta(minutes=30), "idle")]:
        with pytest.raises(auth.AuthError) as e:
            auth.resume(users, session, policy, at)
        assert e.value.reason == reason
    auth.set_password(users, "p", "new password 3", now=T0 + dt.timedelta(minutes=1))
    with pytest.raises(auth.AuthError) as e:
        auth.resume(users, s, policy, T0 + dt.timedelta(minutes=2))
    assert e.value.reason == "revoked"
    s2 = auth.sign_in(users, "p", "new password 3", policy, now=T0 + dt.timedelta(minutes=3)).session
    auth.set_disabled(users, "p", True)
    with pytest.raises(auth.AuthError) as e:
        auth.resume(users, s2, policy, T0 + dt.timedelta(minutes=4))
    assert e.value.reason == "revoked"


def test_policy_from_config(tmp_path):
    p = auth.Policy.from_config({"auth": {"max_failures": 2, "lockout_minutes": 5, "session_hours": 1,
                                          "idle_minutes": 10}})
    assert (p.max_failures, p.lockout, p.session, p.idle) == (2, dt.timedelta(minutes=5), dt.timedelta(hours=1),
                                                             dt.timedelta(minutes=10))
    with pytest.raises(auth.UserError):
        auth.Policy.from_config({"auth": {"max_failures": 0}})
    db = tmp_path / "x.duckdb"
    assert auth.users_path(db, {}) == tmp_path / "x.users.json"
    assert auth.users_path(db, {"auth": {"users_file": "../acc.json"}}) == (tmp_path.parent / "acc.json").resolve()


def test_scope_rules():
    east = DataScope(regions=("east",))
    assert east.where() == (("region", ("east",)),)
    assert east.allows("east", "WD1", "own") and not east.allows("north", "WD1", "own")
    assert not east.allows(None, None, None)  # not dispatched yet: outside a region's scope
    assert east.narrow([("region", ("east", "north"))]) == (("region", ("east",)),)
    assert east.narrow([("region", ("north",))]) is None
    assert east.narrow([("channel", ("jd",))]) == (("channel", ("jd",)), ("region", ("east",)))
    assert DataScope().whole_company and DataScope().narrow([("region", ("north",))]) == (("region", ("north",)),)
    both = DataScope(regions=("east",), outlet_types=("outsourced",))
    assert both.allows("east", "x", "outsourced") and not both.allows("east", "x", "own")
    local = local_principal()
    assert local.scope.whole_company and not local.can("unmask") and local.can("download")
    with pytest.raises(ValueError):
        local.can("fly")


def test_audit_records_reads_and_exports(tmp_path):
    db = tmp_path / "aftersales.duckdb"
    assert audit.read(db).height == 0  # nothing stored yet: empty, not an error
    audit.record(db, "sign_in", "wang", role="regional_manager", method="password", client="10.0.0.5", now=T0)
    audit.record(db, "sign_in_failed", "=HYPERLINK(\"http://x\")", reason="bad_credentials",
                 now=T0 + dt.timedelta(minutes=1))
    audit.record(db, "locked_out", "om", reason="locked", now=T0 + dt.timedelta(minutes=2))
    assert audit.audit_path(db).exists() and not db.exists()  # its own file, not the database
    df = audit.read(db)
    assert df["kind"].to_list() == ["sign_in", "sign_in_failed", "locked_out"]
    assert audit.read(db, kinds=("sign_in_failed", "locked_out"))["username"].to_list()[1] == "om"
    assert audit.read(db, since=(T0 + dt.timedelta(minutes=1)).replace(tzinfo=None)).height == 2
    assert audit.read(db, username="wang")["client"].to_list() == ["10.0.0.5"]
    out = tmp_path / "audit.csv"
    assert audit.export(df, out) == 3
    text = out.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text  # formula-safe
    with pytest.raises(auth.UserError):
        audit.read(db, kinds=("nope",))


def test_audit_cli(tmp_path, monkeypatch, capsys):
    db = tmp_path / "aftersales.duckdb"
    audit.record(db, "sign_in", "wang", role="regional_manager", method="password", now=T0)
    audit.record(db, "sign_in_failed", "li", reason="bad_credentials", now=T0 + dt.timedelta(hours=1))
    assert cli(tmp_path, monkeypatch, "audit", "--kind", "sign_in_failed") == 0
    out = capsys.readouterr().out
    assert "li" in out and "wang" not in out and "登录失败" in out and "结果=用户名或密码错误" in out
    assert cli(tmp_path, monkeypatch, "audit", "--kind", "sign_in_failed", "--lang", "en") == 0
    assert "reason=bad_credentials" in capsys.readouterr().out
    assert cli(tmp_path, monkeypatch, "audit", "--out", str(tmp_path / "a.xlsx")) == 0
    assert (tmp_path / "a.xlsx").stat().st_size > 0
    assert cli(tmp_path, monkeypatch, "audit", "--since", "yesterday") == 2
    assert "not a date" in capsys.readouterr().err


def test_sso_claims_map_to_role_and_scope(tmp_path):
    from aftersales import sso

    assert sso.oidc_settings({}) is None  # not configured: no single sign-on
    with pytest.raises(auth.UserError, match="secrets_file"):
        sso.oidc_settings({"auth": {"oidc": {"role_claim": "groups"}}}, tmp_path / "x.duckdb")
    (tmp_path / "oidc.toml").write_text("[auth]\n", encoding="utf-8")
    oidc = sso.oidc_settings({"auth": {"oidc": {"secrets_file": "oidc.toml", "role_claim": "groups",
                                                "roles": {"area-east": "regional_manager", "hq": "head_office"}}}},
                             tmp_path / "x.duckdb")
    assert oidc["secrets_file"] == (tmp_path / "oidc.toml").resolve()
    p = sso.principal_from_claims({"sub": "u1", "preferred_username": "wang", "name": "王经理",
                                   "groups": ["staff", "area-east"], "aftersales_regions": "east,north"}, oidc)
    assert (p.username, p.display_name, p.role, p.scope.regions, p.method) == (
        "wang", "王经理", "regional_manager", ("east", "north"), "oidc")
    assert p.permissions == frozenset({"download", "forecasts"})
    assert sso.principal_from_claims({"sub": "u2", "groups": "hq"}, oidc).scope.whole_company
    # with a role map, a group outside it is not a role, even one spelled like ours
    for claims in ({"sub": "u3", "groups": ["staff"]}, {"sub": "u3", "groups": ["head_office"]},
                   {"sub": "u3", "groups": ["area-east"]},  # a regional manager without a region
                   {"sub": "u3", "groups": ["hq"], "aftersales_regions": ["east"]}):  # head office with a scope
        with pytest.raises(auth.AuthError) as e:
            sso.principal_from_claims(claims, oidc)
        assert e.value.reason == "no_role"
    plain = {**oidc, "roles": {}, "role_claim": "aftersales_role"}  # no map: the claim names our role
    assert sso.principal_from_claims({"sub": "u4", "aftersales_role": "planner"}, plain).role == "planner"


REG, OUT, TYP = ("east", "north", "south"), ("WD1", "WD2", "WD3", "WD4"), ("own", "outsourced")


def test_narrowed_filters_select_exactly_the_tickets_in_scope_and_filter():
    """For random scopes and user filters: the tickets that pass ``scope.narrow(filters)`` are
    exactly those inside the scope that pass the filters (none when narrow says nothing can)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    def subset(xs, min_size=0):
        return st.lists(st.sampled_from(xs), unique=True, min_size=min_size, max_size=len(xs)).map(tuple)

    tickets = [(r, o, t) for r in (*REG, None) for o in (*OUT, None) for t in (*TYP, None)]

    def passes(where, ticket) -> bool:
        values = dict(zip(("region", "outlet", "outlet_type"), ticket, strict=True))
        return all(values[dim] in codes for dim, codes in where)

    @settings(max_examples=200, deadline=None)
    @given(scope=st.builds(DataScope, subset(REG), subset(OUT), subset(TYP)),
           filters=st.fixed_dictionaries({}, optional={"region": subset(REG, 1), "outlet": subset(OUT, 1),
                                                       "outlet_type": subset(TYP, 1)}))
    def check(scope, filters):
        where = tuple(filters.items())
        narrowed = scope.narrow(where)
        want = {t for t in tickets if scope.allows(*t) and passes(where, t)}
        got = set() if narrowed is None else {t for t in tickets if passes(narrowed, t)}
        assert got == want
        assert all(scope.allows(*t) for t in got)

    check()


def test_users_add_asks_for_the_password_on_a_terminal_without_echo(users, tmp_path):
    """The prompt path, in a real pseudo-terminal: asked twice, not echoed, and it signs in."""
    import os
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: the command on the terminal's other end
        os.execve(sys.executable, [sys.executable, "-m", "aftersales.cli", "--db", str(tmp_path / "aftersales.duckdb"),
                                   "users", "add", "zhang", "--role", "head_office"],
                  {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    seen = b""

    def until(text: bytes) -> None:
        nonlocal seen
        while text not in seen:
            chunk = os.read(fd, 1024)
            assert chunk, seen
            seen += chunk

    until("密码: ".encode())  # the config's language: zh
    os.write(fd, b"typed on a tty 1\n")
    until("再次输入: ".encode())
    os.write(fd, b"typed on a tty 1\n")
    until("已添加 zhang".encode())
    assert os.waitpid(pid, 0)[1] == 0
    os.close(fd)
    assert b"typed on a tty" not in seen  # not echoed
    assert auth.sign_in(users, "zhang", "typed on a tty 1").principal.role == "head_office"
