"""Top-down forecasts of region × service-type series: the region's Prophet forecast split by the
service type's share of the region on the same days a year before.

A region × service series averages a few tickets a day, so its own fit learns the calendar from
little signal; the region total carries the same events with far less noise, and last year's
mix on the same days carries the event's shape by service (deliveries and returns crowd the
weeks after Double 11, installs the summer). The result is one more candidate in the backtest
(``TOP_DOWN``), chosen per series only where it is clearly better, like the challenger.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from forecasts.series import TOTAL
from forecasts.workload import PROPHET

TOP_DOWN = "top_down"
RECENT_DAYS = 28  # share over the last four weeks where there is no year of history


def _region_service(uid: pl.Expr) -> pl.Expr:
    return ~uid.str.ends_with("/all") & (uid != TOTAL) & uid.str.contains("/")


def top_down(res: pl.DataFrame, long: pl.DataFrame) -> pl.DataFrame:
    """Rows like ``res`` (model ``TOP_DOWN``) for every region × service series whose region has
    a Prophet forecast in the same window. ``res`` is ``workload.forecast_series`` output for all
    series; ``long`` the daily history (``unique_id, ds, y``)."""
    rows = res.filter((pl.col("model") == PROPHET) & _region_service(pl.col("unique_id")))
    if rows.is_empty():
        return res.head(0)
    region_of = pl.col("unique_id").str.split("/").list.get(0)
    region_fc = res.filter((pl.col("model") == PROPHET) & pl.col("unique_id").str.ends_with("/all")).select(
        "window", "cutoff", "ds", pl.col("unique_id").str.replace("/all$", "").alias("region"),
        pl.col("yhat").alias("_region_yhat"))
    hist = long.with_columns(region_of.alias("region"))
    service_y = hist.filter(_region_service(pl.col("unique_id"))).select("unique_id", "ds", "y")
    region_y = hist.filter(pl.col("unique_id").str.ends_with("/all")).select("region", "ds", pl.col("y").alias("_ry"))
    keys = rows.select("unique_id", "window", "cutoff", "ds").with_columns(region_of.alias("region"))
    shares = _shares(keys, service_y, region_y)
    out = (rows.with_columns(region_of.alias("region"))
           .join(region_fc, on=["window", "cutoff", "ds", "region"])
           .join(shares, on=["unique_id", "window", "cutoff"])
           .with_columns((pl.col("_region_yhat") * pl.col("_share")).alias("yhat"), pl.lit(TOP_DOWN).alias("model"),
                         *[pl.lit(None, dtype=pl.Float64).alias(c) for c in ("raw_lo80", "raw_hi80", "raw_lo95", "raw_hi95")],
                         pl.lit(None, dtype=pl.String).alias("error")))
    return out.select(res.columns)


def _shares(keys: pl.DataFrame, service_y: pl.DataFrame, region_y: pl.DataFrame) -> pl.DataFrame:
    """Per series and window: the service's share of the region's tickets on the window's days a
    year (364 days) before, or over the ``RECENT_DAYS`` before the cut-off where that year is
    not in the history (the window's days last year must all lie on or before the cut-off)."""
    last_year = (keys.with_columns((pl.col("ds") - dt.timedelta(days=364)).alias("ly"))
                 .filter(pl.col("ly") <= pl.col("cutoff"))
                 .join(service_y.rename({"ds": "ly", "y": "_sy"}), on=["unique_id", "ly"], how="left")
                 .join(region_y.rename({"ds": "ly"}), on=["region", "ly"], how="left")
                 .group_by("unique_id", "window", "cutoff")
                 .agg(pl.col("_sy").sum(), pl.col("_ry").sum(), pl.len().alias("_n")))
    windows = keys.group_by("unique_id", "region", "window", "cutoff").agg(pl.len().alias("_days"))
    recent = (windows.join(service_y, on="unique_id").filter(
        (pl.col("ds") <= pl.col("cutoff")) & (pl.col("ds") > pl.col("cutoff") - dt.timedelta(days=RECENT_DAYS)))
        .join(region_y, on=["region", "ds"])
        .group_by("unique_id", "window", "cutoff").agg((pl.col("y").sum() / pl.col("_ry").sum()).alias("_recent")))
    return (windows.join(last_year, on=["unique_id", "window", "cutoff"], how="left")
            .join(recent, on=["unique_id", "window", "cutoff"], how="left")
            .with_columns(pl.when((pl.col("_n") == pl.col("_days")) & (pl.col("_ry") > 0))
                          .then(pl.col("_sy") / pl.col("_ry")).otherwise(pl.col("_recent")).fill_null(0.0)
                          .fill_nan(0.0).alias("_share"))
            .select("unique_id", "window", "cutoff", "_share"))
