"""`aftersales alerts check|list|due`: for cron and systemd timers (docs/ALERTS.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from aftersales.errors import UserError, clip


def register(sub: Any) -> None:
    p = sub.add_parser("alerts", help="alert rules: check and send, list what is firing, tickets about to breach",
                       description="Alert rules from the config's [alerts] section (docs/ALERTS.md).")
    s = p.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    c = s.add_parser("check", help="judge every rule, send what starts, worsens, repeats or ends; store it all")
    c.add_argument("--dry-run", action="store_true", help="judge and print what would be sent; send and store nothing")
    c.add_argument("--now", metavar="YYYY-MM-DDTHH:MM", help="the wall-clock time to judge at (default: now)")
    c.set_defaults(func=cmd_check)
    ls = s.add_parser("list", help="what is firing now (--all: every rule's last values)")
    ls.add_argument("--all", action="store_true", help="every rule and key with its last value, firing or not")
    ls.set_defaults(func=cmd_list)
    d = s.add_parser("due", help="tickets about to breach (即将超时), breached, stale, by outlet")
    d.add_argument("--tickets", action="store_true", help="one line per ticket and stage, not per outlet")
    d.set_defaults(func=cmd_due)


def _setup(args: argparse.Namespace) -> tuple[Any, dict]:
    from aftersales.config import load_config, resolve_db_path

    db = resolve_db_path(args.db)
    try:
        config = load_config(args.config, db)
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None
    return db, config


def cmd_check(args: argparse.Namespace) -> int:
    from alerts import check

    db, config = _setup(args)
    now = None
    if args.now:
        try:
            now = dt.datetime.fromisoformat(args.now)
        except ValueError:
            raise UserError(f"--now {clip(args.now)} is not a time; write e.g. 2026-11-02T09:00") from None
    result = check.run(db, config, now=now, dry_run=args.dry_run)
    judged = sum(o.judged for o in result.observations)
    firing = sum(o.firing for o in result.observations)
    verb = "would send" if args.dry_run else "sent"
    print(f"{len(result.observations)} values judged by the rules ({judged} judged, "
          f"{len(result.observations) - judged} silent), {firing} firing; {len(result.events)} events {verb}")
    for e in result.events:
        sends = ", ".join(f"{d.target}: {d.status}" for d in e.sends)
        print(f"- {e.kind:7} {e.title}" + (f"  [{sends}]" if sends else ""))
    failed = result.failed
    if failed:
        detail = "; ".join(f"{d.target} ({e.rule_id}): {d.error}" for e, d in failed[:3])
        raise UserError(f"{len(failed)} send(s) failed after {failed[0][1].attempts} attempts, recorded in the "
                        f"alert log; {detail}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from alerts import state

    db, _ = _setup(args)
    rows = state.read(db, "SELECT rule_id, key, firing, judged, value, compared, compared_kind, sample, period, "
                          "started_at, last_sent_at, checked_at, note FROM alert_state "
                          + ("" if args.all else "WHERE firing ") + "ORDER BY rule_id, key")
    if not rows:
        print("nothing firing" if not args.all else "no check has run yet: run `aftersales alerts check`")
        return 0
    print("rule\tkey\tfiring\tjudged\tvalue\tcompared\tsample\tperiod\tsince\tlast_sent\tchecked\tnote")
    for r in rows:
        rule, key, firing, judged, value, compared, ck, sample, period, started, sent, checked, note = r
        print("\t".join(str(x) if x is not None else "" for x in (
            rule, key or "-", "yes" if firing else "no", "yes" if judged else "no",
            None if value is None else round(value, 4), None if compared is None else f"{ck} {round(compared, 4)}",
            sample, period, started, sent, checked, note)))
    return 0


def cmd_due(args: argparse.Namespace) -> int:
    from alerts import due

    db, config = _setup(args)
    rows, now = due.work_list(db, config)
    if now is None or rows.is_empty():
        print("no open ticket is due soon or overdue")
        return 0
    print(f"as of {now:%Y-%m-%d %H:%M} (the data's latest ticket)")
    if args.tickets:
        for r in rows.iter_rows(named=True):
            late = (f"{r['overdue_days']} days overdue" if r["overdue_days"] is not None
                    else f"{-r['hours_left']:.1f} h overdue" if r["hours_left"] <= 0 else f"due in {r['hours_left']:.1f} h")
            print(f"{r['category']}\t{r['outlet_id'] or '-'}\t{r['technician_id'] or '-'}\t{r['ticket_id']}\t"
                  f"{r['stage']}\t{late}")
        return 0
    print("outlet\tname\tdue_soon\tbreached\tstale\ttechnicians")
    for r in due.by_outlet(rows).iter_rows(named=True):
        print(f"{r['outlet_id'] or '-'}\t{r['outlet_name'] or ''}\t{r['due_soon']}\t{r['breached']}\t{r['stale']}\t"
              f"{r['technicians'] or '-'}")
    sys.stdout.flush()
    return 0
