"""A planner's own series file (``--input``): read it, check it, and screen its series.

The file is CSV or Parquet in long format, one row per series and date: ``unique_id, ds, y``
(common aliases such as ``date``/``value``/``sku`` are accepted; without an id column the file
is one series named after the file). What refuses the whole file, naming the rows: missing
columns, an empty file, dates that are not dates, values that are not numbers, negative values,
a series with a date twice, dates that fit no frequency (``forecasts.frequency``). A blank
value is a missing observation, like a missing row.

What leaves one series out, listed with the reason (printed, and stored with the run):

* gaps — dates missing between the series' first observation and the file's last date — unless
  ``fill_gaps='zero'`` counts them as zero (a file that lists only non-zero demand needs it);
  gaps are never guessed silently, because a missing week of tickets is not a quiet week;
* too short: fewer periods than the models need;
* too sparse (workload): fewer arrivals a week than ``min_weekly_tickets`` over the last year.

Each series starts at its own first observation and runs to the file's last date (the cut-off).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from aftersales.errors import UserError
from forecasts import frequency as fq

SCHEMA = {"unique_id": pl.String, "ds": pl.Date, "y": pl.Float64}
SHOW = 5  # rows or dates a message names
ALIASES = {  # lower-case header -> our column
    "unique_id": ("unique_id", "id", "series", "series_id", "item", "item_id", "sku", "part", "part_no",
                  "part_number", "key", "序列", "编号", "配件编号", "物料编号"),
    "ds": ("ds", "date", "day", "week", "month", "period", "time", "timestamp", "日期", "时间", "周", "月份"),
    "y": ("y", "value", "qty", "quantity", "demand", "count", "volume", "sales", "target", "tickets",
          "数量", "需求", "值", "工单量", "销量"),
}
KINDS = {"workload": (fq.DAILY, fq.WEEKLY), "parts": (fq.WEEKLY, fq.MONTHLY)}
FILL_GAPS = ("none", "zero")


@dataclass
class Prepared:
    """A screened file: ``long`` holds the series to forecast (gap-free on the frequency's grid),
    ``not_forecast`` the series left out with why: ``unique_id``, ``reason`` (a sentence),
    ``code`` (gaps | too_short | too_sparse | no_values) and ``n`` (missing dates, periods of
    history, arrivals a week) for the dashboard's own words."""

    long: pl.DataFrame
    freq: fq.Frequency
    path: str
    sha256: str
    rows: int
    not_forecast: list[dict[str, str]] = field(default_factory=list)
    gaps: dict[str, int] = field(default_factory=dict)   # series -> missing dates (filled or not)
    gap_dates: dict[str, list[dt.date]] = field(default_factory=dict)  # series -> its first missing dates
    notes: list[str] = field(default_factory=list)

    @property
    def cutoff(self) -> dt.date:
        return self.long["ds"].max()

    def source(self) -> dict[str, Any]:
        """What the run stores about where its data came from."""
        return {"path": self.path, "sha256": self.sha256, "rows": self.rows, "freq": self.freq.code,
                "freq_anchor": self.freq.anchor, "series_in_file": len(self.gaps) or None}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _rows(frame: pl.DataFrame, col: str = "_row") -> str:
    shown = ", ".join(str(r) for r in frame[col].head(SHOW).to_list())
    return f"row{'s' if frame.height > 1 else ''} {shown}" + (f" and {frame.height - SHOW} more" if frame.height > SHOW else "")


def _columns(path: Path, columns: list[str]) -> tuple[dict[str, str], list[str]]:
    """``{our name: the file's column}`` and notes on aliases used."""
    lower = {c.strip().lower().lstrip("\ufeff"): c for c in columns}
    found, notes = {}, []
    for ours, names in ALIASES.items():
        hits = [lower[n] for n in names if n in lower]
        if len(hits) > 1:
            raise UserError(f"{path}: columns {', '.join(hits)} could each be {ours}; rename one so only one does")
        if hits:
            found[ours] = hits[0]
            if hits[0] != ours:
                notes.append(f"column {hits[0]!r} read as {ours}")
    missing = [c for c in ("ds", "y") if c not in found]
    if missing:
        raise UserError(f"{path}: no column for {', '.join(missing)}; the file needs columns unique_id, ds (date), "
                        f"y (value) — it has {', '.join(columns) or 'none'}")
    return found, notes


def read_file(path: str | Path) -> tuple[pl.DataFrame, list[str]]:
    """The file's rows as ``_row`` (its row number, the header being row 1), ``unique_id``,
    ``ds`` and ``y`` (null where blank), checked as the module docstring says, with notes."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist; give a CSV or Parquet file with columns unique_id, ds, y")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".txt", ".parquet", ".pq"):
        raise UserError(f"{path}: cannot read {suffix or 'extension-less'!r} files; use .csv or .parquet")
    if path.stat().st_size == 0:
        raise UserError(f"{path} is empty; it needs a header (unique_id,ds,y) and one row per series and date")
    try:
        raw = _read_csv(path) if suffix in (".csv", ".txt") else pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise UserError(f"{path}: cannot be read ({str(exc).splitlines()[0]}); it should be a CSV or Parquet file") from exc
    cols, notes = _columns(path, raw.columns)
    if raw.is_empty():
        raise UserError(f"{path} has a header but no rows: nothing to forecast")
    uid = pl.col(cols["unique_id"]).cast(pl.String).str.strip_chars() if "unique_id" in cols else pl.lit(path.stem)
    if "unique_id" not in cols:
        notes.append(f"no id column: one series named {path.stem!r}")
    ds_raw = pl.col(cols["ds"]).cast(pl.String).str.strip_chars()
    y_raw = pl.col(cols["y"]).cast(pl.String).str.strip_chars()
    frame = raw.select(
        uid.alias("unique_id"),
        _date(ds_raw).alias("ds"),
        y_raw.cast(pl.Float64, strict=False).alias("y"),
        ds_raw.alias("_ds_raw"), y_raw.alias("_y_raw"),
    ).with_row_index("_row", offset=2)
    blank_y = pl.col("_y_raw").is_null() | pl.col("_y_raw").str.to_lowercase().is_in(["", "na", "nan", "null", "none"])
    checks = (
        (pl.col("unique_id").is_null() | (pl.col("unique_id") == ""), "unique_id", "an empty series id", "_ds_raw"),
        (pl.col("ds").is_null(), "ds", "a date that is not YYYY-MM-DD", "_ds_raw"),
        (~blank_y & (pl.col("y").is_null() | pl.col("y").is_infinite()), "y", "a value that is not a number", "_y_raw"),
        (pl.col("y") < 0, "y", "a negative value (counts of tickets or parts cannot be negative)", "_y_raw"),
    )
    for cond, col, what, raw_col in checks:
        bad = frame.filter(cond)
        if not bad.is_empty():
            first = bad.row(0, named=True)
            raise UserError(f"{path}: column {cols.get(col, col)}: {what} in {bad.height} row(s), "
                            f"{_rows(bad)} (first: {first[raw_col]!r}); fix them and run again")
    dup = frame.filter(pl.struct("unique_id", "ds").is_duplicated())
    if not dup.is_empty():
        first = dup.row(0, named=True)
        raise UserError(f"{path}: series {first['unique_id']!r} has {first['ds']} more than once ({_rows(dup)}); "
                        "give one row per series and date (sum them first if they are parts of one total)")
    return frame.with_columns(pl.when(blank_y).then(None).otherwise(pl.col("y")).alias("y")) \
        .select("_row", "unique_id", "ds", "y"), notes


def _date(text: pl.Expr) -> pl.Expr:
    """YYYY-MM-DD (or with slashes, unpadded, or followed by a time); YYYY-MM is the month's first day."""
    day = text.str.extract(r"^(\d{4}[-/]\d{1,2}(?:[-/]\d{1,2})?)(?:[ T].*)?$", 1).str.replace_all("/", "-")
    day = pl.when(day.str.count_matches("-") == 1).then(day + "-01").otherwise(day)
    return day.str.to_date("%Y-%m-%d", strict=False)


def _read_csv(path: Path) -> pl.DataFrame:
    # Chinese back offices write GB18030/GBK as often as UTF-8; a file that is neither is read
    # as the loaders would guess it (pipelines.read.detect_encoding).
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        from pipelines.read import detect_encoding

        text = data.decode(detect_encoding(path), errors="replace")
    return pl.read_csv(text.encode("utf-8"), infer_schema=False)


def _min_periods(kind: str, freq: str, settings: dict[str, Any]) -> int:
    if kind == "workload":
        return {fq.DAILY: 28, fq.WEEKLY: 8}[freq]
    weeks = int(settings.get("min_history_weeks", 8))
    return weeks if freq == fq.WEEKLY else max(6, fq.whole_periods(weeks * 7, freq))


def _grid(first: dt.date, last: dt.date, freq: str) -> list[dt.date]:
    return fq.date_grid(first, last, freq)


def _dates(days: list[dt.date]) -> str:
    return ", ".join(str(d) for d in days[:3]) + (" ..." if len(days) > 3 else "")


def prepare(path: str | Path, kind: str, settings: dict[str, Any] | None = None, freq: str | None = None,
            fill_gaps: str = "none") -> Prepared:
    """Read, check and screen a series file for ``kind`` ('workload' or 'parts'). ``settings``
    is the kind's config section (``min_weekly_tickets``, ``min_history_weeks``); ``freq``
    forces D/W/M instead of detecting it. Raises ``UserError`` (one line, exit 2) when the file
    is refused or no series survives."""
    settings = settings or {}
    if fill_gaps not in FILL_GAPS:
        raise UserError(f"--fill-gaps {fill_gaps!r}: use one of {', '.join(FILL_GAPS)}")
    path = Path(path)
    frame, notes = read_file(path)
    found = fq.infer(frame["ds"], freq, rows=frame["_row"].to_list(), where=str(path))
    allowed = KINDS[kind]
    if found.code not in allowed:
        other = "workload" if kind == "parts" else "parts"
        raise UserError(f"{path}: the dates are {found.describe()}; {kind} series must be "
                        f"{' or '.join(fq.NAMES[f] for f in allowed)}"
                        + (f" (`aftersales forecast {other} --input` takes them)" if found.code in KINDS[other] else ""))
    cutoff = frame["ds"].max()
    need = _min_periods(kind, found.code, settings)
    min_weekly = float(settings.get("min_weekly_tickets", 0) or 0) if kind == "workload" else 0.0
    kept, not_forecast, gaps, gap_dates = [], [], {}, {}
    for (uid,), part in frame.sort("unique_id", "ds").group_by("unique_id", maintain_order=True):
        observed = part.filter(pl.col("y").is_not_null())
        if observed.is_empty():
            not_forecast.append({"unique_id": uid, "code": "no_values", "n": 0,
                                 "reason": "no values (every value is blank)"})
            gaps[uid] = part.height
            continue
        grid = _grid(observed["ds"][0], cutoff, found.code)
        have = set(observed["ds"].to_list())
        missing = [d for d in grid if d not in have]
        gaps[uid] = len(missing)
        if missing:
            gap_dates[uid] = missing[:3]
        if missing and fill_gaps != "zero":
            not_forecast.append({"unique_id": uid, "code": "gaps", "n": len(missing),
                                 "reason": f"{len(missing)} missing date(s) between its first date "
                                 f"and {cutoff} ({_dates(missing)}); --fill-gaps zero counts them as 0"})
            continue
        if len(grid) < need:
            not_forecast.append({"unique_id": uid, "code": "too_short", "n": len(grid),
                                 "reason": f"too short: {len(grid)} {_unit(found.code)} from its "
                                 f"first date to {cutoff}, at least {need} needed"})
            continue
        full = pl.DataFrame({"unique_id": uid, "ds": grid}, schema={"unique_id": pl.String, "ds": pl.Date}) \
            .join(observed.select("ds", "y"), on="ds", how="left").with_columns(pl.col("y").fill_null(0.0))
        if min_weekly > 0:
            last_year = full.tail(fq.annual_lag(found.code))
            weekly = float(last_year["y"].mean()) * 7 / fq.period_days(found.code)
            if weekly < min_weekly:
                not_forecast.append({"unique_id": uid, "code": "too_sparse", "n": round(weekly, 2),
                                     "reason": f"too sparse: {weekly:.2f} a week over its last "
                                     f"year, under min_weekly_tickets = {min_weekly:g}"})
                continue
        kept.append(full)
    filled = sum(v for k, v in gaps.items() if v and k not in {n["unique_id"] for n in not_forecast})
    if filled:
        notes.append(f"{filled} missing date(s) in {sum(1 for k, v in gaps.items() if v)} series counted as 0 "
                     "(--fill-gaps zero)")
    prepared = Prepared(pl.concat(kept).cast(SCHEMA) if kept else pl.DataFrame(schema=SCHEMA), found, str(path.resolve()),
                        sha256(path), frame.height, not_forecast, gaps, gap_dates, notes)
    if not kept:
        raise UserError(f"{path}: no series can be forecast — {not_forecast_text(prepared, 3)}")
    return prepared


def _unit(freq: str) -> str:
    return {fq.DAILY: "days", fq.WEEKLY: "weeks", fq.MONTHLY: "months"}[freq]


def not_forecast_text(prepared: Prepared, limit: int = 10) -> str:
    """``"3 series not forecast: a: why; b: why; ..."`` (the first ``limit``)."""
    items = prepared.not_forecast
    shown = "; ".join(f"{n['unique_id']}: {n['reason']}" for n in items[:limit])
    more = f"; and {len(items) - limit} more" if len(items) > limit else ""
    return f"{len(items)} series not forecast: {shown}{more}"


def gap_summary(prepared: Prepared, limit: int = 5) -> str | None:
    """``"missing dates in 4 series (count per series): a 3 (2024-01-11, ...), b 1 (...)"``, or
    None without gaps."""
    with_gaps = sorted(((k, v) for k, v in prepared.gaps.items() if v), key=lambda kv: (-kv[1], kv[0]))
    if not with_gaps:
        return None
    shown = ", ".join(f"{k} {v}" + (f" ({_dates(prepared.gap_dates[k])})" if prepared.gap_dates.get(k) else "")
                      for k, v in with_gaps[:limit])
    more = f", and {len(with_gaps) - limit} more" if len(with_gaps) > limit else ""
    return f"missing dates in {len(with_gaps)} series (count per series): {shown}{more}"


__all__ = ["Prepared", "prepare", "read_file", "not_forecast_text", "gap_summary"]
