"""How well could any model do in the event windows? A measurement on the generated sample.

    .venv/bin/python tests/benchmarks/event_noise_floor.py --db DB [--seed 42 --start 2024-01-01 --end 2026-10-31]

``DB`` holds the generated sample (same seed and dates) and a stored ``backtest workload`` run.
The generator draws each day's tickets from a known intensity (``pipelines.generate.calendar``:
``lam[day, service, category]``), so an *oracle* forecast is available: per region × service
series, the generator's intensity for that service times the series' share of it (one constant
per series, the ratio of its tickets to the intensity over the whole sample); region and total
series are the sums of their region × service oracles. Nothing a model fitted on the history can
know more than that, so the oracle's score against the lag-364 naive is the floor for the event
target at each level. Its Poisson median is scored too (for low counts the median has the lower
absolute error).

Scored exactly as the backtest scores events (``forecasts.backtest.summarize_events``): mean over
series × windows of MASE ÷ the naive's, and MAE ÷ the naive's summed over all rows (volume-
weighted). Also scored: top-down region × service forecasts, the region's forecast (model used)
split by the service's share of the region in the same days a year before.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402
from scipy import stats  # noqa: E402

from aftersales.db import connect_readonly  # noqa: E402
from aftersales.principal import DataScope  # noqa: E402
from forecasts import backtest as bt  # noqa: E402
from forecasts import series, store  # noqa: E402
from pipelines.generate.calendar import SERVICES, build_calendar  # noqa: E402


def oracle_rates(long: pl.DataFrame, start: str, end: str, seed: int) -> pl.DataFrame:
    """``unique_id, ds, rate``: the generator's expected daily tickets per series."""
    cal = build_calendar(start, end, seed)
    lam = pl.DataFrame({"ds": cal.dates.astype("datetime64[D]"),
                        **{s: cal.lam[:, i, :].sum(axis=1) for i, s in enumerate(SERVICES)}})
    lam = lam.with_columns(pl.col("ds").cast(pl.Date)).unpivot(index="ds", variable_name="service", value_name="lam")
    rs = (long.filter(~pl.col("unique_id").str.ends_with("/all") & (pl.col("unique_id") != series.TOTAL))
          .with_columns(pl.col("unique_id").str.split("/").list.get(0).alias("region"),
                        pl.col("unique_id").str.split("/").list.get(1).alias("service"))
          .join(lam, on=["ds", "service"]))
    k = rs.group_by("unique_id").agg((pl.col("y").sum() / pl.col("lam").sum()).alias("k"))
    rs = rs.join(k, on="unique_id").with_columns((pl.col("k") * pl.col("lam")).alias("rate"))
    region = rs.group_by("region", "ds").agg(pl.col("rate").sum()).select(
        pl.concat_str("region", pl.lit("/all")).alias("unique_id"), "ds", "rate")
    total = rs.group_by("ds").agg(pl.col("rate").sum()).select(pl.lit(series.TOTAL).alias("unique_id"), "ds", "rate")
    return pl.concat([rs.select("unique_id", "ds", "rate"), region, total])


def scales(long: pl.DataFrame, cutoffs: list[dt.date]) -> pl.DataFrame:
    """MASE denominators: mean absolute lag-7 difference of each series up to each cut-off."""
    rows = []
    for c in cutoffs:
        part = long.filter(pl.col("ds") <= c).sort("unique_id", "ds").with_columns(
            (pl.col("y") - pl.col("y").shift(7).over("unique_id")).abs().alias("d7"))
        rows.append(part.group_by("unique_id").agg(pl.col("d7").mean().alias("scale")).with_columns(
            pl.lit(c).alias("cutoff")))
    return pl.concat(rows)


