"""`aftersales kpi` and `aftersales metrics`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import polars as pl

from aftersales.config import load_config, resolve_db_path
from aftersales.db import DatabaseMissing
from aftersales.errors import UserError
from aftersales.safe_export import neutralise_frame
from metrics import registry as R
from metrics.periods import parse_date


def _parse_where(items: list[str] | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items or []:
        dim, sep, value = item.partition("=")
        if not sep or not dim.strip() or not value.strip():
            raise UserError(f"--where {item!r}: write it as DIM=VALUE (e.g. region=east, several values as "
                            f"channel=jd,tmall); dimensions: {', '.join(R.DIMENSIONS)}")
        out.setdefault(dim.strip(), []).extend(v.strip() for v in value.split(",") if v.strip())
    return out


def _fmt(value: Any, spec: str) -> str:
    if value is None:
        return "—"
    try:
        return format(value, spec)
    except (ValueError, TypeError):
        return str(value)


def _table(df: pl.DataFrame, lang: str) -> str:
    """A human table: labels, formatted values, interval, comparisons, status."""
    if df.is_empty():
        return "(no rows: nothing matched in that range)" if lang == "en" else "(无结果:该范围内没有匹配的记录)"
    dims = [c for c in df.columns if c in R.DIMENSIONS]
    head = [HEADERS[h][lang == "en"] for h in ("kpi", "period")] + [_dim_header(d, lang) for d in dims] + [
        HEADERS[h][lang == "en"] for h in ("value", "ci", "n", "prev", "yoy", "target", "status", "complete")]
    rows = []
    for r in df.iter_rows(named=True):
        k = R.KPIS[r["kpi"]]
        spec = k.fmt
        delta_spec = "+" + spec.lstrip("+")
        ci = "" if r["ci_low"] is None else f"{_fmt(r['ci_low'], spec)} – {_fmt(r['ci_high'], spec)}"
        rows.append([
            k.label(lang), str(r["period_start"]), *[_dim_value(d, r[d], lang) for d in dims],
            _fmt(r["value"], spec), ci, f"{r['n_records']:,}",
            _delta(r["prev_change"], k, delta_spec, lang), _delta(r["yoy_change"], k, delta_spec, lang),
            _fmt(r["target"], spec),
            _status(r, lang) + (SMALL[lang == "en"] if r["small_sample"] and r["status"] not in ("too_small", "no_data")
                                else ""),
            _fmt(r["completeness"], ".1%"),
        ])
    if any(r.get("basis") for r in df.iter_rows(named=True)):  # how records were counted, beside the number
        head.append("依据" if lang == "zh" else "basis")
        for row, r in zip(rows, df.iter_rows(named=True), strict=True):
            row.append(R.describe_basis(R.KPIS[r["kpi"]], r["basis"], lang) or "")
    widths = [max(_width(h), *(_width(row[i]) for row in rows)) for i, h in enumerate(head)]
    lines = ["  ".join(_pad(h, w) for h, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


# The table's words (中文, English): a manager reads the zh table, a script reads --format csv/json.
HEADERS = {"kpi": ("指标", "KPI"), "period": ("期间", "period"), "value": ("数值", "value"),
           "ci": ("95%置信区间", "95% CI"), "n": ("样本量", "n"), "prev": ("环比", "prev Δ"), "yoy": ("同比", "yoy Δ"),
           "target": ("目标", "target"), "status": ("状态", "status"), "complete": ("完整度", "complete")}
STATUSES = {"met": "达标", "missed": "未达标", "no_target": "无目标", "no_data": "无数据", "too_small": "样本不足",
            "provisional": "暂定"}
SMALL = ("(样本小)", " (small)")


def _dim_header(dim: str, lang: str) -> str:
    return R.DIMENSIONS[dim].zh if lang == "zh" else dim


def _dim_value(dim: str, value: Any, lang: str) -> str:
    """A breakdown value: its 中文 label where the code list has one (east → 华东), else as stored."""
    if value is None:
        return "—"
    labels = R.DIMENSIONS[dim].labels if lang == "zh" else None
    return str((labels or {}).get(value, value))


def _status(r: dict, lang: str) -> str:
    """The status in words (the code in English); a provisional number with the date it becomes final."""
    if r["status"] == "provisional" and r.get("final_on") is not None:
        return f"暂定,{r['final_on']}定稿" if lang == "zh" else f"provisional until {r['final_on']}"
    return STATUSES.get(r["status"], r["status"]) if lang == "zh" else r["status"]


def _delta(change: float | None, k: R.KpiDef, spec: str, lang: str = "en") -> str:
    """A change: percentage points for proportions (+2.1 个百分点 / +2.1pp), else in the KPI's own format."""
    if change is None:
        return "—"
    if k.is_proportion:
        return f"{100 * change:+.1f}个百分点" if lang == "zh" else f"{100 * change:+.1f}pp"
    return _fmt(change, spec)


def _width(text: str) -> int:
    # CJK characters take two columns on a terminal
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _write(df: pl.DataFrame, fmt: str, lang: str) -> None:
    if fmt == "csv":
        sys.stdout.write(neutralise_frame(df).write_csv())
    elif fmt == "json":
        sys.stdout.write(json.dumps(df.to_dicts(), ensure_ascii=False, default=str, indent=1) + "\n")
    else:
        print(_table(df, lang))


