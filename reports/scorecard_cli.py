"""`aftersales scorecard`: one outlet's printable scorecard (HTML and PDF) for a period."""

from __future__ import annotations

import argparse
import datetime as dt
import re
from pathlib import Path
from typing import Any

from aftersales.errors import UserError

FORMATS = ("html", "pdf")
GRAINS = ("week", "month", "quarter")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "scorecard", help="one outlet's scorecard on a printable page: HTML, PDF",
        description="Write one outlet's scorecard for a period (every headline KPI with 环比, its fair rank among "
                    "the outlets and the records behind it; against own and outsourced outlets; first-time-fix "
                    "losses by cause and product; its technicians) as one printable page.")
    p.add_argument("--outlet", required=True, help="outlet code, e.g. WD0003 (`aftersales kpi --values outlet`)")
    p.add_argument("--period", help="YYYY-MM (a month), or any date of the period with --grain week|quarter "
                                    "(default: the period holding the data's latest ticket)")
    p.add_argument("--grain", choices=GRAINS, default="month", help="period length (default month)")
    p.add_argument("--format", default="html,pdf", help="comma-separated: html,pdf (default both)")
    p.add_argument("--out", required=True, help="output directory (created if missing)")
    p.add_argument("--lang", choices=("zh", "en"), help="language (default: config `language`, zh)")
    p.set_defaults(func=cmd_scorecard)


def parse_period(text: str | None) -> dt.date | None:
    if not text:
        return None
    t = text.strip()
    if re.fullmatch(r"\d{4}-\d{1,2}", t):
        y, m = map(int, t.split("-"))
        if 1 <= m <= 12:
            return dt.date(y, m, 1)
    try:
        return dt.date.fromisoformat(t)
    except ValueError:
        raise UserError(f"--period {text!r}: write YYYY-MM (e.g. 2026-10) or a date YYYY-MM-DD") from None


def parse_formats(text: str) -> list[str]:
    names = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in names if f not in FORMATS]
    if bad or not names:
        raise UserError(f"unknown format {', '.join(bad) or '(none)'}; valid formats: html,pdf")
    return [f for f in FORMATS if f in names]


def file_stem(outlet: str, start: dt.date, grain: str, lang: str) -> str:
    slug = re.sub(r"[^\w\-]+", "-", outlet).strip("-") or "outlet"
    when = f"{start:%Y-%m}" if grain == "month" else f"{grain}-{start.isoformat()}"
    return f"aftersales_scorecard_{slug}_{when}" + ("" if lang == "zh" else f"_{lang}")


def cmd_scorecard(args: argparse.Namespace) -> int:
    from aftersales.db import connect_readonly
    from aftersales.principal import DataScope
    from reports import scorecard
    from reports.cli import database_config_lang
    from reports.writer import atomic_write

    formats = parse_formats(args.format)
    if "pdf" in formats:
        from reports import pdf

        pdf.check_available()  # before any work: say what to install
    db, config, lang = database_config_lang(args)
    con = connect_readonly(db)
    try:
        # head office's printout: the outlet ranked among every outlet of the company
        page = scorecard.build(con, args.outlet, parse_period(args.period), args.grain, lang, config,
                               scope=DataScope())
    finally:
        con.close()
    rendered = {"html": page.html.encode("utf-8")}
    if "pdf" in formats:
        from reports import pdf

        end = page.period_start.strftime("%Y%m%d") + "000000"  # the same bytes on a re-run
        rendered["pdf"] = pdf.render(page.html, page.title, end, 0)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the output directory {out}: {exc.strerror}; pick another --out") from None
    stem = file_stem(args.outlet, page.period_start, page.grain, lang)
    for fmt in formats:
        path = out / f"{stem}.{fmt}"
        try:
            atomic_write(path, rendered[fmt])
        except OSError as exc:
            raise UserError(f"cannot write {path}: {exc.strerror}") from None
        print(path)
    return 0