def chosen_models(db: Path, run_id: str, keep_within: float = 0.05) -> pl.DataFrame:
    """The model used per series, by the backtest's rule, from its per-series rolling MASE."""
    s = store.read_backtest(db, run_id, summary_only=False, scope=DataScope()).filter(
        (pl.col("scope") == bt.ROLLING) & (pl.col("unique_id") != "*") & (pl.col("metric") == "mase"))
    wide = s.pivot(on="model", index="unique_id", values="value")
    challenger = next(c for c in wide.columns if c not in ("unique_id", "prophet", "snaive7", "naive364"))
    return wide.select("unique_id", pl.when(pl.col(challenger) < pl.col("prophet") * (1 - keep_within))
                       .then(pl.lit(challenger)).otherwise(pl.lit("prophet")).alias("model"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--start", default="2024-01-01")
    ap.add_argument("--end", default="2026-10-31")
    args = ap.parse_args()
    run = store.latest_run(args.db, "backtest_workload")
    if run is None:
        raise SystemExit(f"{args.db}: no stored workload backtest; run `aftersales backtest workload` first")
    con = connect_readonly(args.db)
    long = series.workload_series(con, ["region_service", "region", "total"])
    con.close()
    ev = store.read_backtest_forecasts(args.db, run["run_id"],
                                       scope=DataScope()).filter(pl.col("window_label").str.starts_with("event:"))
    choice = chosen_models(args.db, run["run_id"])
    used = ev.join(choice, on=["unique_id", "model"]).select("window_label", "unique_id", "ds", pl.col("yhat").alias("used"))
    naive = ev.filter(pl.col("model") == "naive364").select("window_label", "unique_id", "cutoff", "ds", "y",
                                                            pl.col("yhat").alias("naive364"))
    frame = naive.join(used, on=["window_label", "unique_id", "ds"]).join(
        oracle_rates(long, args.start, args.end, args.seed), on=["unique_id", "ds"])
    frame = frame.with_columns(pl.Series("oracle_median", stats.poisson.median(frame["rate"].to_numpy()))
                               .cast(pl.Float64)).rename({"rate": "oracle_mean"})

    # Top-down: the region's forecast × the service's share of the region on the same days a year before.
    last_year = long.with_columns((pl.col("ds") + dt.timedelta(days=364)).alias("ds"))
    rs = frame.filter(~pl.col("unique_id").str.ends_with("/all") & (pl.col("unique_id") != series.TOTAL)) \
        .with_columns(pl.col("unique_id").str.split("/").list.get(0).alias("region"))
    share = (rs.select("window_label", "unique_id", "region", "ds")
             .join(last_year.rename({"y": "y_ly"}), on=["unique_id", "ds"])
             .join(last_year.with_columns(pl.col("unique_id").str.replace("/all$", "").alias("region"))
                   .filter(pl.col("unique_id").str.ends_with("/all")).select("region", "ds", pl.col("y").alias("r_ly")),
                   on=["region", "ds"])
             .group_by("window_label", "unique_id").agg((pl.col("y_ly").sum() / pl.col("r_ly").sum()).alias("share")))
    region_fc = frame.filter(pl.col("unique_id").str.ends_with("/all")).select(
        "window_label", "ds", pl.col("unique_id").str.replace("/all$", "").alias("region"), pl.col("used").alias("r_used"))
    td = (rs.join(share, on=["window_label", "unique_id"]).join(region_fc, on=["window_label", "region", "ds"])
          .select("window_label", "unique_id", "ds", (pl.col("share") * pl.col("r_used")).alias("top_down")))
    frame = frame.join(td, on=["window_label", "unique_id", "ds"], how="left")

    frame = frame.join(scales(long, sorted(frame["cutoff"].unique().to_list())), on=["unique_id", "cutoff"])
    frame = frame.with_columns(pl.col("unique_id").map_elements(bt.level_of, return_dtype=pl.String).alias("level"))
    models = ["used", "oracle_mean", "oracle_median", "top_down"]
    per = frame.group_by("level", "unique_id", "window_label").agg(
        pl.col("scale").first(), pl.col("y").mean().alias("daily"),
        *[(pl.col(m) - pl.col("y")).abs().mean().alias(m) for m in [*models, "naive364"]])
    print(f"run {run['run_id']}; {frame['window_label'].n_unique()} event windows; load average {os.getloadavg()[0]:.1f}")
    print("| level | series | tickets/day | " + " | ".join(f"{m}: MASE ÷ naive364 (MAE ÷ naive364, volume)"
                                                          for m in models) + " |")
    print("|---|---|---|" + "---|" * len(models))
    for level in ("total", "region", "region_service"):
        g = per.filter(pl.col("level") == level)
        cells = []
        for m in models:
            h = g.filter(pl.col(m).is_not_null())
            if h.is_empty():
                cells.append("—")
                continue
            mase = (h[m] / h["scale"]).mean() / (h["naive364"] / h["scale"]).mean()
            cells.append(f"{mase:.3f} ({h[m].sum() / h['naive364'].sum():.3f})")
        print(f"| {level} | {g['unique_id'].n_unique()} | {g['daily'].mean():.1f} | " + " | ".join(cells) + " |")
    g = per
    cells = []
    for m in ("used", "oracle_mean", "oracle_median"):
        cells.append(f"{m} {(g[m] / g['scale']).mean() / (g['naive364'] / g['scale']).mean():.3f} "
                     f"({g[m].sum() / g['naive364'].sum():.3f})")
    print("all series: " + "; ".join(cells))


if __name__ == "__main__":
    main()
