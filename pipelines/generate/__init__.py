"""Realistic sample data for the after-sales product.

``generate(out_dir)`` writes every canonical table (see ``aftersales/model.py``) as
``<table>.parquet`` and/or ``<table>.csv``; with ``messy=True`` also ``out_dir/messy/``: the same
kind of data the way it really arrives (Excel with Chinese headers, GBK CSV, an event log, broken
rows) with ``expected.json`` saying what a loader must make of it.

The data embodies the domain brief (DOMAIN.md): the Chinese holiday calendar (调休 included), the Spring Festival
trough and catch-up, Double 11 / 618 waves, the summer air-conditioner peak; outsourced outlets
fixing less on the first visit and drawing more complaints; stock-outs that make repairs wait.
Same seed, same bytes.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from tqdm import tqdm

from aftersales.model import LOAD_ORDER
from pipelines.generate.calendar import build_calendar
from pipelines.generate.frames import chunk_frames
from pipelines.generate.masters import build_masters, orders_daily
from pipelines.generate.messy import write_messy
from pipelines.generate.people import unit
from pipelines.generate.tickets import children, draw_base, simulate
from pipelines.generate.writer import TableWriter, TopicWriter

REPEAT_SHARE = 0.018  # repeat repairs come on top of the drawn tickets
CHUNK_TICKETS = 250_000
MESSY_WINDOW_DAYS = 92
MESSY_SAMPLE = 8_000  # tickets of the last months kept for the messy export
# The sample's data ends yesterday in the business time zone, so that "last month", "this
# week" and the dashboard's default range all fall on data; tests pass ``end`` to stay the same.
SAMPLE_TIMEZONE = "Asia/Shanghai"


def default_end(today: dt.date | None = None) -> str:
    """Yesterday in the business time zone (Asia/Shanghai), as YYYY-MM-DD: the sample's last day."""
    today = today or dt.datetime.now(ZoneInfo(SAMPLE_TIMEZONE)).date()
    return (today - dt.timedelta(days=1)).isoformat()


def _chunks(per_day: np.ndarray, size: int) -> list[tuple[int, int]]:
    """Consecutive day ranges holding about ``size`` tickets each."""
    bounds, acc, first = [], 0, 0
    for i, k in enumerate(per_day):
        acc += k
        if acc >= size:
            bounds.append((first, i + 1))
            first, acc = i + 1, 0
    if first < len(per_day):
        bounds.append((first, len(per_day)))
    return bounds


def generate(out_dir: str | Path, tickets: int = 100_000, seed: int = 42, messy: bool = False,
             start: str = "2024-01-01", end: str | None = None, fmt: str = "parquet", progress: bool = True,
             chunk_tickets: int = CHUNK_TICKETS) -> dict[str, Any]:
    """Write the sample data set to ``out_dir`` and return a summary.

    ``end`` is the last day of data, yesterday by default (``default_end``); tests pass a fixed
    date to stay deterministic. ``tickets`` is the approximate number of tickets (repeat repairs make the exact count vary a
    little); ``fmt`` is 'parquet', 'csv' or 'both'. The summary has ``rows`` and ``paths`` per
    table, ``seconds``, and with ``messy`` the messy files and ``expected.json`` path.
    """
    t0 = time.perf_counter()
    if tickets < 1:
        raise ValueError("tickets must be at least 1")
    end = end or default_end()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cal = build_calendar(start, end, seed)
    m = build_masters(cal, tickets, np.random.default_rng(np.random.SeedSequence([seed, 0])), seed)
    writers = {t: TableWriter(out, t, fmt) for t in LOAD_ORDER}
    topics = TopicWriter(out)  # the answer key of the complaint texts' themes, outside the tables loaded
    writers["outlets"].write(m.outlets)
    writers["technicians"].write(m.technicians)
    writers["products"].write(m.products)
    writers["parts_inventory"].write(m.parts)
    writers["orders_daily"].write(orders_daily(cal, tickets, np.random.default_rng(np.random.SeedSequence([seed, 1]))))

    p = cal.lam / cal.lam.sum()
    n_base = max(1, round(tickets / (1 + REPEAT_SHARE)))
    counts = np.random.default_rng(np.random.SeedSequence([seed, 2])).multinomial(n_base, p.ravel()).reshape(p.shape)
    per_day = counts.sum(axis=(1, 2))
    end_sec = int(cal.day_sec[-1]) + 86399
    n_customers = max(int(tickets * 1.5), 30)
    window_day = max(cal.n_days - MESSY_WINDOW_DAYS, 0)
    keep_p = min(1.0, MESSY_SAMPLE / max(per_day[window_day:].sum(), 1))
    sample: dict[str, list[pl.DataFrame]] = {"tickets": [], "visits": [], "surveys": []}

    seq = vseq = 0
    show = progress and sys.stderr.isatty()
    with tqdm(total=int(n_base), unit="tickets", disable=not show, desc="generate") as bar:
        for i, (d0, d1) in enumerate(_chunks(per_day, chunk_tickets)):
            rng = np.random.default_rng(np.random.SeedSequence([seed, 3, i]))
            base = draw_base(cal, m, rng, counts[d0:d1], d0, n_customers, seed)
            sim = simulate(cal, m, rng, base)
            kids = children(base, sim, rng, cal, end_sec)
            kid_sim = simulate(cal, m, rng, kids)
            order_key = seq + np.arange(len(base.created))
            parts = []
            for b, s, key in ((base, sim, order_key), (kids, kid_sim, order_key[kids.parent])):
                frames = chunk_frames(m, b, s, rng, seq, vseq, key, end_sec, seed)
                seq += len(b.created)
                vseq += len(s["v_ticket"])
                parts.append(frames)
            for table in ("tickets", "visits", "parts_used", "surveys"):
                writers[table].write(pl.concat([f[table] for f in parts]))
            topics.write(pl.concat([f["complaint_topics"] for f in parts]))
            if messy and d1 > window_day:
                _collect(sample, parts, cal, window_day, keep_p, seed)
            bar.update(len(base.created))

    summary: dict[str, Any] = {"out_dir": str(out), "seed": seed, "start": start, "end": end, "rows": {}, "paths": {}}
    for table, w in writers.items():
        summary["paths"][table] = [str(x) for x in w.close()]
        summary["rows"][table] = w.rows
    summary["truth"] = {"complaint_topics": str(topics.close())}
    if messy:
        summary["messy"] = write_messy(out / "messy", m, {k: pl.concat(v) if v else None for k, v in sample.items()},
                                       cal, seed)
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    return summary


def _collect(sample: dict[str, list[pl.DataFrame]], parts: list[dict[str, pl.DataFrame]], cal, window_day: int,
             keep_p: float, seed: int) -> None:
    """Keep a fixed random share of the tickets created in the messy window, with their visits and surveys."""
    since = cal.dates[window_day].item()
    for frames in parts:
        t = frames["tickets"].filter(pl.col("created_at") >= pl.lit(since).cast(pl.Datetime("us")))
        if not len(t):
            continue
        digits = t["ticket_id"].str.slice(8).cast(pl.Int64).to_numpy()
        t = t.filter(pl.Series(unit(digits, seed * 19 + 5) < keep_p))
        ids = t["ticket_id"]
        sample["tickets"].append(t)
        sample["visits"].append(frames["visits"].filter(pl.col("ticket_id").is_in(ids.implode())))
        sample["surveys"].append(frames["surveys"].filter(pl.col("ticket_id").is_in(ids.implode())))


__all__ = ["default_end", "generate"]
