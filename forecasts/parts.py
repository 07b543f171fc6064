"""Spare-part demand, weekly (``freq='W'``) or monthly (``'M'``): classification and the
per-series forecasts.

Every series is classified by its average demand interval (ADI = periods ÷ periods with demand) and
the squared coefficient of variation of its non-zero demands (CV², population variance), with
the Syntetos–Boylan cut-offs 1.32 and 0.49:

    ADI < 1.32, CV² < 0.49  smooth        ADI ≥ 1.32, CV² < 0.49  intermittent
    ADI < 1.32, CV² ≥ 0.49  erratic       ADI ≥ 1.32, CV² ≥ 0.49  lumpy

Intermittent and lumpy parts get the Croston family from statsforecast (CrostonSBA, TSB, ADIDA,
IMAPA); smooth and erratic ones exponential smoothing (AutoETS, SES). The baselines — naive,
seasonal naive (lag 52 weekly, 12 monthly: for these frequencies the seasonal and the annual naive
are the same forecast), SES and the zero forecast — are run for every series and are candidates
like any method (``forecasts.parts_select`` makes the nested choice, with an equal-weight
combination of the best few). ``choose_methods`` picks, per class, the method whose mean forecast
the reorder policy uses (lowest RMSSE: a squared-error choice aims at the mean, which a policy
needs; the MAE choice of the point forecast may well be zero for a lumpy part).

Everything counted in weeks in the settings (horizon, simulation, history) is converted to
periods of the series' frequency by :func:`periods`; lead times are given in days.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

ADI_CUT = 1.32
CV2_CUT = 0.49
CLASSES = ("smooth", "erratic", "intermittent", "lumpy")
NO_DEMAND = "no_demand"
CANDIDATES = {
    "smooth": ("ets", "ses"),
    "erratic": ("ets", "ses"),
    "intermittent": ("croston_sba", "tsb", "adida", "imapa"),
    "lumpy": ("croston_sba", "tsb", "adida", "imapa"),
}
BASELINES = ("naive", "snaive", "ses", "zero")
FREQS = ("W", "M")
PERIOD_DAYS = {"W": 7.0, "M": 365.25 / 12}
SEASON = {"W": 52, "M": 12}
RATE_EXCLUDED = ("zero", "naive", "snaive")  # never the mean a reorder policy plans with


def check_freq(freq: str) -> str:
    if freq not in FREQS:
        raise ValueError(f"parts frequency {freq!r} is not supported; use 'W' (weekly) or 'M' (monthly)")
    return freq


def periods(weeks: float, freq: str, minimum: int = 1) -> int:
    """``weeks`` (a setting counted in weeks) as a whole number of periods of ``freq``."""
    return max(minimum, int(round(float(weeks) * 7.0 / PERIOD_DAYS[check_freq(freq)])))


def period_dates(last: np.datetime64, n: int, freq: str) -> np.ndarray:
    """The ``n`` period starts after ``last`` (a Monday for weekly, the 1st for monthly)."""
    if check_freq(freq) == "M":
        return (np.datetime64(last, "M") + np.arange(1, n + 1)).astype("datetime64[D]")
    return np.datetime64(last, "D") + np.arange(1, n + 1) * np.timedelta64(7, "D")


def fill_periods(long: pl.DataFrame, freq: str, end: dt.date | None = None) -> pl.DataFrame:
    """Each series on every period from its own first one to ``end`` (default: the frame's last),
    missing periods 0; monthly dates are moved to the 1st of their month."""
    if check_freq(freq) == "W":
        from forecasts.series import fill_weekly

        return fill_weekly(long, end=end)
    long = (long.with_columns(pl.col("ds").dt.truncate("1mo")).group_by("unique_id", "ds").agg(pl.col("y").sum()))
    end = end or long["ds"].max()
    firsts = long.group_by("unique_id").agg(pl.col("ds").min().alias("first"))
    grid = firsts.with_columns(pl.date_ranges("first", pl.lit(end), "1mo").alias("ds")).explode("ds").drop("first")
    return (grid.join(long, on=["unique_id", "ds"], how="left").with_columns(pl.col("y").fill_null(0.0))
            .sort("unique_id", "ds").cast({"unique_id": pl.String, "ds": pl.Date, "y": pl.Float64}))
ALL_MODELS = tuple(dict.fromkeys([m for ms in CANDIDATES.values() for m in ms] + list(BASELINES)))


def classify(y: np.ndarray) -> tuple[str, float, float]:
    """``(class, adi, cv2)`` of a demand series (see the module docstring)."""
    y = np.asarray(y, dtype=float)
    nz = y[y > 0]
    if len(nz) == 0:
        return NO_DEMAND, float("inf"), float("nan")
    # Rounded so that a series exactly on a cut-off falls on the same side whatever the float error.
    adi = round(len(y) / len(nz), 9)
    cv2 = round(float((nz.std() / nz.mean()) ** 2), 9) if len(nz) > 1 else 0.0
    if adi < ADI_CUT:
        return ("smooth" if cv2 < CV2_CUT else "erratic"), adi, cv2
    return ("intermittent" if cv2 < CV2_CUT else "lumpy"), adi, cv2


def _model(name: str) -> Any:
    from statsforecast.models import (
        ADIDA,
        IMAPA,
        TSB,
        AutoETS,
        CrostonSBA,
        Naive,
        SimpleExponentialSmoothingOptimized,
        ZeroModel,
    )

    return {
        "croston_sba": lambda: CrostonSBA(),
        "tsb": lambda: TSB(alpha_d=0.1, alpha_p=0.1),
        "adida": lambda: ADIDA(),
        "imapa": lambda: IMAPA(),
        "ets": lambda: AutoETS(model="ZNN"),
        "ses": lambda: SimpleExponentialSmoothingOptimized(),
        "naive": lambda: Naive(),
        "zero": lambda: ZeroModel(),
    }[name]()


def point_forecast(name: str, y: np.ndarray, h: int, season: int = 52) -> np.ndarray:
    """Demand for the next ``h`` periods by method ``name`` (never negative). ``snaive`` repeats
    the last ``season`` periods; with less than a season of history it falls back to the mean of
    what there is."""
    y = np.asarray(y, dtype=float)
    if name == "zero":
        return np.zeros(h)
    if name == "naive":
        return np.full(h, y[-1] if len(y) else 0.0)
    if name == "snaive":
        if len(y) < season:
            return np.full(h, float(y.mean()) if len(y) else 0.0)
        return np.asarray(y[len(y) - season + np.arange(h) % season], dtype=float)
    if not np.any(y > 0):
        return np.zeros(h)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = np.asarray(_model(name).forecast(y=y, h=h)["mean"], dtype=float)
    except Exception:  # e.g. AutoETS on a few weeks of history: the recent mean stands in
        out = np.full(h, float(np.mean(y[-13:])))
    return np.clip(np.nan_to_num(out, nan=0.0), 0, None)


@dataclass
class PartTask:
    """One part's series and the backtest windows to run (picklable)."""

    unique_id: str
    ds: np.ndarray  # datetime64[D]: Mondays (weekly) or the 1st of each month (monthly)
    y: np.ndarray
    cutoffs: list[int]  # index of the last training period of each backtest window
    horizon: int
    min_history: int = 8
    models: tuple[str, ...] = field(default=ALL_MODELS)
    freq: str = "W"


def forecast_part(task: PartTask) -> dict[str, pl.DataFrame]:
    """Backtest forecasts of the class's candidates and the baselines at each cut-off (``backtest``:
    ``unique_id, cutoff, ds, y, model, yhat, scale, mae_scale``; ``scale`` is RMSSE's, the mean
    squared one-step difference of the training data, ``mae_scale`` MASE's, the mean absolute one),
    every model's forecast after the last period (``final``), and the series' class (``info``:
    ``unique_id, series_class, adi, cv2, weeks, mean_demand, var_demand``; ``weeks`` counts periods)."""
    y, ds, h, m = task.y, task.ds, task.horizon, SEASON[task.freq]
    cls, adi, cv2 = classify(y)
    # Only the candidates of the series' class and the baselines: nothing else can be chosen.
    models = tuple(m for m in task.models if m in CANDIDATES.get(cls, ()) or m in BASELINES)
    # Columns gathered as arrays and framed once: building many tiny frames costs more than the fits.
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("cutoff", "ds", "y", "model", "yhat", "scale", "mae_scale")}
    for c in task.cutoffs:
        if c + 1 < task.min_history or c + 1 >= len(y):
            continue
        train, test = y[:c + 1], y[c + 1:c + 1 + h]
        n = len(test)
        diffs = np.diff(train)
        scale = float(np.mean(diffs ** 2)) if len(diffs) else float("nan")
        mae_scale = float(np.mean(np.abs(diffs))) if len(diffs) else float("nan")
        for name in models:
            cols["cutoff"].append(np.repeat(ds[c], n))
            cols["ds"].append(ds[c + 1:c + 1 + n])
            cols["y"].append(test)
            cols["model"].append(np.repeat(name, n))
            cols["yhat"].append(point_forecast(name, train, n, m))
            cols["scale"].append(np.repeat(scale, n))
            cols["mae_scale"].append(np.repeat(mae_scale, n))
    backtest = pl.DataFrame({
        "unique_id": np.repeat(task.unique_id, sum(len(a) for a in cols["y"])),
        **{k: (np.concatenate(v) if v else np.array([], dtype="datetime64[D]" if k in ("cutoff", "ds") else
                                                    (str if k == "model" else float))) for k, v in cols.items()},
    }, schema={"unique_id": pl.String, "cutoff": pl.Date, "ds": pl.Date, "y": pl.Float64, "model": pl.String,
               "yhat": pl.Float64, "scale": pl.Float64, "mae_scale": pl.Float64})
    future = period_dates(ds[-1], h, task.freq)
    final = pl.DataFrame({"unique_id": np.repeat(task.unique_id, h * len(models)),
                          "ds": np.tile(future, len(models)),
                          "model": np.repeat(np.array(models), h),
                          "yhat": np.concatenate([point_forecast(name, y, h, m) for name in models])},
                         schema={"unique_id": pl.String, "ds": pl.Date, "model": pl.String, "yhat": pl.Float64})
    recent = y[-m:]
    info = pl.DataFrame({"unique_id": [task.unique_id], "series_class": [cls], "adi": [adi], "cv2": [cv2],
                         "weeks": [len(y)], "mean_demand": [float(recent.mean())],
                         "var_demand": [float(recent.var(ddof=1)) if len(recent) > 1 else 0.0]})
    return {"backtest": backtest, "final": final, "info": info}


