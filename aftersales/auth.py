"""Local accounts: who may sign in, with which role, data scope and permissions.

Accounts live in a users file outside the repository (JSON, by default beside the database:
``aftersales.users.json`` beside ``aftersales.duckdb``; ``AFTERSALES_USERS`` or the config's
``[auth] users_file`` name another), readable by its owner only. Passwords are kept as argon2id
hashes (argon2-cffi, the reference implementation's bindings); a password never appears on a
command line.

Sign-in (``sign_in``) counts failures per account in the users file: ``max_failures`` failures in
a row lock the account for ``lockout_minutes``. A signed-in session (``Session``) lasts at most
``session_hours`` and ends after ``idle_minutes`` without use; a password change or a disabled
account ends every session of that account at its next use (``resume``).

The data scope (``DataScope``) and permissions travel in a ``Principal``: the dashboard puts the
signed-in user's principal where every page can read it (``dashboard.state.principal``); the
read functions that must honour it take it from there.

Nothing here imports streamlit: the CLI, the dashboard and the tests share these rules.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import ipaddress
import json
import os
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from aftersales.errors import UserError, clip
from aftersales.principal import PERMISSIONS, ROLES, DataScope, Principal, make_scope  # noqa: F401 - one import for callers

USERS_ENV = "AFTERSALES_USERS"
FILE_VERSION = 1
MIN_PASSWORD = 8

# [auth] in the config; these are the defaults.
DEFAULTS: dict[str, Any] = {
    "users_file": None,       # default: <database stem>.users.json beside the database
    "max_failures": 5,        # failed sign-ins in a row that lock an account
    "lockout_minutes": 15,
    "session_hours": 8.0,     # a session's whole life
    "idle_minutes": 60.0,     # a session unused this long ends
}

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against for a user name that does not exist, so that a wrong name takes as long as a
# wrong password and does not tell which names exist.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class AuthError(UserError):
    """A sign-in refused; ``reason``: bad_credentials | locked | disabled | expired | idle | revoked."""

    def __init__(self, reason: str, message: str, until: dt.datetime | None = None):
        super().__init__(message)
        self.reason = reason
        self.until = until
        self.locked_now = False


@dataclass(frozen=True)
class Policy:
    max_failures: int = DEFAULTS["max_failures"]
    lockout: dt.timedelta = dt.timedelta(minutes=DEFAULTS["lockout_minutes"])
    session: dt.timedelta = dt.timedelta(hours=DEFAULTS["session_hours"])
    idle: dt.timedelta = dt.timedelta(minutes=DEFAULTS["idle_minutes"])

    @classmethod
    def from_config(cls, conf: dict[str, Any] | None) -> Policy:
        a = auth_settings(conf)
        try:
            p = cls(int(a["max_failures"]), dt.timedelta(minutes=float(a["lockout_minutes"])),
                    dt.timedelta(hours=float(a["session_hours"])), dt.timedelta(minutes=float(a["idle_minutes"])))
        except (TypeError, ValueError):
            raise UserError("config [auth]: max_failures, lockout_minutes, session_hours and idle_minutes must be "
                            "numbers") from None
        if p.max_failures < 1 or min(p.lockout, p.session, p.idle) <= dt.timedelta(0):
            raise UserError("config [auth]: max_failures must be at least 1, and the lock-out and session lengths "
                            "greater than 0")
        return p


def auth_settings(conf: dict[str, Any] | None) -> dict[str, Any]:
    section = (conf or {}).get("auth") or {}
    if not isinstance(section, dict):
        raise UserError("config: [auth] must be a table (users_file, max_failures, lockout_minutes, session_hours, "
                        "idle_minutes)")
    return {**DEFAULTS, **section}


def users_path(db_path: Path, conf: dict[str, Any] | None = None) -> Path:
    """The users file: ``AFTERSALES_USERS``, else the config's ``[auth] users_file`` (relative to
    the database's folder), else ``<database stem>.users.json`` beside the database."""
    env = os.environ.get(USERS_ENV)
    if env:
        return Path(env).expanduser().resolve()
    named = auth_settings(conf).get("users_file")
    db_path = Path(db_path)
    if named:
        p = Path(str(named)).expanduser()
        return (p if p.is_absolute() else db_path.parent / p).resolve()
    return db_path.with_name(f"{db_path.stem}.users.json")


