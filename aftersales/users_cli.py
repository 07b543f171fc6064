"""`aftersales users add|passwd|disable|enable|list` and `aftersales audit` (docs/ACCESS.md).

A password is read from a prompt (twice) or, with ``--password-stdin``, from the first line of
standard input (for scripts): never from the command line, where `ps` and the shell's history
would show it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from pathlib import Path
from typing import Any

from aftersales.errors import UserError, clip


def register(sub: Any) -> None:
    p = sub.add_parser("users", help="dashboard accounts: add, change a password, disable, enable, list",
                       description="Accounts for the dashboard's sign-in, kept in the users file (docs/ACCESS.md).")
    s = p.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    from aftersales.principal import PERMISSIONS, ROLES

    a = s.add_parser("add", help="add an account with a role and its data scope")
    a.add_argument("username")
    a.add_argument("--role", required=True, choices=list(ROLES), help="what the account is for")
    a.add_argument("--name", help="the name shown in the dashboard (default: the user name)")
    a.add_argument("--region", action="append", default=[], metavar="CODE",
                   help="a region the account sees (east, north ...); repeat for several")
    a.add_argument("--outlet", action="append", default=[], metavar="ID", help="an outlet it sees; repeat for several")
    a.add_argument("--outlet-type", action="append", default=[], choices=["own", "outsourced"],
                   help="an outlet type it sees; repeat for both")
    a.add_argument("--grant", action="append", default=[], choices=list(PERMISSIONS),
                   help="a permission beyond the role's own (unmask: see personal data unmasked)")
    a.add_argument("--revoke", action="append", default=[], choices=list(PERMISSIONS),
                   help="a permission of the role the account does not get")
    _password_flag(a)
    _lang_flag(a)
    a.set_defaults(func=cmd_add)
    pw = s.add_parser("passwd", help="set an account's password (ends its sessions, lifts a lock-out)")
    pw.add_argument("username")
    _password_flag(pw)
    _lang_flag(pw)
    pw.set_defaults(func=cmd_passwd)
    d = s.add_parser("disable", help="stop an account signing in (its open sessions end)")
    d.add_argument("username")
    _lang_flag(d)
    d.set_defaults(func=cmd_disable)
    e = s.add_parser("enable", help="let a disabled or locked account sign in again")
    e.add_argument("username")
    _lang_flag(e)
    e.set_defaults(func=cmd_enable)
    ls = s.add_parser("list", help="the accounts: role, scope, permissions, state")
    _lang_flag(ls)
    ls.set_defaults(func=cmd_list)

    au = sub.add_parser("audit", help="sign-ins, failed sign-ins, lock-outs, ended sessions, downloads and report sends "
                                      "(newest last)",
                        description="The audit trail kept beside the database (docs/ACCESS.md).")
    au.add_argument("--since", metavar="YYYY-MM-DD[THH:MM]", help="from this time (UTC)")
    au.add_argument("--until", metavar="YYYY-MM-DD[THH:MM]", help="up to this time (UTC, exclusive)")
    au.add_argument("--kind", action="append", default=[],
                    help="only these kinds (sign_in, sign_in_failed, locked_out, sign_out, session_ended, download, "
                         "report_send)")
    au.add_argument("--user", help="only this user name")
    au.add_argument("--out", metavar="FILE", help="write the events to a .csv or .xlsx file instead of printing them")
    _lang_flag(au)
    au.set_defaults(func=cmd_audit)


def _lang_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=("zh", "en"), help="language of the output (default: config `language`, zh)")


def _lang(args: argparse.Namespace) -> str:
    from aftersales.config import load_config, resolve_db_path

    if getattr(args, "lang", None):
        return args.lang
    try:
        lang = load_config(args.config, resolve_db_path(args.db)).get("language")
    except FileNotFoundError:
        lang = None
    return lang if lang in ("zh", "en") else "zh"


# key -> (中文, English): what `users list` and `audit` print
WORDS = {
    "no_accounts": ("{path} 中没有账号(登录未启用):用 `aftersales users add NAME --role head_office` 添加第一个账号",
                    "no accounts in {path} (sign-in is off): add one with `aftersales users add NAME --role head_office`"),
    "n_accounts": ("{path} 中共 {n} 个账号", "{n} accounts in {path}"),
    "header": (("用户", "角色", "状态", "数据范围", "权限"), ("user", "role", "state", "scope", "permissions")),
    "disabled": ("已停用", "disabled"), "locked": ("锁定至 {t} UTC", "locked to {t} UTC"), "active": ("正常", "active"),
    "whole_company": ("全公司", "whole company"),
    "no_events": ("{path} 中没有审计记录", "no audit events in {path}"),
    "written": ("已写出 {n} 条审计记录到 {out}", "{n} audit events written to {out}"),
    "added": ("已添加 {name}({role};{scope};权限 {perms})到 {path}", "added {name} ({role}; {scope}; {perms}) to {path}"),
    "passwd": ("{name} 的密码已更改;其已打开的会话在下次操作时结束",
               "password of {name} changed; its open sessions end at their next use"),
    "disabled_now": ("{name} 已停用:不能登录,已打开的会话在下次操作时结束",
                     "{name} disabled: it cannot sign in, and its open sessions end at their next use"),
    "enabled_now": ("{name} 已启用(并解除锁定)", "{name} enabled (and unlocked)"),
    "prompt": ("密码: ", "password: "), "again": ("再次输入: ", "again: "),
}


def _w(key: str, lang: str, **kw: object) -> Any:
    pair = WORDS[key]
    text = pair[0] if lang == "zh" else pair[1]
    return text.format(**kw) if isinstance(text, str) else text


def _password_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input instead of a prompt")


def _setup(args: argparse.Namespace) -> tuple[Path, Path]:
    """(database, users file), with the config's code lists in force."""
    from aftersales.auth import users_path
    from aftersales.config import load_config, resolve_db_path

    db = resolve_db_path(args.db)
    try:
        conf = load_config(args.config, db)
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None
    return db, users_path(db, conf)