def forecast_parts_batch(tasks: list[PartTask]) -> dict[str, pl.DataFrame]:
    """``forecast_part`` over a batch, the frames concatenated: what the executor ships, because
    a part's fits take milliseconds and moving thousands of tiny frames between processes costs
    more than that."""
    out = [forecast_part(t) for t in tasks]
    return {k: pl.concat([o[k] for o in out], how="vertical_relaxed") for k in ("backtest", "final", "info")}


def cut_dates(last: dt.date, origins: int, horizon: int, step: int, freq: str = "W") -> list[dt.date]:
    """The backtest cut-offs (last training period of each window), oldest first: counted back
    from ``last`` so that the latest leaves ``horizon`` periods to score, ``step`` periods apart."""
    step = step or horizon
    back = [horizon + step * k for k in reversed(range(origins))]
    if check_freq(freq) == "M":
        month = np.datetime64(last, "M")
        return [(month - b).astype("datetime64[D]").astype(dt.date) for b in back]
    return [last - dt.timedelta(days=7 * b) for b in back]


def tasks_from_long(long: pl.DataFrame, origins: int, horizon: int, step: int = 0,
                    min_history: int = 8, freq: str = "W") -> list[PartTask]:
    """One task per part; cut-offs from :func:`cut_dates` on the last period common to all series."""
    cuts = cut_dates(long["ds"].max(), origins, horizon, step, freq)
    tasks = []
    for (uid,), part in long.sort("unique_id", "ds").group_by("unique_id", maintain_order=True):
        ds = part["ds"].to_numpy().astype("datetime64[D]")
        idx = [int(np.searchsorted(ds, np.datetime64(c, "D"))) for c in cuts]
        idx = [i for i, c in zip(idx, cuts, strict=True) if i < len(ds) and ds[i] == np.datetime64(c, "D")]
        tasks.append(PartTask(str(uid), ds, part["y"].to_numpy().astype(float), idx, horizon, min_history,
                              freq=freq))
    return tasks