def is_loopback(address: str | None) -> bool:
    """127.0.0.1, ::1, localhost: this machine only. None or "" (all interfaces) is not."""
    if not address:
        return False
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


# -- the users file -----------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(t: dt.datetime | None) -> str | None:
    return t.astimezone(dt.UTC).isoformat() if t else None


def _time(s: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(s) if s else None


def read_users(path: Path) -> dict[str, dict[str, Any]]:
    """The accounts in the users file, by user name; {} when the file does not exist."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        doc = json.loads(text)
        users = doc["users"]
        if not isinstance(users, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise UserError(f"users file {clip(path)} is not an aftersales users file (JSON with \"users\"); restore it "
                        f"from a backup, or move it away and add the accounts again with `aftersales users add`") from None
    for name, u in users.items():
        if not isinstance(u, dict) or u.get("role") not in ROLES or not isinstance(u.get("hash"), str):
            raise UserError(f"users file {clip(path)}: account {clip(name)!r} has no valid role or password hash; "
                            f"fix it, or disable it and add it again with `aftersales users add`")
    return users


def enabled_count(path: Path) -> int:
    return sum(1 for u in read_users(path).values() if not u.get("disabled"))


@contextlib.contextmanager
def editing(path: Path) -> Iterator[dict[str, dict[str, Any]]]:
    """The accounts, to change in place; written back atomically (owner-only) when the block
    ends cleanly. Edits queue on a lock file, so a sign-in counting a failure and a `users
    passwd` never lose each other's change."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        users = read_users(path)
        yield users
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"version": FILE_VERSION, "users": users}, fh, ensure_ascii=False, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)