def read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UserError("--password-stdin: standard input was empty; pipe the password in (one line)")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UserError("no terminal to ask the password on: pipe it in with --password-stdin")
    lang = _lang(args)
    first = getpass.getpass(_w("prompt", lang))
    if getpass.getpass(_w("again", lang)) != first:
        raise UserError("the two passwords differ; nothing was changed")
    return first


def cmd_add(args: argparse.Namespace) -> int:
    from aftersales import auth

    _, path = _setup(args)
    auth.check_outside_repo(path)
    scope = auth.make_scope(args.role, args.region, args.outlet, args.outlet_type)
    auth.permissions_for(args.role, args.grant, args.revoke)  # a mistake is said before the prompt
    _check_exists(path, args.username, want=False)
    password = read_password(args)
    u = auth.add_user(path, args.username, password, args.role, scope, display_name=args.name, grant=args.grant,
                      revoke=args.revoke)
    from aftersales.principal import ROLES

    lang = _lang(args)
    role = ROLES[args.role].zh if lang == "zh" else args.role
    print(_w("added", lang, name=args.username, role=role, scope=_scope_text(u["scope"], lang),
             perms=", ".join(u["permissions"]) or "-", path=path))
    return 0


def _check_exists(path: Path, username: str, want: bool) -> None:
    """Say that an account exists (or not) before asking for a password, not after."""
    from aftersales import auth

    exists = username.strip() in auth.read_users(path)
    if exists and not want:
        raise UserError(f"user {clip(username)} already exists in {clip(path)}; change its password with "
                        f"`aftersales users passwd {clip(username)}`")
    if want and not exists:
        raise UserError(f"no user {clip(username)!r} in {clip(path)}; see `aftersales users list`")


def cmd_passwd(args: argparse.Namespace) -> int:
    from aftersales import auth

    _, path = _setup(args)
    _check_exists(path, args.username, want=True)
    password = read_password(args)
    auth.set_password(path, args.username, password)
    print(_w("passwd", _lang(args), name=args.username))
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    from aftersales import auth

    _, path = _setup(args)
    auth.set_disabled(path, args.username, True)
    print(_w("disabled_now", _lang(args), name=args.username))
    return 0