def cmd_kpi(args: argparse.Namespace) -> int:
    try:
        return _kpi(args)
    except DatabaseMissing as exc:
        raise UserError(str(exc)) from None


def _kpi(args: argparse.Namespace) -> int:
    import metrics
    from metrics import scope as scoping

    db = resolve_db_path(args.db)
    config = load_config(args.config, db)
    scope = scoping.parse(args.scope)
    if args.values:
        vals = metrics.dimension_values(db, args.values, scope=scope)
        if args.format == "table":
            print("\n".join(f"{v}\t{lab or ''}" for v, lab in vals.iter_rows()))
        else:
            _write(vals, args.format, args.lang)
        return 0
    grain = None if args.grain == "all" else args.grain
    kwargs = dict(metrics=args.metric, by=args.by, grain=grain,
                  start=parse_date(args.start, "--from") if args.start else None,
                  end=parse_date(args.end, "--to") if args.end else None,
                  where=_parse_where(args.where), config=config, scope=scope)
    if args.show_sql:
        from metrics.sql import render

        print(render(*metrics.sql_for(db, **kwargs)))
        return 0
    df = metrics.query(db, **kwargs)
    _write(df, args.format, args.lang)
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    config = load_config(args.config, resolve_db_path(args.db))
    rows = []
    for k in R.KPIS.values():
        target = R.target_for(k, config)
        rows.append({
            "id": k.id, "zh": k.zh, "en": k.en, "unit": k.unit, "format": k.fmt, "period_by": k.period_by,
            "better": k.direction, "target": target, "min_sample": k.min_sample, "kind": k.kind,
            "description": k.description, "description_zh": k.description_zh,
            "breakdowns": ",".join(k.allowed_dims()), "note": k.note,
            "final_when": k.maturity.en, "final_when_zh": k.maturity.zh,
        })
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    elif args.format == "csv":
        sys.stdout.write(neutralise_frame(pl.DataFrame(rows)).write_csv())
    else:
        for r in rows:
            target = "—" if r["target"] is None else _fmt(r["target"], R.KPIS[r["id"]].fmt)
            print(f"{r['id']:26s} {r['zh']} / {r['en']}")
            print(f"{'':26s} {r['description_zh']}")
            print(f"{'':26s} {r['description']}")
            print(f"{'':26s} unit {r['unit']}, by {r['period_by']}, better {r['better']}, target {target}, "
                  f"min sample {r['min_sample']}; {r['final_when']}")
            if args.verbose:
                print(f"{'':26s} breakdowns: {r['breakdowns']}")
                if r["note"]:
                    print(f"{'':26s} note: {r['note']}")
        print(f"\nbreakdowns (--by / --where): {', '.join(R.DIMENSIONS)}; grains: {', '.join(R.GRAINS)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("kpi", help="compute KPIs by breakdown and period",
                       description="Compute KPIs. Example: aftersales kpi --metric csat,nps --by region "
                                   "--grain month --from 2024-01-01 --to 2024-06-30 --where channel=jd")
    p.add_argument("--metric", "-m", help="KPI id(s), comma-separated (default: every KPI that fits the breakdown); "
                                          "see `aftersales metrics`")
    p.add_argument("--by", "-b", help=f"breakdown(s), comma-separated: {', '.join(R.DIMENSIONS)}")
    p.add_argument("--grain", "-g", default="month", choices=[*R.GRAINS, "all"],
                   help="period length (weeks start Monday; 'all' = the whole range as one period)")
    p.add_argument("--from", dest="start", metavar="DATE", help="first day, YYYY-MM-DD (default: the earliest date the KPIs count a record by)")
    p.add_argument("--to", dest="end", metavar="DATE", help="last day, inclusive (default: the latest date the KPIs count a record "
                        "by: created, resolved, closed, answered, due, visit)")
    p.add_argument("--where", "-w", action="append", metavar="DIM=VALUE",
                   help="filter, repeatable; several values comma-separated (region=east, channel=jd,tmall)")
    p.add_argument("--scope", action="append", metavar="DIM=VALUE",
                   help="a data scope, repeatable: region=east, outlet=WD0001, outlet_type=outsourced (a user's view: "
                        "only tickets inside it, ANDed with --where)")
    p.add_argument("--format", "-f", default="table", choices=["table", "csv", "json"])
    p.add_argument("--lang", default="zh", choices=["zh", "en"], help="labels in the table format")
    p.add_argument("--show-sql", action="store_true", help="print the generated SQL and its parameters, do not run it")
    p.add_argument("--values", metavar="DIM", help="list the values a breakdown takes, then exit")
    p.set_defaults(func=cmd_kpi)

    m = sub.add_parser("metrics", help="list the KPI definitions (中文 / English)")
    m.add_argument("--format", "-f", default="table", choices=["table", "csv", "json"])
    m.add_argument("--verbose", "-v", action="store_true", help="also show allowed breakdowns and caveats")
    m.set_defaults(func=cmd_metrics)
