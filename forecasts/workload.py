"""Daily workload models, one series at a time: Prophet with the business calendar, a cheap
challenger from statsforecast (MSTL or ETS), and the seasonal-naive baselines.

``forecast_series`` is the function the executor fans out: given one series and a list of
cut-offs it returns every model's forecast after each cut-off, with the actuals where known
(a cut-off at the series' last day is the production forecast). Choosing the model and
calibrating intervals need all series and happen in ``backtest.py`` / ``run.py``.
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from forecasts import calendar
from forecasts.executor import quiet

PROPHET = "prophet"
SNAIVE7 = "snaive7"
NAIVE364 = "naive364"
MODELS_BY_CHALLENGER = {"mstl": "mstl", "ets": "ets"}


@dataclass
class SeriesTask:
    """One series and what to do with it (small and picklable: it crosses process boundaries)."""

    unique_id: str
    start: dt.date  # ds of y[0]; the series is daily and gap-free
    y: np.ndarray
    windows: list[tuple[str, dt.date, int]]  # (label, cutoff, horizon): train on days <= cutoff,
    # forecast the `horizon` days after it
    settings: dict[str, Any] = field(default_factory=dict)
    raw_intervals: bool = False  # also return Prophet's own 80%/95% intervals (backtests)


@functools.lru_cache(maxsize=8)
def _holidays(start: dt.date, end: dt.date, split_days: int = 0, cal: calendar.CalendarKey | None = None) -> pd.DataFrame:
    # Only the rows in range: Prophet builds holiday features row by row.
    table = calendar.holiday_table(start, end, split_days, cal)
    return table[(table["ds"] >= pd.Timestamp(start)) & (table["ds"] <= pd.Timestamp(end))].reset_index(drop=True)


def _prophet(ds: pd.DatetimeIndex, y: np.ndarray, future: pd.DatetimeIndex, settings: dict[str, Any],
             raw_intervals: bool) -> dict[str, np.ndarray]:
    quiet()
    from prophet import Prophet  # imported here: a second of import time only where it is used

    span_days = (ds[-1] - ds[0]).days
    cal = calendar.key(settings.get("calendar"))  # None: China's calendar; else --country / --events
    mode = settings.get("seasonality_mode", "auto")
    if mode == "auto":
        # Multiplicative effects suit busy series (an event scales the level); on sparse ones they
        # amplify noise around a level near zero, and additive effects forecast better.
        mode = "multiplicative" if float(np.mean(y[-364:])) >= float(settings.get("multiplicative_min_daily", 5.0)) \
            else "additive"
    model = Prophet(
        growth="linear",
        yearly_seasonality=span_days >= 365,
        weekly_seasonality=True,
        daily_seasonality=False,
        holidays=_holidays(ds[0].date(), future[-1].date(), int(settings.get("event_split_days", 0)), cal),
        seasonality_mode=mode,
        holidays_prior_scale=float(settings.get("holidays_prior_scale", 10.0)),
        changepoint_prior_scale=float(settings.get("changepoint_prior_scale", 0.05)),
        uncertainty_samples=0,  # intervals are calibrated on backtest residuals instead
    )
    model.add_regressor("working_day", standardize=False)
    train = pd.DataFrame({"ds": ds, "y": y, "working_day": calendar.working_days(ds, cal)})
    fut = pd.DataFrame({"ds": future, "working_day": calendar.working_days(future, cal)})
    model.fit(train)
    out = {"yhat": model.predict(fut)["yhat"].to_numpy()}
    if raw_intervals:  # Prophet's own intervals, only to show in backtests how far they cover
        model.uncertainty_samples = 200
        samples = model.predictive_samples(fut)["yhat"]
        for level in (80, 95):
            a = (100 - level) / 200
            out[f"lo{level}"] = np.quantile(samples, a, axis=1)
            out[f"hi{level}"] = np.quantile(samples, 1 - a, axis=1)
    return out


def _challenger(kind: str, y: np.ndarray, h: int) -> np.ndarray:
    from statsforecast.models import MSTL, AutoETS

    if kind == "mstl":
        seasons = [7, 365] if len(y) >= 2 * 365 - 60 else [7]
        model: Any = MSTL(season_length=seasons, trend_forecaster=AutoETS(model="ZZN"))
    elif kind == "ets":
        model = AutoETS(season_length=7)
    else:
        raise ValueError(f"unknown challenger {kind!r}; use mstl or ets")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(model.forecast(y=y.astype(float), h=h)["mean"], dtype=float)


def seasonal_naive(y: np.ndarray, h: int, lag: int) -> np.ndarray:
    """The last ``lag`` days repeated (lag 7: last week's same weekday). Needs ``len(y) >= lag``."""
    season = y[-lag:]
    return np.array([season[i % lag] for i in range(h)], dtype=float)


def lag_naive(y: np.ndarray, h: int, lag: int) -> np.ndarray:
    """``y[t - lag]`` for each of the next ``h`` days (lag 364: the same weekday a year before).
    Days whose lag falls after the training end (h > lag) repeat the pattern."""
    n = len(y)
    idx = np.array([n + i - lag for i in range(h)])
    idx = np.where(idx >= n, idx - lag, idx)
    return np.where(idx >= 0, y[np.clip(idx, 0, n - 1)], np.nan).astype(float)


def mase_scale(y: np.ndarray, lag: int = 7) -> float:
    """Mean absolute lag-``lag`` difference in the training data: MASE's denominator."""
    if len(y) <= lag:
        return float("nan")
    scale = float(np.mean(np.abs(y[lag:] - y[:-lag])))
    return scale if scale > 0 else float("nan")


def _run_model(name: str, challenger: str, ds: pd.DatetimeIndex, y: np.ndarray, future: pd.DatetimeIndex,
               settings: dict[str, Any], raw_intervals: bool) -> dict[str, np.ndarray]:
    h = len(future)
    if name == PROPHET:
        return _prophet(ds, y, future, settings, raw_intervals)
    if name == SNAIVE7:
        return {"yhat": seasonal_naive(y, h, 7)}
    if name == NAIVE364:
        return {"yhat": lag_naive(y, h, 364)}
    return {"yhat": _challenger(challenger, y, h)}


def forecast_series(task: SeriesTask) -> pl.DataFrame:
    """Every model's forecast after each cut-off, in long format: ``unique_id, window, cutoff, ds,
    y, model, yhat, raw_lo80, raw_hi80, raw_lo95, raw_hi95, scale, error``.
    A model that fails on a series is reported in ``error`` (and its yhat is null) rather than
    failing the run."""
    settings = task.settings
    challenger = settings.get("challenger", "mstl")
    dates = pd.date_range(task.start, periods=len(task.y), freq="D")
    frames = []
    for label, cutoff, horizon in task.windows:
        n = int((pd.Timestamp(cutoff) - dates[0]).days) + 1
        if n < 28 or n > len(task.y):
            continue
        y_train = task.y[:n]
        future = pd.date_range(pd.Timestamp(cutoff) + pd.Timedelta(days=1), periods=horizon, freq="D")
        actual = np.full(horizon, np.nan)
        known = task.y[n:n + horizon]
        actual[:len(known)] = known
        names = [PROPHET, challenger, SNAIVE7] + ([NAIVE364] if n >= 364 else [])
        results: dict[str, dict[str, np.ndarray]] = {}
        errors: dict[str, str] = {}
        for name in names:
            try:
                results[name] = _run_model(name, challenger, dates[:n], y_train, future, settings, task.raw_intervals)
            except Exception as exc:  # a single bad series must not sink thousands
                errors[name] = f"{type(exc).__name__}: {exc}"[:300]
                results[name] = {"yhat": np.full(horizon, np.nan)}
        scale = mase_scale(y_train, 7)
        for name, res in results.items():
            yhat = np.clip(res["yhat"], 0, None)
            frames.append(pl.DataFrame({
                "unique_id": task.unique_id, "window": label, "cutoff": cutoff,
                "ds": future.values.astype("datetime64[D]"), "y": actual, "model": name, "yhat": yhat,
                **{f"raw_{k}": np.clip(res[k], 0, None) if k in res else np.full(horizon, np.nan)
                   for k in ("lo80", "hi80", "lo95", "hi95")},
                "scale": scale, "error": errors.get(name),
            }, schema_overrides={"error": pl.String}))
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames).with_columns(pl.col("y", "yhat", "raw_lo80", "raw_hi80", "raw_lo95", "raw_hi95")
                                          .fill_nan(None))


def tasks_from_long(long: pl.DataFrame, windows: list[tuple[str, dt.date, int]], settings: dict[str, Any],
                    raw_intervals: bool = False) -> list[SeriesTask]:
    """One task per series of a gap-free daily long frame, each with the same windows."""
    tasks = []
    for (uid,), part in long.sort("unique_id", "ds").group_by("unique_id", maintain_order=True):
        tasks.append(SeriesTask(str(uid), part["ds"][0], part["y"].to_numpy().astype(float), list(windows),
                                dict(settings), raw_intervals))
    return tasks
