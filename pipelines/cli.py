"""Pipeline subcommands: generate, load, loads, rejects, sources, schema, summary."""

from __future__ import annotations

import argparse
import sys
import unicodedata
from pathlib import Path

from aftersales import model
from aftersales.config import load_config, memory_budget_bytes, resolve_db_path
from aftersales.db import connect_readonly, fetch_one
from aftersales.safe_export import neutralise
from pipelines import status


def _db_and_config(args: argparse.Namespace) -> tuple[Path, dict]:
    db = resolve_db_path(args.db)
    return db, load_config(args.config, db)


def cmd_generate(args: argparse.Namespace) -> int:
    from pipelines.generate import generate

    out = Path(args.out)
    summary = generate(
        out,
        tickets=args.tickets,
        seed=args.seed,
        messy=args.messy,
        start=args.start,
        end=args.end,
        fmt=args.format,
        progress=sys.stderr.isatty(),
    )
    rows = summary.get("rows", {})
    print(f"generated in {out}: " + ", ".join(f"{n:,} {t}" for t, n in rows.items()))
    if args.messy:
        print(f"messy exports in {out / 'messy'} (see README.txt there for the load order)")
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from pipelines.load import load_paths

    db, cfg = _db_and_config(args)
    mapping_dirs = [Path(d) for d in args.mappings] if args.mappings else None
    from pipelines import load_words

    lang = args.lang or (cfg.get("language") if cfg.get("language") in ("zh", "en") else "zh")
    say = load_words.echo(lang)
    results = load_paths(
        db, args.paths, source=args.source, business_tz=cfg["timezone"], mapping_dirs=mapping_dirs, echo=say,
        max_quarantined_share=float(cfg["load"]["max_quarantined_share"]),
        future_days=int(cfg["load"]["future_days"]),
        memory_budget=memory_budget_bytes(cfg["load"]["memory_budget"]),
    )
    totals = [
        sum(getattr(r, k) for r in results) for k in ("rows_read", "inserted", "updated", "unchanged", "quarantined")
    ]
    say(
        f"{len(results)} file(s) into {db}: {totals[0]:,} rows read = {totals[1]:,} inserted + {totals[2]:,} "
        f"updated + {totals[3]:,} unchanged + {totals[4]:,} quarantined"
    )
    if totals[4]:
        say("quarantined rows: `aftersales rejects` lists them with the rule and the raw values")
    return 0


