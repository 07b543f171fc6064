"""The messy export: the same data the way it really arrives, plus ``expected.json`` (what a
correct load makes of it) and ``README.txt``.

Every file is written through its shipped mapping (``pipelines/mappings``). Broken rows are
planted on purpose, each breaking exactly one loader rule; master-data breaks are extra rows, so
no valid ticket depends on a broken master record.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from aftersales.model import TABLES
from pipelines.generate.messy_format import Mapping, Raw, render, write_csv, write_xlsx
from pipelines.generate.messy_readme import readme
from pipelines.generate.messy_tickets import changed_since, events, snapshot
from pipelines.generate.writer import arrow_schema

SNAPSHOT_DAYS_BEFORE_END = 10
MAX_ROWS = 3000
CHANNEL_FILES = {"ticket-system-xlsx": ["phone", "store", "suning", "vip", "weidian"],
                 "tmall-taobao-aftersales-csv": ["tmall", "taobao"],
                 "platform-aftersales-csv": ["jd", "pdd", "douyin"],
                 "wechat-ticket-events-csv": ["wechat"]}
GARBAGE_DATES = ["2026-02-30 10:15:00", "2026/10/32 9:03", "昨天下午", "#VALUE!"]


@dataclass
class File:
    name: str
    mapping: Mapping
    sheets: list[tuple[str, list[dict[str, Any]]]]  # (sheet name or "", rendered-to-be value rows)
    styles: list[list[str]]
    encoding: str | None = None
    nulls: list[str] = field(default_factory=lambda: ["", "-"])
    extra: dict[str, list[Any]] = field(default_factory=dict)  # unmapped source columns: header -> values (flat)
    broken: list[dict[str, Any]] = field(default_factory=list)
    bad: set[int] = field(default_factory=set)  # positions (in ``flat`` order) of the broken rows
    title: str | None = None

    def flat(self) -> list[tuple[int, int, dict[str, Any]]]:
        return [(s, i, row) for s, (_, rows) in enumerate(self.sheets) for i, row in enumerate(rows)]

    def mark(self, k: int, rule: str, col: str) -> None:
        """Record flat row ``k`` as broken: the row number as the loader counts it (Excel: as shown)."""
        s, i, _ = self.flat()[k]
        excel = self.encoding is None
        entry = {"row": i + 1 + (self.mapping.spec.get("header_row", 1) if excel else 0), "rule": rule, "column": col}
        if excel:
            entry["sheet"] = self.sheets[s][0]
        self.broken.append(entry)
        self.bad.add(k)

    def valid_keys(self, key: str) -> list[Any]:
        return [row[key] for k, (_, _, row) in enumerate(self.flat()) if k not in self.bad]


# A break: (rule, canonical column, precondition on the row, mutation returning the new value).
Break = tuple[str, str, Callable[[dict], bool], Callable[[dict, np.random.Generator], Any]]


def _always(_: dict) -> bool:
    return True


def _has(col: str) -> Callable[[dict], bool]:
    return lambda r: r.get(col) is not None


def _plant(f: File, breaks: list[Break], rng: np.random.Generator, rate: float) -> None:
    """Break about ``rate`` of the rows of ``f`` in place, cycling through ``breaks``."""
    flat = f.flat()
    n = max(1, round(rate * len(flat)))
    order = list(rng.permutation(len(breaks)))
    for j in range(n):
        rule, col, ok, mutate = breaks[order[j % len(breaks)]]
        cands = [k for k, (_, _, row) in enumerate(flat) if k not in f.bad and ok(row)]
        if not cands:
            continue
        k = cands[int(rng.integers(0, len(cands)))]
        row = flat[k][2]
        row[col] = mutate(row, rng)
        f.mark(k, rule, col)
    f.broken.sort(key=lambda e: (e.get("sheet", ""), e["row"]))


def _styles(rng: np.random.Generator, n: int, choices: list[str], p: list[float]) -> list[str]:
    return [choices[i] for i in rng.choice(len(choices), size=n, p=p)]


def _with_extra_rows(rows: list[dict], make: Callable[[dict, int], dict], k: int, rng: np.random.Generator):
    """Insert ``k`` new valid rows (copies of random rows with a fresh key) at random places;
    returns their positions (to be broken)."""
    positions = []
    for j in range(k):
        new = make(dict(rows[int(rng.integers(0, len(rows)))]), j)
        at = int(rng.integers(0, len(rows) + 1))
        rows.insert(at, new)
        positions = [p + (p >= at) for p in positions] + [at]
    return positions


def _master(name: str, source: str, df: pl.DataFrame, key: str, new_key: Callable[[int], str], breaks: list[Break],
            rng: np.random.Generator, rate: float, title: str | None = None) -> File:
    rows = df.to_dicts()
    n_bad = max(1, round(rate * len(rows)))
    spots = _with_extra_rows(rows, lambda r, j: {**r, key: new_key(j)}, n_bad, rng)
    f = File(name, Mapping.load(source), [(Path(name).stem, rows)],
             [_styles(rng, len(rows), ["xldate", "slash", "serial"], [.5, .3, .2])], title=title)
    order = list(rng.permutation(len(breaks)))
    for j, at in enumerate(sorted(spots)):
        rule, col, _, mutate = breaks[order[j % len(breaks)]]
        rows[at][col] = mutate(rows[at], rng)
        f.mark(at, rule, col)
    return f


def _ticket_breaks(unknown_channel: str) -> list[Break]:
    return [
        ("key_present", "ticket_id", _always, lambda r, g: None),
        ("required", "service_type", _always, lambda r, g: None),
        ("known_value", "channel", _always, lambda r, g: Raw(unknown_channel)),
        ("type", "first_response_at", _always, lambda r, g: Raw(GARBAGE_DATES[int(g.integers(0, 4))])),
        ("order_of_events", "resolved_at", _has("resolved_at"),
         # whole seconds, as exports write them (a fraction made it a date-format error instead)
         lambda r, g: r["created_at"] - dt.timedelta(seconds=round(3600 * float(g.uniform(1, 72))))),
        ("known_reference", "outlet_id", _has("outlet_id"), lambda r, g: "WD0999"),
        ("known_reference", "technician_id", _has("technician_id"), lambda r, g: "JS99999"),
    ]


def write_messy(out: Path, m, sample: dict[str, pl.DataFrame | None], cal, seed: int) -> dict[str, Any]:
    """Write the messy files into ``out``; returns a summary with the file list and expected.json path."""
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.xlsx"), *out.glob("*.csv"), out / "expected.json", out / "README.txt"]:
        old.unlink(missing_ok=True)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 9]))
    end_day = cal.dates[-1].item()
    end = dt.datetime.combine(end_day, dt.time(23, 59, 59))
    at = end - dt.timedelta(days=SNAPSHOT_DAYS_BEFORE_END)

    def rate() -> float:  # share of broken rows, per file
        return float(rng.uniform(0.01, 0.025))

    files: list[File] = [
        _master("网点档案.xlsx", "outlet-register-xlsx", m.outlets, "outlet_id", lambda j: f"WD{901 + j:04d}", [
            ("known_value", "region", _always, lambda r, g: Raw("港澳")),
            ("required", "city", _always, lambda r, g: None),
            ("in_range", "city_tier", _always, lambda r, g: 5),
            ("key_present", "outlet_id", _always, lambda r, g: None)], rng, rate()),
        _master("师傅名单.xlsx", "technician-roster-xlsx", m.technicians, "technician_id",
                lambda j: f"JS{90001 + j}", [
                    ("in_range", "skill_level", _always, lambda r, g: 6),
                    ("known_reference", "outlet_id", _always, lambda r, g: "WD0999"),
                    ("type", "hired_on", _always, lambda r, g: Raw("不详")),
                    ("key_present", "technician_id", _always, lambda r, g: None),
                    ("required", "outlet_id", _always, lambda r, g: None)], rng, rate()),
        _master("产品目录.xlsx", "product-catalog-xlsx", m.products, "product_model", lambda j: f"TEST-{j + 1:03d}", [
            ("known_value", "product_category", _always, lambda r, g: Raw("手机")),
            ("required", "product_category", _always, lambda r, g: None)], rng, rate()),
        _master("配件库存.xlsx", "parts-stock-xlsx", m.parts, "part_no", lambda j: f"TMP-{99001 + j}", [
            ("in_range", "on_hand", _always, lambda r, g: -3),
            ("type", "unit_cost", _always, lambda r, g: Raw("面议")),
            ("required", "lead_time_days", _always, lambda r, g: None),
            ("in_range", "lead_time_days", _always, lambda r, g: 400)], rng, rate(),
                title=f"配件库存表  盘点日期 {end_day:%Y-%m-%d}"),
    ]

    sample = {t: df if df is not None else pl.from_arrow(arrow_schema(t).empty_table())
              for t, df in sample.items()}
    tickets, visits = sample["tickets"], sample["visits"]
    by_channel = {src: tickets.filter(pl.col("channel").is_in(chs)) for src, chs in CHANNEL_FILES.items()}
    by_channel = {src: _cap(df, MAX_ROWS if "events" not in src else MAX_ROWS // 6, rng)
                  for src, df in by_channel.items()}

    # Ticket system: a snapshot some days before the end, and the later re-export.
    sys_final = by_channel["ticket-system-xlsx"]
    sys_first = snapshot(sys_final, visits, at)
    sys_again = changed_since(sys_first, sys_final, rng)
    first = _ticket_file(f"工单导出_{at:%Y%m%d}.xlsx", "ticket-system-xlsx", sys_first, rng,
                         ["serial", "iso", "xldate"], [.4, .4, .2], ["", "-"], "快手", rate())
    again = _ticket_file(f"工单导出_{end_day:%Y%m%d}.xlsx", "ticket-system-xlsx", sys_again, rng,
                         ["serial", "iso", "xldate"], [.4, .4, .2], ["", "-"], "快手", rate())
    tb = by_channel["tmall-taobao-aftersales-csv"].sort("created_at", descending=True).with_columns(
        customer_phone=pl.col("customer_phone").str.slice(0, 3) + "****" + pl.col("customer_phone").str.slice(7))
    tmall = _ticket_file(f"天猫淘宝售后单_{end_day:%Y%m%d}.csv", "tmall-taobao-aftersales-csv", tb, rng,
                         ["slash_min", "iso"], [.7, .3], ["", "无"], "天猫国际", rate(), encoding="gbk")
    tmall.extra["店铺名称"] = [("天猫" if r["channel"] == "tmall" else "淘宝") + "官方旗舰店" for _, _, r in tmall.flat()]
    platform = _ticket_file(f"平台售后单_{end_day:%Y%m%d}.csv", "platform-aftersales-csv",
                            by_channel["platform-aftersales-csv"], rng, ["iso_tz", "iso"], [.6, .4], ["", "NULL"],
                            "快手", rate(), encoding="utf-8-sig")
    wx = by_channel["wechat-ticket-events-csv"]
    ev = events(wx, visits.filter(pl.col("ticket_id").is_in(wx["ticket_id"].implode())))
    event_log = File(f"工单事件流水_{end_day:%Y%m%d}.csv", Mapping.load("wechat-ticket-events-csv"),
                     [("", [v for v, _ in ev])], [_styles(rng, len(ev), ["iso", "slash_sec"], [.7, .3])],
                     encoding="utf-8", nulls=[""], extra={"事件类型": [k for _, k in ev]})
    _plant(event_log, [
        ("key_present", "ticket_id", lambda r: "created_at" not in r, lambda r, g: None),
        ("type", "first_response_at", _has("first_response_at"), lambda r, g: Raw(GARBAGE_DATES[int(g.integers(0, 4))])),
        ("known_value", "status", lambda r: r.get("status") == "in_progress" and "created_at" not in r,
         lambda r, g: Raw("挂起")),
    ], rng, rate())
    loaded: set[str] = set()
    for f in (first, tmall, platform, event_log, again):
        loaded.update(k for k in f.valid_keys("ticket_id") if k)
    files += [first, tmall, platform, event_log, again]

    surveys = sample["surveys"].filter(pl.col("ticket_id").is_in(list(loaded))).sort("responded_at")
    sv = File("回访记录.csv", Mapping.load("survey-callbacks-csv"), [("", surveys.to_dicts())],
              [_styles(rng, len(surveys), ["slash_min", "iso"], [.6, .4])], encoding="gbk", nulls=["", "-"])
    _plant(sv, [
        ("key_present", "survey_id", _always, lambda r, g: None),
        ("required", "responded_at", _always, lambda r, g: None),
        ("in_range", "satisfaction", _always, lambda r, g: 7),
        ("known_reference", "ticket_id", _always, lambda r, g: "GD26010199999999"),
        ("type", "nps", _always, lambda r, g: Raw("十")),
        ("known_value", "survey_channel", _always, lambda r, g: Raw("邮件")),
    ], rng, rate())
    files.append(sv)

    for f in files:
        _write(out, f, rng)
    return _expected(out, files, seed, end_day, at)


def _cap(df: pl.DataFrame, cap: int, rng: np.random.Generator) -> pl.DataFrame:
    if len(df) <= cap:
        return df.sort("created_at")
    keep = np.sort(rng.choice(len(df), size=cap, replace=False))
    return df.sort("created_at")[keep]


def _ticket_file(name: str, source: str, df: pl.DataFrame, rng: np.random.Generator, styles: list[str],
                 p: list[float], nulls: list[str], unknown_channel: str, rate: float, encoding: str | None = None) -> File:
    rows = df.to_dicts()
    if encoding is None:  # the ticket system exports one sheet per month of creation
        months: dict[str, list[dict]] = {}
        for r in rows:
            months.setdefault(f"{r['created_at']:%Y年%m月}", []).append(r)
        sheets = sorted(months.items()) or [("工单", [])]
    else:
        sheets = [("", rows)]
    f = File(name, Mapping.load(source), sheets, [_styles(rng, len(r), styles, p) for _, r in sheets],
             encoding=encoding, nulls=nulls)
    _plant(f, _ticket_breaks(unknown_channel), rng, rate)
    return f


def _write(out: Path, f: File, rng: np.random.Generator) -> None:
    excel = f.encoding is None
    headers = list(f.mapping.headers.values())
    if "事件类型" in f.extra:
        headers.insert(2, "事件类型")
    else:
        headers += list(f.extra)
    rendered, flat_i = [], 0
    for (sheet, rows), styles in zip(f.sheets, f.styles, strict=True):
        out_rows = []
        for row, style in zip(rows, styles, strict=True):
            cells = render(f.mapping, row, style, rng, f.nulls, excel)
            for h, values in f.extra.items():
                cells[h] = values[flat_i]
            flat_i += 1
            out_rows.append(cells)
        rendered.append((sheet, headers, out_rows))
    if excel:
        write_xlsx(out / f.name, rendered, f.title)
    else:
        write_csv(out / f.name, headers, rendered[0][2], f.encoding)


def _expected(out: Path, files: list[File], seed: int, end_day: dt.date, at: dt.datetime) -> dict[str, Any]:
    entries = []
    for pos, f in enumerate(files, start=1):
        entry = {"file": f.name, "position": pos, "source": f.mapping.source, "table": f.mapping.table,
                 "format": "xlsx" if f.encoding is None else "csv", "rows": sum(len(r) for _, r in f.sheets),
                 "broken": f.broken}
        if f.encoding is None:
            entry["sheets"] = {s: len(r) for s, r in f.sheets}
            entry["header_row"] = f.mapping.spec.get("header_row", 1)
        else:
            entry["encoding"] = f.encoding
        entries.append(entry)
    tables = dict.fromkeys(f.mapping.table for f in files)
    expected_rows = {t: len({k for f in files if f.mapping.table == t for k in f.valid_keys(TABLES[t].key[0])
                             if k is not None}) for t in tables}
    doc = {"seed": seed, "end": end_day.isoformat(), "snapshot_at": at.isoformat(sep=" "),
           "load_order": [f.name for f in files], "files": entries,
           "expected_distinct_tickets": expected_rows["tickets"], "expected_rows": expected_rows,
           "row_numbering": "CSV: 1-based data row, header excluded. Excel: the sheet row number as Excel shows "
                            "it (header_row is the header's row; the first data row is header_row + 1)."}
    (out / "expected.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "README.txt").write_text(readme(doc), encoding="utf-8")
    return {"dir": str(out), "files": [f.name for f in files], "expected": str(out / "expected.json"),
            "expected_distinct_tickets": expected_rows["tickets"]}