def check_outside_repo(path: Path) -> None:
    """Refuse a users file that git would pick up: hashes must not travel with the code."""
    path = Path(path).resolve()
    top = next((p for p in path.parents if (p / ".git").exists()), None)
    if top is None:
        return
    try:
        ignored = subprocess.run(["git", "-C", str(top), "check-ignore", "-q", str(path)],
                                 capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return  # no git here to pick it up either
    if not ignored:
        raise UserError(f"users file {clip(path)} would be inside the git repository {clip(top)}: set "
                        f"{USERS_ENV} (or [auth] users_file in the config) to a path outside it, or beside the "
                        "database in data/")


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password too short: use at least {MIN_PASSWORD} characters")
    if password != password.strip() or "\n" in password:
        raise UserError("password must not begin or end with spaces or contain a line break")
    return password


def check_username(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise UserError(f"user name {clip(name)!r} must be 1-64 letters, digits or . _ - @")
    return name


def add_user(path: Path, username: str, password: str, role: str, scope: DataScope, *,
             display_name: str | None = None, grant: Iterable[str] = (), revoke: Iterable[str] = (),
             now: dt.datetime | None = None) -> dict[str, Any]:
    username = check_username(username)
    perms = permissions_for(role, grant, revoke)
    check_password(password)
    now = now or _now()
    with editing(path) as users:
        if username in users:
            raise UserError(f"user {username} already exists in {clip(Path(path))}: change the password with "
                            f"`aftersales users passwd {username}`")
        users[username] = {
            "display_name": display_name or username, "role": role, "scope": scope.as_dict(),
            "permissions": sorted(perms), "hash": _hasher.hash(password), "disabled": False,
            "failures": 0, "locked_until": None, "created_at": _iso(now), "password_changed_at": _iso(now),
        }
        return dict(users[username])


def permissions_for(role: str, grant: Iterable[str] = (), revoke: Iterable[str] = ()) -> frozenset[str]:
    if role not in ROLES:
        raise UserError(f"unknown role {clip(role)!r}; valid: {', '.join(ROLES)}")
    for p in (*grant, *revoke):
        if p not in PERMISSIONS:
            raise UserError(f"unknown permission {clip(p)!r}; valid: {', '.join(PERMISSIONS)}")
    return (ROLES[role].permissions | set(grant)) - set(revoke)


def _account(users: dict[str, dict[str, Any]], username: str, path: Path) -> dict[str, Any]:
    if username not in users:
        raise UserError(f"no user {clip(username)!r} in {clip(Path(path))}; see `aftersales users list`")
    return users[username]


def set_password(path: Path, username: str, password: str, now: dt.datetime | None = None) -> None:
    """A new password; the account's open sessions end, and a lock-out is lifted."""
    check_password(password)
    with editing(path) as users:
        u = _account(users, username, path)
        u.update(hash=_hasher.hash(password), password_changed_at=_iso(now or _now()), failures=0, locked_until=None)


def set_disabled(path: Path, username: str, disabled: bool) -> None:
    """Disable (its sessions end at their next use) or enable (also lifting a lock-out)."""
    with editing(path) as users:
        u = _account(users, username, path)
        u["disabled"] = disabled
        if not disabled:
            u.update(failures=0, locked_until=None)


def principal_of(username: str, u: dict[str, Any], method: str = "password") -> Principal:
    s = u.get("scope") or {}
    return Principal(username, u.get("display_name") or username, u["role"],
                     DataScope(tuple(s.get("regions") or ()), tuple(s.get("outlets") or ()),
                               tuple(s.get("outlet_types") or ())),
                     frozenset(u.get("permissions") or ()), method)


# -- signing in and sessions --------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """A signed-in session: kept by the dashboard for one browser tab."""

    username: str
    issued_at: dt.datetime
    last_seen: dt.datetime
    stamp: str | None  # the account's password_changed_at when signed in

    def touched(self, now: dt.datetime) -> Session:
        return Session(self.username, self.issued_at, now, self.stamp)


@dataclass(frozen=True)
class Attempt:
    """A sign-in that succeeded."""

    principal: Principal
    session: Session


def sign_in(path: Path, username: str, password: str, policy: Policy = Policy(),
            now: dt.datetime | None = None) -> Attempt:
    """Check a user name and password. Raises AuthError (bad_credentials, locked, disabled; its
    ``locked_now`` says this very failure locked the account); a wrong password counts towards
    the lock-out, a right one resets the count."""
    now = now or _now()
    username = username.strip()
    refusal: AuthError | None = None
    with editing(path) as users:
        u = users.get(username)
        if u is None:
            with contextlib.suppress(VerificationError, InvalidHashError):
                _hasher.verify(_DUMMY_HASH, password)
            refusal = AuthError("bad_credentials", "wrong user name or password")
        elif (until := _time(u.get("locked_until"))) and now < until:
            refusal = AuthError("locked", f"account {username} is locked until {_iso(until)} after repeated "
                                "failed sign-ins", until)
        elif not _verify(u.get("hash"), password):
            u["failures"] = int(u.get("failures") or 0) + 1
            if u["failures"] >= policy.max_failures:  # the count is kept (the file is written), then refused
                u.update(failures=0, locked_until=_iso(now + policy.lockout))
                refusal = AuthError("locked", f"account {username} locked for {_minutes(policy.lockout)} minutes "
                                    f"after {policy.max_failures} failed sign-ins", now + policy.lockout)
                refusal.locked_now = True
            else:
                refusal = AuthError("bad_credentials", "wrong user name or password")
        elif u.get("disabled"):
            refusal = AuthError("disabled", f"account {username} is disabled; ask head office to enable it")
        else:
            if _hasher.check_needs_rehash(u["hash"]):
                u["hash"] = _hasher.hash(password)
            u.update(failures=0, locked_until=None, last_sign_in=_iso(now))
            principal, stamp = principal_of(username, u), u.get("password_changed_at")
    if refusal is not None:
        raise refusal
    return Attempt(principal, Session(username, now, now, stamp))


def _minutes(d: dt.timedelta) -> str:
    return f"{d.total_seconds() / 60:g}"


def _verify(hashed: str | None, password: str) -> bool:
    try:
        return bool(hashed) and _hasher.verify(hashed, password)
    except (VerifyMismatchError, InvalidHashError, VerificationError):
        return False


def resume(path: Path, session: Session, policy: Policy = Policy(), now: dt.datetime | None = None) -> Principal:
    """The principal of a session still valid now, read afresh from the users file (a role or
    scope changed since sign-in applies at once). Raises AuthError: expired (older than
    ``session_hours``), idle (unused for ``idle_minutes``), revoked (the account is gone,
    disabled, or its password changed since)."""
    now = now or _now()
    if now - session.issued_at >= policy.session:
        raise AuthError("expired", "session expired: sign in again")
    if now - session.last_seen >= policy.idle:
        raise AuthError("idle", "session ended after a time without use: sign in again")
    u = read_users(path).get(session.username)
    if u is None or u.get("disabled") or u.get("password_changed_at") != session.stamp:
        raise AuthError("revoked", "session ended: the account was changed or disabled; sign in again")
    return principal_of(session.username, u)

