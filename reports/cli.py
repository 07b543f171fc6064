"""`aftersales report`: the scheduled KPI report pack (HTML, XLSX, PDF, CSV)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any, NoReturn

from aftersales.errors import UserError

HELP_PERIOD = ("last-week | last-month | YYYY-MM | YYYY-Www | FROM:TO (dates, inclusive). last-week/last-month "
               "are the last complete ISO week / month before --as-of")


def _one_line_error(parser: argparse.ArgumentParser) -> None:
    def error(message: str) -> NoReturn:
        print(f"aftersales report: error: {message} (see `aftersales report --help`)", file=sys.stderr)
        sys.exit(2)

    parser.error = error  # type: ignore[method-assign]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report", help="KPI report pack for a period: HTML, XLSX, PDF, CSV",
        description="Write the KPI report for a period as HTML (self-contained), XLSX, PDF (via Chromium) and CSV. "
                    "File names carry the period; files are replaced atomically; re-runs on the same data give the "
                    "same files.")
    p.add_argument("--period", required=True, help=HELP_PERIOD)
    p.add_argument("--by", action="append", metavar="DIM",
                   help="breakdown(s), comma-separated or repeated (default: region,outlet_type,service_type,channel)")
    p.add_argument("--where", action="append", metavar="DIM=VALUE", default=[],
                   help="filter, repeatable; several values: DIM=A,B (codes, or Chinese labels such as region=华东)")
    p.add_argument("--scope", action="append", metavar="DIM=VALUE", default=[],
                   help="a scoped pack, repeatable: region=east, outlet=WD0031, outlet_type=outsourced (several values: "
                        "region=east,north); only tickets inside the scope are counted and the title names it "
                        "(default: the whole company)")
    p.add_argument("--format", default="html,xlsx,pdf,csv", help="comma-separated: html,xlsx,pdf,csv (default: all)")
    p.add_argument("--out", required=True, help="output directory (created if missing)")
    p.add_argument("--lang", choices=("zh", "en"), help="report language (default: config `language`, zh)")
    p.add_argument("--as-of", dest="as_of", metavar="DATE|data|today",
                   help="the run date last-week/last-month count back from: YYYY-MM-DD, `data` (the last complete "
                        "period in the data) or `today` (default, in the business time zone)")
    p.add_argument("--top", type=int, default=5, help="worst units listed per KPI (default 5)")
    p.add_argument("--send", action="append", metavar="TARGET", default=[],
                   help="also deliver to an alert target of [alerts.targets] (repeatable): mail gets the PDF attached, "
                        "a robot a summary and a dashboard link (docs/ALERTS.md)")
    p.set_defaults(func=cmd_report)
    _one_line_error(p)


def parse_where(items: list[str]) -> dict[str, list[str]]:
    """``["region=east", "channel=jd,tmall"]`` → ``{"channel": [...], "region": [...]}`` in a canonical order,
    so the same filters in any order give the same report and file name."""
    from metrics import registry as R

    out: dict[str, list[str]] = {}
    for item in items:
        dim, sep, value = item.partition("=")
        dim = dim.strip()
        if not sep or not dim or not value.strip():
            raise UserError(f"--where {item!r} must be DIM=VALUE, e.g. --where region=east")
        out.setdefault(dim, []).extend(v.strip() for v in value.split(",") if v.strip())
    order = {d: i for i, d in enumerate(R.DIMENSIONS)}
    return {d: sorted(set(out[d])) for d in sorted(out, key=lambda d: (order.get(d, len(order)), d))}


def parse_by(items: list[str] | None) -> list[str] | None:
    if not items:
        return None
    return [d.strip() for item in items for d in item.split(",") if d.strip()]


def database_config_lang(args: argparse.Namespace) -> tuple[Path, dict, str]:
    """The database, its configuration and the language a written file is in (``--lang``, else the
    config's ``language``, else zh), for every command that writes a report file."""
    from aftersales.config import load_config, resolve_db_path

    db = resolve_db_path(args.db)
    try:
        config = load_config(args.config, db)
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None
    lang = args.lang or config.get("language") or "zh"
    if lang not in ("zh", "en"):
        raise UserError(f"config language {lang!r} is not zh or en; pass --lang zh|en")
    return db, config, lang


def cmd_report(args: argparse.Namespace) -> int:
    # Any other failure is one line for cron's mail and exit status 2, said by aftersales/cli.py
    # (the traceback on request, with AFTERSALES_DEBUG=1).
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from aftersales.db import connect_readonly
    from reports import content, period, writer

    formats = writer.parse_formats(args.format)
    if "pdf" in formats:
        from reports import pdf

        pdf.check_available()  # before any work: say what to install
    if args.top < 1:
        raise UserError("--top must be at least 1")
    db, config, lang = database_config_lang(args)
    from metrics import scope as scoping

    scope = scoping.parse(args.scope)
    where = parse_where(args.where)
    by = parse_by(args.by)
    as_of = period.parse_as_of(args.as_of)
    con = connect_readonly(db)
    try:
        if as_of is None:
            run_date = period.today(config.get("timezone") or "Asia/Shanghai")
        elif as_of == "data":
            run_date = content.freshness(con).data_through.date() + dt.timedelta(days=1)
        else:
            run_date = as_of
        p = period.parse(args.period, run_date)
        report = content.build(con, p, where=where, by=by, lang=lang, config=config, top=args.top, scope=scope)
    finally:
        con.close()
    paths = writer.write(report, formats, Path(args.out))
    for w in report.warnings:
        print(f"aftersales report: warning: {w}", file=sys.stderr)
    for path in paths:
        print(path)
    if args.send:  # issue 16: delivered after the files are written; a failed target is reported, exit 2
        from alerts import report_send

        # every send, ok or failed, goes to the audit trail beside the database (issue 17)
        failed = [d for d in report_send.send(report, paths, args.send, config, db=db) if d.status != "sent"]
        for d in failed:
            print(f"aftersales report: warning: --send {d.target} failed after {d.attempts} attempts: {d.error}",
                  file=sys.stderr)
        if failed:
            raise UserError(f"{len(failed)} of {len(args.send)} --send target(s) failed; the files are written")
    return 0