def _print_rows(headers: list[str], rows: list[tuple], fmt: str = "table") -> None:
    if fmt == "csv":
        import csv

        w = csv.writer(sys.stdout)
        w.writerow(headers)
        w.writerows([neutralise(v) for v in row] for row in rows)  # a spreadsheet runs no cell as a formula
        return
    cells = [
        [("" if v is None else f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)) for v in row]
        for row in rows
    ]
    widths = [max([_width(h)] + [_width(r[i]) for r in cells]) for i, h in enumerate(headers)]
    print("  ".join(_pad(h, w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for r in cells:
        print("  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip())


def _width(text: str) -> int:
    """Columns a terminal gives the text: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def cmd_loads(args: argparse.Namespace) -> int:
    db, _ = _db_and_config(args)
    with connect_readonly(db) as con:
        rows = con.execute(
            "SELECT load_id, file_name, source, table_name, status, rows_read, inserted, updated, unchanged, "
            "quarantined, strftime(started_at, '%Y-%m-%d %H:%M:%S'), "
            "round(epoch(finished_at - started_at), 1), left(sha256, 12), message "
            "FROM loads ORDER BY load_id DESC LIMIT $n",
            {"n": args.limit},
        ).fetchall()
    _print_rows(
        [
            "id",
            "file",
            "source",
            "table",
            "status",
            "read",
            "inserted",
            "updated",
            "unchanged",
            "quarantined",
            "started",
            "seconds",
            "sha256",
            "message",
        ],
        rows,
        args.format,
    )
    return 0


def cmd_rejects(args: argparse.Namespace) -> int:
    db, _ = _db_and_config(args)
    filters = {"load_id": args.load or None, "file_name": args.file or None, "rule": args.rule or None}
    if args.unmask:
        # Said on stderr, so that it reaches the person even when the rows go to a file.
        print("aftersales rejects: --unmask: customers' names and phone numbers are shown unmasked; "
              "do not share this output", file=sys.stderr)
    with connect_readonly(db) as con:
        found = status.quarantine(con, limit=args.limit, raw=args.raw, newest_first=False, unmask=args.unmask,
                                  **filters)
        by_rule = status.quarantine_counts(con, **filters)
    total = int(by_rule["count"].sum()) if by_rule.height else 0
    rows = [
        (r["load_id"], r["file_name"], ("" if r["sheet"] is None else r["sheet"] + "!") + str(r["row_number"]),
         r["column_name"], r["rule"], r["message"]) + ((r["raw"],) if args.raw else ())
        for r in found.iter_rows(named=True)
    ]
    headers = ["load", "file", "row", "column", "rule", "message"] + (["raw"] if args.raw else [])
    _print_rows(headers, rows, args.format)
    if args.format == "table":
        print(
            f"\n{total:,} quarantined value(s)"
            + (f", showing {len(rows):,}" if len(rows) < total else "")
            + (": " + ", ".join(f"{r} {n:,}" for r, n in by_rule.iter_rows()) if by_rule.height else "")
        )
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from pipelines.mapping import all_mappings

    mappings = all_mappings([Path(d) for d in args.mappings] if args.mappings else None)
    _print_rows(
        ["source", "table", "mode", "match", "file", "description"],
        [(m.source, m.table, m.mode, " ".join(m.match), Path(m.path).name, m.description) for m in mappings.values()],
    )
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    print(model.markdown() if args.markdown else model.ddl())
    return 0


def summary_lines(db: Path) -> list[str]:
    """What is in the database, table by table, with the data's date range."""
    lines = []
    with connect_readonly(db) as con:
        for name in model.TABLES:
            n = fetch_one(con, f"SELECT count(*) FROM {name}")[0]
            lines.append(f"  {name:<16} {n:>12,} rows")
        lo, hi = fetch_one(con, "SELECT min(created_at), max(created_at) FROM tickets")
        open_n = status.open_tickets(con)  # the backlog KPI's "open"
        q = fetch_one(con, "SELECT count(*) FROM quarantine")[0]
        loads = fetch_one(con, "SELECT count(*), max(finished_at) FROM loads")
    lines.append(f"  tickets created {lo:%Y-%m-%d} .. {hi:%Y-%m-%d}; {open_n:,} open" if lo else "  no tickets")
    lines.append(
        f"  {loads[0]:,} file load(s) in the ledger, last at {loads[1]:%Y-%m-%d %H:%M:%S}; {q:,} quarantined value(s)"
        if loads[0]
        else "  no loads yet"
    )
    return lines


def cmd_summary(args: argparse.Namespace) -> int:
    db, _ = _db_and_config(args)
    print(f"database {db}:")
    print("\n".join(summary_lines(db)))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="write realistic sample data (canonical files, and messy exports)")
    p.add_argument("--tickets", type=int, default=100_000, help="number of tickets (default 100,000)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", default="data/sample", help="output directory (default data/sample)")
    p.add_argument("--messy", action="store_true", help="also write exports the way they really arrive")
    p.add_argument("--start", default="2024-01-01", help="first day of data (default 2024-01-01)")
    p.add_argument("--end", default=None, metavar="YYYY-MM-DD",
                   help="last day of data (default yesterday, Asia/Shanghai: the sample stays live; "
                        "pass a date for the same data every time)")
    p.add_argument("--format", choices=["parquet", "csv", "both"], default="parquet")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("load", help="load CSV/Excel/Parquet exports into the database")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, or directories of files")
    p.add_argument("--source", help="mapping to use for every file (default: matched by file name)")
    p.add_argument("--mappings", action="append", help="extra directory of mapping files (repeatable)")
    p.add_argument("--lang", choices=("zh", "en"), help="language of the progress lines (default: config `language`, zh)")
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("loads", help="the load ledger: one line per file loaded")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--format", choices=["table", "csv"], default="table")
    p.set_defaults(func=cmd_loads)

    p = sub.add_parser("rejects", help="quarantined rows with their rule and raw values")
    p.add_argument("--load", type=int, help="only this load id")
    p.add_argument("--file", help="only this file name")
    p.add_argument("--rule", help="only this rule (key_present, type, known_value, in_range, ...)")
    p.add_argument("--raw", action="store_true",
                   help="show the raw row as read (customers' names and phones masked: 张**, 138****1234)")
    p.add_argument("--unmask", action="store_true",
                   help="show customers' names and phone numbers unmasked (in --raw and the messages); said on stderr")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--format", choices=["table", "csv"], default="table")
    p.set_defaults(func=cmd_rejects)

    p = sub.add_parser("sources", help="list the mapping files (sources) known")
    p.add_argument("--mappings", action="append", help="extra directory of mapping files (repeatable)")
    p.set_defaults(func=cmd_sources)

    p = sub.add_parser("schema", help="print the canonical DDL, or the column reference with --markdown")
    p.add_argument("--markdown", action="store_true")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("summary", help="what the database holds")
    p.set_defaults(func=cmd_summary)

    from pipelines import assist_check  # `aftersales map suggest|check`, the mapping assistant

    assist_check.register(sub)
