"""`aftersales dashboard`: serve the Streamlit dashboard over the current database."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from aftersales.config import resolve_db_path
from aftersales.db import DatabaseMissing
from aftersales.errors import UserError

APP = Path(__file__).with_name("app.py")


def command(args: argparse.Namespace) -> list[str]:
    """The ``streamlit run`` command line for ``args`` (db and config passed through after ``--``),
    run through ``dashboard.serve`` (imports and the cache warmer before the first visit)."""
    db = resolve_db_path(args.db)
    cmd = [sys.executable, "-m", "dashboard.serve", "run", str(APP), "--server.headless", "true",
           "--server.port", str(args.port), "--server.address", args.host, "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none",
           # a manager's view: no Deploy button, no developer menu (rerun, settings, clear cache)
           "--client.toolbarMode", "viewer"]
    oidc = _oidc(db, args)
    if oidc is not None:  # single sign-on: Streamlit reads the provider's settings from its secrets
        cmd += ["--secrets.files", str(oidc["secrets_file"])]
    cmd += ["--", "--db", str(db)]
    if not args.no_warm:
        cmd.append("--warm")
    if getattr(args, "no_auth", False):
        cmd.append("--no-auth")
    if args.config:
        cmd += ["--config", str(Path(args.config).expanduser().resolve())]
    return cmd


def cmd_dashboard(args: argparse.Namespace) -> int:
    db = resolve_db_path(args.db)
    if not db.exists():
        raise DatabaseMissing(f"database {db} does not exist yet: run `aftersales load PATH` (or "
                              "`bash scripts/quickstart.sh`) first, or pass --db")
    signin = check_listen(db, args)
    print(f"aftersales dashboard: serving {db} at http://{args.host}:{args.port}/ ({signin}; Ctrl+C to stop)",
          flush=True)
    cmd = command(args)
    # Become the Streamlit server (no child left behind when this process is stopped or killed).
    os.execv(cmd[0], cmd)
    return 0  # not reached


def _oidc(db: Path, args: argparse.Namespace) -> dict | None:
    from aftersales import sso
    from aftersales.config import load_config

    try:
        return sso.oidc_settings(load_config(args.config, db), db)
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None


def check_listen(db: Path, args: argparse.Namespace) -> str:
    """Whether sign-in is on, as said at start; refuses (UserError) to serve without sign-in on
    another address than this machine's unless ``--no-auth`` says so explicitly (issue 17)."""
    from aftersales import auth
    from aftersales.config import load_config

    try:
        conf = load_config(args.config, db)
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None
    users = auth.users_path(db, conf)
    if getattr(args, "no_auth", False):
        return "sign-in off (--no-auth): anyone who reaches this address sees every region and outlet"
    oidc = _oidc(db, args)
    if users.exists() or oidc is not None:
        auth.Policy.from_config(conf)  # a mistake in [auth] is said now, not at the first sign-in
        said = [f"{auth.enabled_count(users)} active accounts in {users}"] if users.exists() else []
        if oidc is not None:
            said.append(f"single sign-on with {oidc['secrets_file']}")
        return "sign-in on: " + ", ".join(said)
    if not auth.is_loopback(args.host):
        raise UserError(f"refusing to serve on {args.host} without sign-in: anyone on the network would see every "
                        f"region and outlet. Add an account with `aftersales users add NAME --role head_office` "
                        f"(kept in {users}), or pass --no-auth to serve without sign-in anyway")
    return "sign-in off: this machine only"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="serve the dashboard in the browser (Streamlit) over the database")
    p.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--no-warm", action="store_true",
                   help="do not compute the default views in the background after start and after each load")
    p.add_argument("--no-auth", action="store_true",
                   help="serve without sign-in even on another address than 127.0.0.1, or with a users file")
    p.set_defaults(func=cmd_dashboard)