def rmsse_table(backtest: pl.DataFrame) -> pl.DataFrame:
    """Per ``unique_id, cutoff, model``: RMSSE (root of MSE over the in-sample one-step naive MSE),
    the sums of forecast and actual (for bias) and the squared error."""
    return (backtest.group_by("unique_id", "cutoff", "model")
            .agg(((pl.col("y") - pl.col("yhat")) ** 2).mean().alias("mse"), pl.col("scale").first(),
                 pl.col("yhat").sum().alias("forecast"), pl.col("y").sum().alias("actual"), pl.len().alias("n"))
            .with_columns((pl.col("mse") / pl.col("scale")).sqrt().alias("rmsse")))


def choose_methods(backtest: pl.DataFrame, info: pl.DataFrame) -> pl.DataFrame:
    """The mean-demand method of each class, for the reorder policy: the candidate (the class's
    methods and SES) with the lowest mean RMSSE over the class's series and windows. Columns
    ``series_class, model, reason``."""
    scores = rmsse_table(backtest).filter(pl.col("rmsse").is_finite()).join(
        info.select("unique_id", "series_class"), on="unique_id")
    out = []
    for cls, candidates in ((c, tuple(dict.fromkeys((*ms, "ses")))) for c, ms in CANDIDATES.items()):
        s = (scores.filter((pl.col("series_class") == cls) & pl.col("model").is_in(list(candidates)))
             .group_by("model").agg(pl.col("rmsse").mean()).sort("rmsse", "model"))
        if s.is_empty():
            model = candidates[0]
            reason = f"no {cls} series with a backtest: default {model}"
        else:
            model = s["model"][0]
            others = ", ".join(f"{m} {r:.3f}" for m, r in s.iter_rows())
            reason = f"lowest mean RMSSE among {cls} series ({others})"
        out.append({"series_class": cls, "model": model, "reason": reason})
    out.append({"series_class": NO_DEMAND, "model": "ses", "reason": "no demand in the history"})
    return pl.DataFrame(out)