def cmd_enable(args: argparse.Namespace) -> int:
    from aftersales import auth

    _, path = _setup(args)
    auth.set_disabled(path, args.username, False)
    print(_w("enabled_now", _lang(args), name=args.username))
    return 0


def _scope_text(scope: dict[str, list[str]], lang: str = "en") -> str:
    parts = [f"{k}={','.join(v)}" for k, v in scope.items() if v]
    return " ".join(parts) if parts else _w("whole_company", lang)


def cmd_list(args: argparse.Namespace) -> int:
    from aftersales import auth
    from aftersales.principal import ROLES

    _, path = _setup(args)
    lang = _lang(args)
    users = auth.read_users(path)
    if not users:
        print(_w("no_accounts", lang, path=path))
        return 0
    now = dt.datetime.now(dt.UTC)
    print(_w("n_accounts", lang, n=len(users), path=path))
    rows = []
    for name in sorted(users):
        u = users[name]
        locked = u.get("locked_until") and dt.datetime.fromisoformat(u["locked_until"]) > now
        state = (_w("disabled", lang) if u.get("disabled") else _w("locked", lang, t=u["locked_until"][11:16]) if locked
                 else _w("active", lang))
        role = ROLES[u["role"]].zh if lang == "zh" and u.get("role") in ROLES else u.get("role", "?")
        rows.append((clip(name, 16), role, state, clip(_scope_text(u.get("scope") or {}, lang), 30),
                     ",".join(u.get("permissions") or []) or "-"))
    _table(_w("header", lang), rows)
    return 0


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Columns padded to the terminal's width of their text (a Chinese character takes two)."""
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)

    widths = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(headers)]
    for line in (headers, *rows):
        print("  ".join(c + " " * (w - width(c)) for c, w in zip(line, widths, strict=True)).rstrip())


def _when(text: str | None, flag: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"{flag} {clip(text)} is not a date or time; write e.g. 2026-12-01 or 2026-12-01T09:00") from None


def cmd_audit(args: argparse.Namespace) -> int:
    from aftersales import audit

    db, _ = _setup(args)
    lang = _lang(args)
    df = audit.read(db, _when(args.since, "--since"), _when(args.until, "--until"), tuple(args.kind), args.user)
    if args.out:
        n = audit.export(df, Path(args.out))
        print(_w("written", lang, n=n, out=args.out))
        return 0
    if df.height == 0:
        print(_w("no_events", lang, path=audit.audit_path(db)))
        return 0
    zh = lang == "zh"
    names = {"role": ("角色", "role"), "method": ("方式", "method"), "reason": ("结果", "reason"),
             "client": ("来源", "client")}
    words = {"method": audit.METHOD_WORDS, "reason": audit.REASON_WORDS}
    for r in df.iter_rows(named=True):
        # the kind's code stays first (what --kind filters by), its words follow in Chinese
        kind = f"{r['kind']} {audit.KIND_WORDS[r['kind']][0]}" if zh and r["kind"] in audit.KIND_WORDS else r["kind"]
        extra = " ".join(
            f"{names[k][0 if zh else 1]}={words[k][r[k]][0] if zh and k in words and r[k] in words[k] else r[k]}"
            for k in names if r[k])
        what = audit.describe(r["kind"], r["detail"], lang)
        bits = [what[0]] + ([f"{'行数' if zh else 'rows'}={what[1]}"] if what[1] is not None else []) + (
            [f"{'收件人' if zh else 'recipients'}={what[2]}"] if what[2] is not None else [])
        detail = " · ".join(b for b in bits if b)
        print(f"{r['at_utc']:%Y-%m-%d %H:%M:%S} UTC  {kind:20} {clip(r['username'] or '-', 24):24} {extra}"
              + (f"  {detail}" if detail else ""))
    return 0
