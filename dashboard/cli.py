"""`aftersales dashboard`: serve the Streamlit dashboard over the current database."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from aftersales.config import resolve_db_path
from aftersales.db import DatabaseMissing

APP = Path(__file__).with_name("app.py")


def command(args: argparse.Namespace) -> list[str]:
    """The ``streamlit run`` command line for ``args`` (db and config passed through after ``--``),
    run through ``dashboard.serve`` (imports and the cache warmer before the first visit)."""
    db = resolve_db_path(args.db)
    cmd = [sys.executable, "-m", "dashboard.serve", "run", str(APP), "--server.headless", "true",
           "--server.port", str(args.port), "--server.address", args.host, "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none",
           # a manager's view: no Deploy button, no developer menu (rerun, settings, clear cache)
           "--client.toolbarMode", "viewer", "--", "--db", str(db)]
    if not args.no_warm:
        cmd.append("--warm")
    if args.config:
        cmd += ["--config", str(Path(args.config).expanduser().resolve())]
    return cmd


def cmd_dashboard(args: argparse.Namespace) -> int:
    db = resolve_db_path(args.db)
    if not db.exists():
        raise DatabaseMissing(f"database {db} does not exist yet: run `aftersales load PATH` (or "
                              "`bash scripts/quickstart.sh`) first, or pass --db")
    print(f"aftersales dashboard: serving {db} at http://{args.host}:{args.port}/ (Ctrl+C to stop)", flush=True)
    cmd = command(args)
    # Become the Streamlit server (no child left behind when this process is stopped or killed).
    os.execv(cmd[0], cmd)
    return 0  # not reached


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="serve the dashboard in the browser (Streamlit) over the database")
    p.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--no-warm", action="store_true",
                   help="do not compute the default views in the background after start and after each load")
    p.set_defaults(func=cmd_dashboard)
